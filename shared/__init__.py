"""Code shared by the gateway and the origin: settings, logging, errors, money."""

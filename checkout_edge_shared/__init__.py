"""Code shared by the gateway and the origin: settings, logging, errors, money."""

from importlib import metadata


def version() -> str:
    """The installed distribution's version (``checkout-edge``), for ``--version`` and metrics."""
    try:
        return metadata.version("checkout-edge")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"

"""Identifiers in Stripe's shape: a type prefix, an underscore, then random base62."""

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    """Return a fresh identifier such as ``cs_test_…``, ``evt_…`` or ``req_…``."""
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))

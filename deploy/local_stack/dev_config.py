"""Development configuration for ``make run``: secrets, the children's environment, masking.

Tokens, the webhook secret and a ``sk_test_`` key are made once and kept in
``var/dev-secrets.json`` (mode 0600) so a restart keeps them; a variable set in the
environment wins. They reach the children as files (``NAME_FILE``, one per secret under
``var/secrets/``, readable by this user only; :func:`secret_files`), never on a command line
where ``ps`` would show them, and the plain variables are taken out of the children's
environment. Anything shown to the user goes through :func:`mask_url`, so a password in
``DATABASE_URL`` or ``GATEWAY_REDIS_URL`` never reaches the terminal.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

__all__ = ["dev_secrets", "mask_url", "secret_files"]


def dev_secrets(path: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The development secrets: the environment's, else the stored ones, else new ones."""
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    # Hex only: Stripe keys and secrets are alphanumeric (a '-' makes the key invalid).
    wanted: dict[str, Callable[[], str]] = {
        "GATEWAY_FRONT_DOOR_TOKEN": lambda: "dev-front-" + secrets.token_hex(12),
        "GATEWAY_ORIGIN_TOKEN": lambda: "dev-origin-" + secrets.token_hex(12),
        "STRIPE_WEBHOOK_SECRET": lambda: "whsec_dev" + secrets.token_hex(16),
        "STRIPE_SECRET_KEY": lambda: "sk_test_dev" + secrets.token_hex(12),
    }
    if not re.fullmatch(r"sk_test_[A-Za-z0-9_]+", stored.get("STRIPE_SECRET_KEY", "")):
        stored.pop("STRIPE_SECRET_KEY", None)  # made by an older launcher; make a valid one
    values = {
        name: environ.get(name) or stored.get(name) or make() for name, make in wanted.items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(json.dumps(values, indent=2))
    return values


def secret_files(directory: Path, values: Mapping[str, str]) -> dict[str, str]:
    """Each secret in its own file; the ``NAME_FILE`` variables naming them, for every child."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    files = {
        **values,
        # The origin checks the token the gateway sends; the stand-in signs with the first
        # webhook secret and knocks on the front door like the real front door would.
        "ORIGIN_GATEWAY_TOKEN": values["GATEWAY_ORIGIN_TOKEN"],
        "STRIPE_SIM_WEBHOOK_HEADERS": "x-front-door-token: "
        + values["GATEWAY_FRONT_DOOR_TOKEN"].split(",")[0],
    }
    variables = {}
    for name, value in files.items():
        path = directory / name.lower()
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(value + "\n")
        variables[f"{name}_FILE"] = str(path)
    return variables


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (unchanged when it has none)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return re.sub(r"//([^:/@]*):[^@]*@", r"//\1:***@", url)
    if not password:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def is_set(environ: Mapping[str, str], name: str) -> bool:
    return bool(environ.get(name, "").strip())


def log_format(environ: Mapping[str, str]) -> str:
    """``make run`` shows the compact human lines unless ``LOG_FORMAT`` asks for JSON."""
    return environ.get("LOG_FORMAT") or "text"


def var_dir(root: Path, environ: Mapping[str, str] = os.environ) -> Path:
    """Where the database, secrets and the lock live (``RUN_VAR_DIR``, default ``var/``)."""
    return Path(environ.get("RUN_VAR_DIR") or root / "var").resolve()

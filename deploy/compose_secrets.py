"""``python deploy/compose_secrets.py [--dir D]``: the secret files deploy/compose.yaml mounts.

Makes each missing file under deploy/secrets/ (or ``--dir``) with a fresh random value and
leaves existing ones alone, so a re-run never rotates anything by surprise. The folder is
readable by its owner only; the files inside are world-readable because compose bind-mounts
them into containers that run as other users (the folder's mode still keeps other local
users out). Values are development values: production secrets come from the platform's
secret store (docs/deploy.md).
"""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parent / "secrets"


def _token(prefix: str) -> Callable[[dict[str, str]], str]:
    # Hex only: every consumer (headers, Stripe keys, URLs) takes it unquoted.
    return lambda _: prefix + secrets.token_hex(16)


# Order matters: later files are derived from earlier ones.
FILES: dict[str, Callable[[dict[str, str]], str]] = {
    "front_door_token": _token("fd-"),
    "gateway_origin_token": _token("go-"),
    "metrics_token": _token("mt-"),
    "stripe_secret_key": _token("sk_test_"),
    "stripe_webhook_secret": _token("whsec_"),
    "postgres_password": _token(""),
    "grafana_admin_password": _token(""),
    "database_url": lambda v: (
        f"postgresql+asyncpg://checkout:{v['postgres_password']}@postgres:5432/checkout"
    ),
    "front_door_nginx.conf": lambda v: (
        f'proxy_set_header x-front-door-token "{v["front_door_token"]}";'
    ),
}


def make_secrets(folder: Path) -> dict[str, str]:
    """Create the missing secret files in ``folder``; every file's value by name."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    values: dict[str, str] = {}
    for name, make in FILES.items():
        path = folder / name
        if path.exists():
            values[name] = path.read_text().strip()
            continue
        values[name] = make(values)
        path.write_text(values[name] + "\n")
        path.chmod(0o644)
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python deploy/compose_secrets.py")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    make_secrets(args.dir)
    print(f"secrets for deploy/compose.yaml are in {args.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

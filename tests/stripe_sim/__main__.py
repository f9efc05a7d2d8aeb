"""``python -m tests.stripe_sim --port P --webhook-url URL --webhook-secret SECRET [...]``.

Secrets need not be on the command line (where ``ps`` shows them): the signing secret may
come from ``STRIPE_WEBHOOK_SECRET`` or ``STRIPE_WEBHOOK_SECRET_FILE`` (the origin's own
variables; the first of a comma-separated list signs), and extra delivery headers such as the
front-door token from ``STRIPE_SIM_WEBHOOK_HEADERS`` or ``STRIPE_SIM_WEBHOOK_HEADERS_FILE``
(one ``Name: value`` per line). The command line wins over the environment.
"""

import argparse
import os
import re
from collections.abc import Mapping, Sequence

import uvicorn

from checkout_edge_shared.secrets import SecretFileError, read_secret_file

from .app import create_app
from .config import SimConfig
from .versions import DEFAULT_API_VERSION

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def parse_header(text: str) -> tuple[str, str]:
    """``"Name: value"`` → ``("Name", "value")``, refusing what is not a valid header."""
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not colon or not _HEADER_NAME.match(name) or any(c in value for c in "\r\n"):
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    return name, value


def build_parser() -> argparse.ArgumentParser:
    """The command line of the stand-in."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.stripe_sim", description="Local Stripe stand-in for checkout-edge."
    )
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--webhook-url", required=True, help="where events are POSTed")
    parser.add_argument(
        "--webhook-secret",
        help="the whsec_… signing secret (else STRIPE_WEBHOOK_SECRET[_FILE] in the environment)",
    )
    parser.add_argument(
        "--webhook-header",
        action="append",
        type=parse_header,
        default=[],
        metavar='"NAME: VALUE"',
        help="extra header on every delivery, e.g. what a front door adds (repeatable)",
    )
    parser.add_argument("--webhook-retries", type=int, default=3, help="retries after a failure")
    parser.add_argument(
        "--webhook-backoff", type=float, default=2.0, help="seconds before the first retry"
    )
    parser.add_argument("--webhook-timeout", type=float, default=10.0)
    parser.add_argument(
        "--api-version",
        default=DEFAULT_API_VERSION,
        help="the account's default API version, for requests without Stripe-Version",
    )
    parser.add_argument("--log-level", default="info")
    return parser


def _from_environment(environ: Mapping[str, str], name: str) -> str | None:
    """``name`` from ``name_FILE`` or ``name``; ``None`` when neither is set."""
    try:
        if f"{name}_FILE" in environ:
            return read_secret_file(f"{name}_FILE", environ[f"{name}_FILE"])
    except SecretFileError as exc:
        raise SystemExit(str(exc)) from None
    return environ.get(name)


def _webhook_secret(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    secret = args.webhook_secret or _from_environment(environ, "STRIPE_WEBHOOK_SECRET")
    if not secret or not secret.split(",")[0].strip():
        raise SystemExit("--webhook-secret, STRIPE_WEBHOOK_SECRET or ..._FILE is required")
    return secret.split(",")[0].strip()


def _webhook_headers(args: argparse.Namespace, environ: Mapping[str, str]) -> list[tuple[str, str]]:
    headers = list(args.webhook_header)
    text = _from_environment(environ, "STRIPE_SIM_WEBHOOK_HEADERS") or ""
    try:
        headers += [parse_header(line) for line in text.splitlines() if line.strip()]
    except argparse.ArgumentTypeError as exc:
        raise SystemExit(f"STRIPE_SIM_WEBHOOK_HEADERS: {exc}") from None
    return headers


def config_from_args(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> SimConfig:
    """The :class:`SimConfig` the parsed command line (and the environment) asks for."""
    environ = os.environ if environ is None else environ
    if args.webhook_retries < 0 or args.webhook_backoff < 0:
        raise SystemExit("--webhook-retries and --webhook-backoff must not be negative")
    return SimConfig(
        webhook_url=args.webhook_url,
        webhook_secret=_webhook_secret(args, environ),
        webhook_headers=tuple(_webhook_headers(args, environ)),
        webhook_retries=args.webhook_retries,
        webhook_backoff=args.webhook_backoff,
        webhook_timeout=args.webhook_timeout,
        default_api_version=args.api_version,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    args = build_parser().parse_args(argv)
    app = create_app(config_from_args(args))
    # One process only: all state is in memory. No websockets: nothing here speaks them.
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, ws="none")


if __name__ == "__main__":
    main()

"""The command line of ``python -m tests.stripe_sim``."""

import argparse
from pathlib import Path

import pytest

from tests.stripe_sim.__main__ import build_parser, config_from_args, parse_header


def test_the_command_line_becomes_the_config() -> None:
    args = build_parser().parse_args(
        [
            "--port", "12111",
            "--webhook-url", "http://127.0.0.1:8000/api/stripe-webhook",
            "--webhook-secret", "whsec_abc",
            "--webhook-header", "x-front-door-token: door",
            "--webhook-header", "x-shop-id:cochlearfit",
            "--webhook-retries", "5",
            "--webhook-backoff", "0.5",
        ]
    )  # fmt: skip

    config = config_from_args(args, {})

    assert (args.host, args.port) == ("127.0.0.1", 12111)
    assert config.webhook_url == "http://127.0.0.1:8000/api/stripe-webhook"
    assert config.webhook_secret == "whsec_abc"
    assert config.webhook_headers == (("x-front-door-token", "door"), ("x-shop-id", "cochlearfit"))
    assert (config.webhook_retries, config.webhook_backoff) == (5, 0.5)


def test_webhook_url_and_secret_are_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--port", "1"])
    assert "--webhook-url" in capsys.readouterr().err
    args = build_parser().parse_args(["--webhook-url", "http://127.0.0.1:1/"])
    with pytest.raises(SystemExit, match="STRIPE_WEBHOOK_SECRET"):
        config_from_args(args, {})


def test_secrets_may_come_from_the_environment_or_files(tmp_path: Path) -> None:
    secret_file = tmp_path / "whsec"
    secret_file.write_text("whsec_new,whsec_old\n")
    headers_file = tmp_path / "headers"
    headers_file.write_text("x-front-door-token: door\n\nx-shop-id: cochlearfit\n")
    args = build_parser().parse_args(["--webhook-url", "http://127.0.0.1:1/"])
    config = config_from_args(
        args,
        {
            "STRIPE_WEBHOOK_SECRET_FILE": str(secret_file),
            "STRIPE_SIM_WEBHOOK_HEADERS_FILE": str(headers_file),
        },
    )
    assert config.webhook_secret == "whsec_new"  # the first of a rotation list signs
    assert config.webhook_headers == (("x-front-door-token", "door"), ("x-shop-id", "cochlearfit"))
    plain = config_from_args(
        args, {"STRIPE_WEBHOOK_SECRET": "whsec_env", "STRIPE_SIM_WEBHOOK_HEADERS": "x-a: b"}
    )
    assert (plain.webhook_secret, plain.webhook_headers) == ("whsec_env", (("x-a", "b"),))
    with pytest.raises(SystemExit, match="STRIPE_WEBHOOK_SECRET_FILE: cannot read"):
        config_from_args(args, {"STRIPE_WEBHOOK_SECRET_FILE": str(tmp_path / "absent")})
    with pytest.raises(SystemExit, match="STRIPE_SIM_WEBHOOK_HEADERS: expected"):
        config_from_args(args, {"STRIPE_WEBHOOK_SECRET": "w", "STRIPE_SIM_WEBHOOK_HEADERS": "x"})


@pytest.mark.parametrize("text", ["no colon", ": value", "bad name: v", "x-a: b\r\nx-b: c"])
def test_malformed_extra_headers_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_header(text)

"""Secrets from files (NAME_FILE) and the shared token rules, for both services."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from checkout_edge_shared.secrets import (
    MAX_SECRET_FILE_BYTES,
    bearer_matches,
    parse_tokens,
    secret_field_names,
    token_matches,
)
from checkout_edge_shared.settings import SettingsError, load_settings
from gateway.settings import Settings as GatewaySettings
from origin.settings import DatabaseSettings
from origin.settings import Settings as OriginSettings
from tests.support.processes import ROOT

ORIGIN = {
    "ORIGIN_GATEWAY_TOKEN": "t",
    "STRIPE_SECRET_KEY": "sk_test_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_x",
}
GATEWAY = {"GATEWAY_FRONT_DOOR_TOKEN": "fd", "GATEWAY_ORIGIN_TOKEN": "ot"}
_PREFIXES = ("ORIGIN_", "STRIPE_", "GATEWAY_", "DATABASE_URL", "CENTRAL_INVENTORY_DATABASE")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)
    return monkeypatch


def _secret_file(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return str(path)


def test_every_secret_of_both_services_accepts_a_file() -> None:
    assert set(secret_field_names(OriginSettings)) == {
        "database_url",
        "central_inventory_database_url",
        "origin_gateway_token",
        "origin_metrics_token",
        "stripe_secret_key",
        "stripe_webhook_secret",
    }
    assert set(secret_field_names(GatewaySettings)) == {
        "gateway_front_door_token",
        "gateway_origin_token",
        "gateway_metrics_token",
        "gateway_redis_url",
    }


def test_origin_reads_secrets_from_files_without_the_trailing_newline(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.setenv("ORIGIN_GATEWAY_TOKEN_FILE", _secret_file(tmp_path, "gw", "old-t,new-t\n"))
    env.setenv("STRIPE_SECRET_KEY_FILE", _secret_file(tmp_path, "key", "sk_test_file\n"))
    env.setenv("STRIPE_WEBHOOK_SECRET_FILE", _secret_file(tmp_path, "wh", "whsec_file\n"))
    env.setenv("ORIGIN_METRICS_TOKEN_FILE", _secret_file(tmp_path, "m", "metrics-file"))
    url = "postgresql+asyncpg://app:p%40ss@db:5432/checkout"
    env.setenv("DATABASE_URL_FILE", _secret_file(tmp_path, "db", url + "\n"))
    settings = load_settings(OriginSettings)
    assert settings.gateway_tokens == ("old-t", "new-t")
    assert settings.stripe_secret_key.get_secret_value() == "sk_test_file"
    assert settings.webhook_secrets == ("whsec_file",)
    assert settings.origin_metrics_token is not None
    assert settings.origin_metrics_token.get_secret_value() == "metrics-file"
    assert settings.database_url == url
    # The command line's settings (migrate, seed) read the same file.
    assert load_settings(DatabaseSettings).database_url == url


def test_gateway_reads_secrets_from_files(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("GATEWAY_FRONT_DOOR_TOKEN_FILE", _secret_file(tmp_path, "fd", "a-token,b-token\n"))
    env.setenv("GATEWAY_ORIGIN_TOKEN_FILE", _secret_file(tmp_path, "ot", "origin-t\n"))
    env.setenv("GATEWAY_METRICS_TOKEN_FILE", _secret_file(tmp_path, "m", "gm\n"))
    env.setenv("GATEWAY_REDIS_URL_FILE", _secret_file(tmp_path, "r", "redis://:pw@redis:6379/0"))
    settings = load_settings(GatewaySettings)
    assert settings.front_door_tokens() == [b"a-token", b"b-token"]
    assert settings.gateway_origin_token.get_secret_value() == "origin-t"
    assert settings.gateway_redis_url == "redis://:pw@redis:6379/0"


def test_a_value_and_a_file_for_one_secret_is_refused(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in GATEWAY.items():
        env.setenv(name, value)
    env.setenv("GATEWAY_ORIGIN_TOKEN_FILE", _secret_file(tmp_path, "ot", "other"))
    with pytest.raises(SettingsError) as raised:
        load_settings(GatewaySettings)
    assert str(raised.value) == (
        "invalid configuration: GATEWAY_ORIGIN_TOKEN: "
        "set either GATEWAY_ORIGIN_TOKEN or GATEWAY_ORIGIN_TOKEN_FILE, not both"
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "cannot read"),
        (b"\xff\xfe", "is not UTF-8 text"),
        (b"x" * (MAX_SECRET_FILE_BYTES + 1), f"is larger than {MAX_SECRET_FILE_BYTES} bytes"),
    ],
)
def test_an_unusable_secret_file_stops_start_up_naming_the_variable(
    env: pytest.MonkeyPatch, tmp_path: Path, content: bytes | None, reason: str
) -> None:
    for name, value in ORIGIN.items():
        if name != "STRIPE_SECRET_KEY":
            env.setenv(name, value)
    path = str(tmp_path / "absent") if content is None else _secret_file(tmp_path, "k", content)
    env.setenv("STRIPE_SECRET_KEY_FILE", path)
    with pytest.raises(SettingsError) as raised:
        load_settings(OriginSettings)
    message = str(raised.value)
    assert message.startswith("invalid configuration: STRIPE_SECRET_KEY_FILE: ")
    assert repr(path) in message
    assert reason in message
    assert "\n" not in message


def test_an_empty_secret_file_is_an_empty_secret(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in ORIGIN.items():
        if name != "ORIGIN_GATEWAY_TOKEN":
            env.setenv(name, value)
    env.setenv("ORIGIN_GATEWAY_TOKEN_FILE", _secret_file(tmp_path, "gw", "\n"))
    with pytest.raises(SettingsError, match="ORIGIN_GATEWAY_TOKEN: Value error, must not be empty"):
        load_settings(OriginSettings)


def test_origin_tokens_follow_the_gateways_rules(env: pytest.MonkeyPatch) -> None:
    for name, value in ORIGIN.items():
        env.setenv(name, value)
    env.setenv("ORIGIN_GATEWAY_TOKEN", "a,,b")
    with pytest.raises(SettingsError, match=r"ORIGIN_GATEWAY_TOKEN: .*empty item"):
        load_settings(OriginSettings)
    env.setenv("ORIGIN_GATEWAY_TOKEN", "has space")
    with pytest.raises(SettingsError, match=r"ORIGIN_GATEWAY_TOKEN: .*visible ASCII"):
        load_settings(OriginSettings)


def test_token_parsing() -> None:
    assert parse_tokens(" old , new ", several=True) == ("old", "new")
    assert parse_tokens("a,b", several=False) == ("a,b",)
    for bad in ("", "a,", "tab\there", "é"):
        with pytest.raises(ValueError, match="must"):
            parse_tokens(bad, several=True)


def test_token_comparison() -> None:
    assert token_matches(b"new", [b"old", b"new"])
    assert not token_matches(b"ne", [b"old", b"new"])
    assert not token_matches(b"", [])
    assert bearer_matches(b"Bearer s3cret", b"s3cret")
    assert not bearer_matches(b"s3cret", b"s3cret")
    assert not bearer_matches(b"Bearer s3cre", b"s3cret")


def test_origin_process_refuses_to_start_with_a_missing_secret_file(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PREFIXES)}
    env.update(ORIGIN)
    del env["STRIPE_WEBHOOK_SECRET"]
    env["STRIPE_WEBHOOK_SECRET_FILE"] = str(tmp_path / "nope")
    result = subprocess.run(
        [sys.executable, "-m", "origin", "reap-holds"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"origin: invalid configuration: STRIPE_WEBHOOK_SECRET_FILE: cannot read "
        f"{str(tmp_path / 'nope')!r} (No such file or directory)"
    ]

"""Settings are read at start-up and validated; a bad one stops start-up naming it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from checkout_edge_shared.settings import SettingsError, load_settings
from gateway.rate_limit import FailureMode
from gateway.routes import LimitClass
from gateway.settings import Settings
from tests.support.processes import ROOT, free_port

REQUIRED = {"GATEWAY_FRONT_DOOR_TOKEN": "fd", "GATEWAY_ORIGIN_TOKEN": "ot"}


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name in list(os.environ):
        if name.startswith(("GATEWAY_", "CHECKOUT_")):
            monkeypatch.delenv(name)
    for name, value in {**REQUIRED, **env}.items():
        monkeypatch.setenv(name, value)
    return load_settings(Settings)


def test_defaults_are_the_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(monkeypatch)
    assert settings.gateway_origin_url == "http://127.0.0.1:8001"
    assert settings.gateway_redis_url == ""
    assert settings.gateway_redis_failure_mode is FailureMode.FALLBACK
    assert settings.gateway_redis_timeout_ms == 50
    assert settings.gateway_expected_replicas == 1
    assert settings.gateway_rate_limit_shadow is False
    assert settings.gateway_max_body_bytes == 65536
    assert settings.gateway_upstream_timeout_seconds == 10
    assert settings.gateway_client_ip_header == "cf-connecting-ip"
    assert settings.gateway_metrics_token is None
    quotas = settings.quotas()
    assert {cls: (q.amount, q.window) for cls, q in quotas.items() if q} == {
        LimitClass.CHECKOUT: (10, 60),
        LimitClass.CART: (120, 60),
        LimitClass.INVENTORY: (60, 60),
        LimitClass.STATUS: (120, 60),
        LimitClass.WEBHOOK: (600, 60),
    }


def test_operator_knobs_are_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(
        monkeypatch,
        CHECKOUT_RATE_LIMIT_REQUESTS_PER_MINUTE="3",
        GATEWAY_RATE_LIMIT_CART="5/second",
        GATEWAY_RATE_LIMIT_WEBHOOK="1000 per 10 minutes",
    )
    quotas = {cls: (q.amount, q.window) for cls, q in settings.quotas().items() if q}
    assert quotas[LimitClass.CHECKOUT] == (3, 60)
    assert quotas[LimitClass.CART] == (5, 1)
    assert quotas[LimitClass.WEBHOOK] == (1000, 600)


def test_checkout_limit_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(monkeypatch, CHECKOUT_RATE_LIMIT_ENABLED="false")
    quotas = settings.quotas()
    assert quotas[LimitClass.CHECKOUT] is None
    assert quotas[LimitClass.CART] is not None


def test_front_door_token_may_hold_several_for_rotation(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(monkeypatch, GATEWAY_FRONT_DOOR_TOKEN="old-token, new-token")
    assert settings.front_door_tokens() == [b"old-token", b"new-token"]


def test_empty_metrics_token_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load(monkeypatch, GATEWAY_METRICS_TOKEN="").gateway_metrics_token is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GATEWAY_RATE_LIMIT_CART", "lots/minute"),
        ("GATEWAY_RATE_LIMIT_INVENTORY", "10/minute;1/second"),
        ("GATEWAY_RATE_LIMIT_STATUS", "0/minute"),
        ("GATEWAY_RATE_LIMIT_WEBHOOK", "1000000/day"),
        ("GATEWAY_REDIS_FAILURE_MODE", "sometimes"),
        ("GATEWAY_REDIS_TIMEOUT_MS", "0"),
        ("GATEWAY_REDIS_URL", "http://127.0.0.1:6379"),
        ("GATEWAY_ORIGIN_URL", "ftp://origin"),
        ("GATEWAY_ORIGIN_URL", "http://origin/api"),
        ("GATEWAY_FRONT_DOOR_TOKEN", "a,,b"),
        ("GATEWAY_FRONT_DOOR_TOKEN", ""),
        ("GATEWAY_ORIGIN_TOKEN", "has space"),
        ("GATEWAY_EXPECTED_REPLICAS", "0"),
        ("GATEWAY_MAX_BODY_BYTES", "-1"),
        ("GATEWAY_CLIENT_IP_HEADER", "bad header"),
        ("CHECKOUT_RATE_LIMIT_REQUESTS_PER_MINUTE", "ten"),
        ("CHECKOUT_RATE_LIMIT_ENABLED", "maybe"),
        ("GATEWAY_RATE_LIMIT_SHADOW", "perhaps"),
        ("LOG_LEVEL", "LOUD"),
    ],
)
def test_malformed_variable_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        load(monkeypatch, **{variable: value})
    message = str(raised.value)
    assert variable in message
    assert "\n" not in message


@pytest.mark.parametrize("variable", ["GATEWAY_FRONT_DOOR_TOKEN", "GATEWAY_ORIGIN_TOKEN"])
def test_missing_required_variable_is_named(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.delenv(variable, raising=False)
    env = {k: v for k, v in REQUIRED.items() if k != variable}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(variable, raising=False)
    with pytest.raises(SettingsError, match=f"{variable}: required but not set"):
        load_settings(Settings)


@pytest.mark.e2e
@pytest.mark.parametrize(
    "command",
    [
        ["-m", "gateway"],
        ["-m", "uvicorn", "gateway.app:create_app", "--factory", "--no-proxy-headers"],
    ],
    ids=["python-m-gateway", "uvicorn-factory"],
)
def test_start_commands_refuse_to_start_with_one_line_naming_the_variable(
    command: list[str],
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "CHECKOUT_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        GATEWAY_FRONT_DOOR_TOKEN="fd",
        GATEWAY_ORIGIN_TOKEN="ot",
        GATEWAY_RATE_LIMIT_CART="many/minute",
    )
    result = subprocess.run(
        [sys.executable, *command, "--host", "127.0.0.1", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "GATEWAY_" in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("gateway: invalid configuration: GATEWAY_RATE_LIMIT_CART:")
    assert "Traceback" not in result.stderr

"""The origin refuses to start, with one line naming the variable, on bad configuration."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from checkout_edge_shared.settings import SettingsError, load_settings
from origin.settings import Settings
from tests.conftest import ROOT_DIR

VALID = {
    "ORIGIN_GATEWAY_TOKEN": "t",
    "STRIPE_SECRET_KEY": "sk_test_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_x",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("ORIGIN_", "STRIPE_", "CHECKOUT_", "DATABASE_URL", "ENABLE_")):
            monkeypatch.delenv(name)
    for name, value in VALID.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_defaults_follow_the_contract(env: pytest.MonkeyPatch) -> None:
    settings = load_settings(Settings)
    assert settings.database_url == "sqlite+aiosqlite:///./var/origin.db"
    assert settings.checkout_reprice_policy == "enforce_and_proceed"
    assert settings.drift_abs_minor == 10
    assert str(settings.checkout_reprice_drift_pct) == "0.01"
    assert settings.enable_idempotent_holds is True
    assert settings.enable_stripe_error_classification is True
    assert settings.webhook_tenant_assertion_enabled is True
    assert settings.enforce_central_inventory is False
    assert settings.inventory_hold_ttl_seconds == 1800
    assert settings.hold_reaper_interval_seconds == 30
    assert settings.origin_env == "development"
    assert settings.stripe_timeout_seconds == 8


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("ORIGIN_GATEWAY_TOKEN", None, "ORIGIN_GATEWAY_TOKEN: required but not set"),
        ("STRIPE_WEBHOOK_SECRET", None, "STRIPE_WEBHOOK_SECRET: required but not set"),
        ("CHECKOUT_REPRICE_POLICY", "sometimes", "CHECKOUT_REPRICE_POLICY"),
        ("CHECKOUT_REPRICE_DRIFT_ABS", "abc", "CHECKOUT_REPRICE_DRIFT_ABS"),
        ("CHECKOUT_REPRICE_DRIFT_ABS", "0.001", "CHECKOUT_REPRICE_DRIFT_ABS"),
        ("CHECKOUT_REPRICE_DRIFT_PCT", "2", "CHECKOUT_REPRICE_DRIFT_PCT"),
        ("INVENTORY_HOLD_TTL_SECONDS", "-5", "INVENTORY_HOLD_TTL_SECONDS"),
        ("ORIGIN_ENV", "staging", "ORIGIN_ENV"),
        ("DATABASE_URL", "postgresql://no-async-driver/x", "DATABASE_URL"),
        ("ENABLE_IDEMPOTENT_HOLDS", "maybe", "ENABLE_IDEMPOTENT_HOLDS"),
    ],
)
def test_bad_variable_is_named_in_one_line(
    env: pytest.MonkeyPatch, name: str, value: str | None, named: str
) -> None:
    if value is None:
        env.delenv(name)
    else:
        env.setenv(name, value)
    with pytest.raises(SettingsError) as excinfo:
        load_settings(Settings)
    message = str(excinfo.value)
    assert named in message
    assert "\n" not in message


def test_uvicorn_refuses_to_start_without_gateway_token() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORIGIN_", "STRIPE_"))}
    env.update({"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "w"})
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "origin.app:create_app", "--factory", "--port", "0"],
        env={**env, "PYTHONPATH": str(ROOT_DIR)},
        cwd=ROOT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "ORIGIN_GATEWAY_TOKEN" in line]
    assert lines == ["origin: invalid configuration: ORIGIN_GATEWAY_TOKEN: required but not set"]

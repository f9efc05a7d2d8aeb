"""deploy/compose.yaml: valid Compose, the production shape, secrets only as files.

No container engine runs here, so the stack is not started; instead the file is validated
against the Compose Specification's JSON schema (vendored in deploy/schemas/), each app
service's environment is fed to the services' real settings classes, and the front door's
and Prometheus's configurations are checked by nginx and promtool themselves.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from checkout_edge_shared.secrets import secret_field_names
from checkout_edge_shared.settings import load_settings
from deploy.compose_secrets import FILES, make_secrets
from gateway.settings import Settings as GatewaySettings
from origin.settings import Settings as OriginSettings
from tests.support.processes import ROOT

DEPLOY = ROOT / "deploy"
# Built in parallel by another deliverable: the storefront.
ELSEWHERE = {"./storefront"}
SECRET_VARIABLES = {
    name.upper() for cls in (OriginSettings, GatewaySettings) for name in secret_field_names(cls)
}
# URLs accept a file because they may carry a password; without one they may be plain.
URL_VARIABLES = {"DATABASE_URL", "CENTRAL_INVENTORY_DATABASE_URL", "GATEWAY_REDIS_URL"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def test_compose_file_is_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads((DEPLOY / "schemas" / "compose-spec.json").read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = [e.message for e in validator_class(schema).iter_errors(compose)]
    assert errors == []
    # The schema is strict: a typo in a service key is an error, not silently ignored.
    broken = {**compose, "services": {"x": {"image": "a", "restrat": "always"}}}
    assert list(validator_class(schema).iter_errors(broken))


def test_the_stack_has_the_production_shape(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {
        "front-door", "gateway-1", "gateway-2", "origin-1", "origin-2", "migrate", "seed",
        "postgres", "redis", "stripe-sim", "prometheus", "grafana",
    }  # fmt: skip
    for name in ("gateway-1", "gateway-2"):
        assert services[name]["command"][:3] == ["python", "-m", "gateway"]
        assert services[name]["environment"]["GATEWAY_EXPECTED_REPLICAS"] == "2"
    for name in ("origin-1", "origin-2"):
        assert services[name]["command"][:2] == ["uvicorn", "origin.app:create_app"]
        # Origins start only after the one migration run succeeded.
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    upstream = re.findall(r"server (gateway-\d):8000", (DEPLOY / "nginx/nginx.conf").read_text())
    assert upstream == ["gateway-1", "gateway-2"]


def test_only_origins_and_their_jobs_reach_postgresql_and_the_front_door_no_origin(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    def networks(service: dict[str, Any]) -> set[str]:
        return set(service.get("networks", []))

    on_data = {name for name, s in services.items() if "data" in networks(s)}
    assert on_data == {"origin-1", "origin-2", "migrate", "seed", "postgres"}
    assert compose["networks"]["data"]["internal"] is True
    assert networks(services["front-door"]) == {"edge"}
    assert "edge" not in networks(services["origin-1"])


def test_secrets_are_files_never_values(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    declared = set(compose["secrets"])
    for name, service in services.items():
        environment: dict[str, str] = service.get("environment", {})
        assert not (SECRET_VARIABLES - URL_VARIABLES) & set(environment), name
        for variable in URL_VARIABLES & set(environment):
            assert urlsplit(environment[variable]).password is None, (name, variable)
        mounted = set(service.get("secrets", []))
        assert mounted <= declared, name
        for variable, value in environment.items():
            if variable.endswith("_FILE"):
                assert value.removeprefix("/run/secrets/") in mounted, (name, variable)
    assert {Path(s["file"]).name for s in compose["secrets"].values()} == set(FILES)


@pytest.mark.parametrize(
    ("service", "settings_class"),
    [("origin-1", OriginSettings), ("gateway-1", GatewaySettings)],
)
def test_the_services_accept_their_compose_environment(
    services: dict[str, dict[str, Any]],
    settings_class: type[OriginSettings] | type[GatewaySettings],
    service: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = make_secrets(tmp_path)
    for name in list(os.environ):
        if name.startswith(("ORIGIN_", "STRIPE_", "GATEWAY_", "DATABASE_", "CHECKOUT_")):
            monkeypatch.delenv(name)
    for name, value in services[service]["environment"].items():
        monkeypatch.setenv(name, value.replace("/run/secrets", str(tmp_path)))
    settings = load_settings(settings_class)
    if isinstance(settings, OriginSettings):
        assert settings.database_url == values["database_url"]
        assert settings.gateway_tokens == (values["gateway_origin_token"],)
        assert settings.stripe_api_base == "http://stripe-sim:12111"
    else:
        assert settings.front_door_tokens() == [values["front_door_token"].encode()]
        assert settings.gateway_origin_token.get_secret_value() == values["gateway_origin_token"]


def test_every_mounted_file_is_in_the_repository(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith("./") or source in ELSEWHERE:
                continue
            assert (DEPLOY / source).exists(), f"{name}: {source}"


def test_secret_files_are_made_once_and_kept(tmp_path: Path) -> None:
    first = make_secrets(tmp_path / "s")
    assert oct((tmp_path / "s").stat().st_mode & 0o777) == "0o700"
    assert make_secrets(tmp_path / "s") == first  # a re-run rotates nothing
    assert first["database_url"].endswith(f":{first['postgres_password']}@postgres:5432/checkout")
    assert first["front_door_nginx.conf"] == (
        f'proxy_set_header x-front-door-token "{first["front_door_token"]}";'
    )


def test_nginx_accepts_the_front_door_configuration(tmp_path: Path) -> None:
    make_secrets(tmp_path / "secrets")
    text = (DEPLOY / "nginx" / "nginx.conf").read_text()
    # Container paths and the compose host names, moved to this machine; nothing else changes.
    text = text.replace(" /tmp/", f" {tmp_path}/").replace("/run/secrets/", f"{tmp_path}/secrets/")
    text = re.sub(r"gateway-\d:8000", "127.0.0.1:8000", text)
    (tmp_path / "nginx.conf").write_text(text)
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
         "-c", str(tmp_path / "nginx.conf")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_promtool_accepts_the_prometheus_configuration(tmp_path: Path) -> None:
    # The project's real rules: promtool checks them too.
    (tmp_path / "rules.yml").write_text((DEPLOY / "prometheus" / "rules.yml").read_text())
    (tmp_path / "metrics_token").write_text("t\n")
    text = (DEPLOY / "prometheus" / "compose-prometheus.yml").read_text()
    text = text.replace("/etc/prometheus/rules.yml", str(tmp_path / "rules.yml"))
    text = text.replace("/run/secrets/metrics_token", str(tmp_path / "metrics_token"))
    (tmp_path / "prometheus.yml").write_text(text)
    result = subprocess.run(
        ["promtool", "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr

"""deploy/k8s/: rendered by kustomize (kubectl's), valid against Kubernetes' schemas offline.

Each overlay is rendered with ``kubectl kustomize`` (the kubectl wheel in the dev
dependencies) and every object is validated strictly by ``kubernetes-validate`` against the
oldest Kubernetes version we support; then what a platform team would check by hand: the
probes follow /healthz (alive) and /readyz (ready), every secret is a mounted file, only the
gateways reach the origins and only the origins (and their migrations) reach PostgreSQL.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from checkout_edge_shared.secrets import secret_field_names
from gateway.settings import Settings as GatewaySettings
from origin.settings import Settings as OriginSettings
from tests.deploy.network_policy import Pod, may_connect
from tests.support.processes import ROOT

K8S = ROOT / "deploy" / "k8s"
KUBECTL = Path(sys.executable).parent / "kubectl"
KUBERNETES_VERSION = "1.30.0"  # the oldest minor we support (docs/deploy.md)
OVERLAYS = ["dev", "prod"]
PLAIN_SECRETS = {
    name.upper() for cls in (OriginSettings, GatewaySettings) for name in secret_field_names(cls)
}


def render(overlay: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        [str(KUBECTL), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(request.param)


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The object of ``kind`` called ``name`` (or ``name-<hash>`` when kustomize made it)."""
    pattern = re.compile(rf"{name}(-[a-z0-9]{{10}})?")
    (found,) = [
        o for o in objects if o["kind"] == kind and pattern.fullmatch(o["metadata"]["name"])
    ]
    return found


def test_every_rendered_object_is_valid_kubernetes(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    _, objects = rendered
    assert len(objects) > 10
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_validation_catches_a_misspelled_field() -> None:
    deployment = one(render("dev"), "Deployment", "gateway")
    deployment["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("service", ["gateway", "origin"])
def test_deployments_probe_scale_spread_and_run_unprivileged(
    rendered: tuple[str, list[dict[str, Any]]], service: str
) -> None:
    overlay, objects = rendered
    deployment = one(objects, "Deployment", service)
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}
    assert "memory" in container["resources"]["limits"]
    assert {c["topologyKey"] for c in pod["topologySpreadConstraints"]} == {
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    }
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["terminationGracePeriodSeconds"] > 20 + 5  # uvicorn's drain + the preStop pause
    hpa = one(objects, "HorizontalPodAutoscaler", service)
    pdb = one(objects, "PodDisruptionBudget", service)
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    if overlay == "prod":
        assert hpa["spec"]["minReplicas"] >= 3
        zone = pod["topologySpreadConstraints"][0]
        assert zone["whenUnsatisfiable"] == "DoNotSchedule"
        assert not container["image"].endswith((":latest", "must-be-pinned-by-the-overlay"))
    service_object = one(objects, "Service", service)
    assert service_object["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    pod = obj["spec"]["template"]["spec"]
    return list(pod.get("initContainers", [])) + list(pod["containers"])


def test_secrets_are_mounted_files_never_environment_values(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    overlay, objects = rendered
    secrets = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Secret"}
    for obj in objects:
        if obj["kind"] not in ("Deployment", "Job") or obj["metadata"]["name"] in (
            "postgresql",
            "redis",
        ):
            continue
        volumes = {v["name"]: v for v in obj["spec"]["template"]["spec"]["volumes"]}
        for container in _containers(obj):
            env = {e["name"]: e for e in container.get("env", [])}
            assert not PLAIN_SECRETS & set(env), (obj["metadata"]["name"], container["name"])
            assert all("valueFrom" not in e for e in env.values())
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            for name, variable in env.items():
                if not name.endswith("_FILE"):
                    continue
                folder, _, key = variable["value"].rpartition("/")
                secret_volume = volumes[mounts[folder]]["secret"]
                items = secret_volume.get("items")
                if items:
                    assert key in {i["path"] for i in items}
                if overlay == "dev":  # generated here; production's come from the platform
                    secret = secrets[secret_volume["secretName"]]
                    assert key in secret["data"], (name, secret_volume["secretName"])


def test_migrations_run_as_a_job_and_before_any_origin_serves(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    _, objects = rendered
    job = one(objects, "Job", "origin-migrate")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", "origin", "migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    origin = one(objects, "Deployment", "origin")
    (init,) = origin["spec"]["template"]["spec"]["initContainers"]
    assert init["command"] == ["python", "-m", "origin", "migrate"]
    assert init["image"] == origin["spec"]["template"]["spec"]["containers"][0]["image"]


def _pod(objects: list[dict[str, Any]], name: str) -> Pod:
    for obj in objects:
        if obj["kind"] in ("Deployment", "Job") and obj["metadata"]["name"] == name:
            namespace = obj["metadata"]["namespace"]
            return Pod(namespace, obj["spec"]["template"]["metadata"]["labels"])
    raise AssertionError(name)


def test_only_gateways_reach_origins_and_only_origins_reach_postgresql(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    overlay, objects = rendered
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    gateway, origin = _pod(objects, "gateway"), _pod(objects, "origin")
    migrate = _pod(objects, "origin-migrate")
    namespace = gateway.namespace
    stranger = Pod(namespace, {"app.kubernetes.io/name": "something-else"})
    outsider = Pod("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
    prometheus = Pod("monitoring", {"app.kubernetes.io/name": "prometheus"})
    postgresql = Pod(namespace, {"app.kubernetes.io/name": "postgresql"})
    pgbouncer = Pod(namespace, {"app.kubernetes.io/name": "pgbouncer"})

    assert may_connect(policies, outsider, gateway, 8000)
    assert may_connect(policies, gateway, origin, 8001)
    assert may_connect(policies, prometheus, origin, 8001)
    for source in (outsider, stranger, migrate):
        assert not may_connect(policies, source, origin, 8001)
    assert not may_connect(policies, origin, origin, 8001)
    for database, port in ((postgresql, 5432), (pgbouncer, 6432)):
        assert may_connect(policies, origin, database, port)
        assert may_connect(policies, migrate, database, port)
        for source in (gateway, stranger, outsider):
            assert not may_connect(policies, source, database, port)
    if overlay == "dev":
        assert may_connect(policies, gateway, _pod(objects, "redis"), 6379)
        assert not may_connect(policies, origin, _pod(objects, "redis"), 6379)
        stand_in = _pod(objects, "stripe-sim")
        assert may_connect(policies, origin, stand_in, 12111)
        assert may_connect(policies, stand_in, gateway, 8000)
        assert not may_connect(policies, stand_in, origin, 8001)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_promtool_accepts_the_scrape_configuration(tmp_path: Path, overlay: str) -> None:
    objects = render(overlay)
    config = one(objects, "ConfigMap", "checkout-edge-scrape")
    text = config["data"]["scrape-configs.yml"]
    token = tmp_path / "metrics_token"
    token.write_text("t\n")
    text = text.replace("/etc/prometheus/secrets/checkout-edge/metrics_token", str(token))
    (tmp_path / "prometheus.yml").write_text(text)
    result = subprocess.run(
        ["promtool", "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Every name it resolves is a headless Service of this overlay's namespace.
    namespace = one(objects, "Deployment", "gateway")["metadata"]["namespace"]
    names = re.findall(r"- ([a-z-]+)\.([a-z-]+)\.svc\.cluster\.local", text)
    assert {n for n, _ in names} == {"gateway-metrics", "origin-metrics"}
    assert {ns for _, ns in names} == {namespace}
    for name, _ in names:
        assert one(objects, "Service", name)["spec"]["clusterIP"] == "None"

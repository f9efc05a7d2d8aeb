"""The alert rules load, and promtool's unit tests prove every alert fires and stays silent."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
CASES = ROOT / "deploy" / "prometheus" / "tests" / "alerts.yml"


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", *args], capture_output=True, text=True, timeout=120, check=False
    )


def _alert_names() -> set[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}


def _selects(expr: str, alert: str) -> bool:
    """Whether an ``ALERTS{alertname…}`` selector in ``expr`` matches ``alert``."""
    exact = re.search(r'alertname="([^"]+)"', expr)
    pattern = re.search(r'alertname=~"([^"]+)"', expr)
    if exact:
        return exact.group(1) == alert
    return bool(pattern and re.fullmatch(pattern.group(1), alert))


def _expectations() -> tuple[set[str], set[str]]:
    """Alerts some case expects to fire, and alerts some case expects to stay silent."""
    fires: set[str] = set()
    silent: set[str] = set()
    for test in yaml.safe_load(CASES.read_text())["tests"]:
        check: dict[str, Any]
        for check in test.get("promql_expr_test", []):
            if check["exp_samples"]:
                for sample in check["exp_samples"]:
                    fires.update(re.findall(r'alertname="([^"]+)"', sample["labels"]))
            else:
                silent.update(a for a in _alert_names() if _selects(check["expr"], a))
        for check in test.get("alert_rule_test", []):
            (fires if check["exp_alerts"] else silent).add(check["alertname"])
    return fires, silent


def test_rules_are_valid() -> None:
    result = _promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rule_tests_pass() -> None:
    result = _promtool("test", "rules", str(CASES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_case_that_fires_and_one_that_stays_silent() -> None:
    alerts = _alert_names()
    fires, silent = _expectations()
    assert alerts - fires == set()
    assert alerts - silent == set()
    assert fires <= alerts  # no case expects an alert that does not exist

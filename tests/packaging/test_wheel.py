"""The built wheel: what ``pip install .`` puts into a user's environment.

It must install ``gateway``, ``origin`` and the shared code and nothing else at the top level
(no ``tests``), carry ``py.typed`` markers, the LICENSE, and the console script.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("checkout_edge-*.whl")
    return zipfile.ZipFile(built)


def test_wheel_installs_only_the_services_and_their_shared_code(wheel: zipfile.ZipFile) -> None:
    top = {name.split("/", 1)[0] for name in wheel.namelist() if "/" in name}
    packages = {name for name in top if not name.endswith(".dist-info")}
    assert packages == {"gateway", "origin", "checkout_edge_shared"}


def test_wheel_marks_every_package_typed(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for package in ("gateway", "origin", "checkout_edge_shared"):
        assert f"{package}/py.typed" in names


def test_wheel_carries_migrations_license_and_console_script(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    assert any(name.startswith("origin/migrations/versions/0001") for name in names)
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    (entry_points,) = (name for name in names if name.endswith(".dist-info/entry_points.txt"))
    scripts = wheel.read(entry_points).decode()
    assert "checkout-edge-origin = origin.__main__:cli" in scripts
    assert "checkout-edge-gateway = gateway.__main__:cli" in scripts


@pytest.mark.parametrize("service", ["origin", "gateway"])
def test_console_script_prints_its_version(service: str) -> None:
    script = Path(sys.executable).with_name(f"checkout-edge-{service}")
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"checkout-edge-{service} 0.1.0"


@pytest.mark.parametrize("service", ["origin", "gateway"])
def test_python_m_prints_its_version(service: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", service, "--version"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.stdout.strip() == f"python -m {service} 0.1.0"

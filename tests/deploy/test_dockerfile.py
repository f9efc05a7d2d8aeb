"""deploy/Dockerfile: linted by hadolint, non-root, pinned, no build tools at run time.

No container engine runs on the development machines or in CI, so the image is never built
here; what can be checked without one is: the lint, the shape of every stage, that the build
context holds exactly what the COPY lines need, and that those files alone build the package
with the migrations in it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.deploy.dockerfile import Stage, stages
from tests.support.processes import ROOT

DOCKERFILE = ROOT / "deploy" / "Dockerfile"
IGNORE = ROOT / "deploy" / "Dockerfile.dockerignore"
HADOLINT = Path(sys.executable).parent / "hadolint"


@pytest.fixture(scope="module")
def by_name() -> dict[str, Stage]:
    return {stage.name: stage for stage in stages(DOCKERFILE)}


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_stages_build_then_run_without_build_tools(by_name: dict[str, Stage]) -> None:
    assert list(by_name) == ["build", "app", "stripe-sim", "runtime"]
    assert stages(DOCKERFILE)[-1].name == "runtime"  # the default target
    assert by_name["runtime"].base == "app"
    build, app = by_name["build"], by_name["app"]
    (install,) = [run for run in build.all("RUN") if "pip install" in run]
    assert "--constraint constraints.txt" in install
    assert "pip check" in install
    # The image that runs: no package manager, compiler or pip run in it, only the venv copied.
    for run in app.all("RUN"):
        assert not any(tool in run for tool in ("apt-get", "gcc", "pip ", "build-essential"))
    assert [c for c in app.all("COPY") if c.startswith("--from")] == [
        "--from=build /opt/venv /opt/venv"
    ]


def test_runs_as_a_non_root_user_with_a_healthcheck_and_graceful_stop(
    by_name: dict[str, Stage],
) -> None:
    app = by_name["app"]
    (user,) = app.all("USER")
    uid, _, gid = user.partition(":")
    assert int(uid) >= 1000
    assert int(gid) >= 1000
    # uvicorn shuts down gracefully on SIGTERM (finishes in-flight requests).
    assert app.all("STOPSIGNAL") == ["SIGTERM"]
    (health,) = app.all("HEALTHCHECK")
    assert "/healthz" in health
    assert "--timeout=" in health
    assert '"-m", "gateway"' in app.all("CMD")[0]
    # Later stages never switch back to root.
    for name in ("stripe-sim", "runtime"):
        assert by_name[name].all("USER") == []


def _context_sources(by_name: dict[str, Stage]) -> list[str]:
    sources = []
    for stage in by_name.values():
        for copy in stage.all("COPY"):
            if copy.startswith("--from"):
                continue
            *from_context, _destination = copy.split()
            sources += from_context
    return sources


def test_the_build_context_holds_what_the_copy_lines_need(by_name: dict[str, Stage]) -> None:
    allowed = {
        line[1:].rstrip("/") for line in IGNORE.read_text().splitlines() if line.startswith("!")
    }
    sources = _context_sources(by_name)
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert source.rstrip("/") in allowed, f"{source} is excluded by {IGNORE.name}"


def test_the_copied_files_alone_build_the_package_with_its_migrations(
    by_name: dict[str, Stage], tmp_path: Path
) -> None:
    context = tmp_path / "context"
    for copy in by_name["build"].all("COPY"):
        *sources, _destination = copy.split()
        for source in sources:
            target = context / source
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / source, target)
    out = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(out), str(context)],
        check=True, capture_output=True,
    )  # fmt: skip
    (built,) = out.glob("checkout_edge-*.whl")
    names = set(zipfile.ZipFile(built).namelist())
    migrations = {p.relative_to(ROOT).as_posix() for p in (ROOT / "origin").rglob("*.py")}
    assert migrations <= names
    gateway = {p.relative_to(ROOT).as_posix() for p in (ROOT / "gateway").rglob("*.py")}
    assert gateway <= names

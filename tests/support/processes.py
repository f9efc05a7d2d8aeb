"""Real processes for end-to-end tests: uvicorn services and the Stripe stand-in.

Each process gets a free port on 127.0.0.1, its own environment, and a log file under the
test's tmp dir (printed when start-up fails, so a broken start is never silent).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support import conformance

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServiceProcess:
    """A started child process listening on ``port``."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        # Its port may be handed to anything next (a stand-in server of another test):
        # what answers there is no longer this service's, for the OpenAPI check.
        conformance.forget(self.url)
        return self.proc.returncode


def _wait_ready(service: ServiceProcess, health_path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        if service.proc.poll() is not None:
            raise RuntimeError(
                f"{service.name} exited with {service.proc.returncode} during start-up:\n"
                f"{service.log_text()[-4000:]}"
            )
        try:
            response = httpx.get(service.url + health_path, timeout=1.0)
            if response.status_code < 500:
                return
            last_error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last_error = repr(exc)
        time.sleep(0.05)
    service.stop(signal.SIGKILL)
    raise RuntimeError(
        f"{service.name} not ready after {timeout}s ({last_error}):\n{service.log_text()[-4000:]}"
    )


def start_process(
    name: str,
    args: Sequence[str],
    *,
    port: int,
    env: Mapping[str, str],
    log_dir: Path,
    health_path: str = "/healthz",
    timeout: float = 20.0,
    preexec_fn: Callable[[], None] | None = None,
    executable: str = sys.executable,
) -> ServiceProcess:
    log_path = log_dir / f"{name}-{port}.log"
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **env}
    log_file = log_path.open("wb")
    proc = subprocess.Popen(
        [executable, *args],
        cwd=ROOT,
        env=full_env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        preexec_fn=preexec_fn,
    )
    log_file.close()
    service = ServiceProcess(name=name, port=port, proc=proc, log_path=log_path, env=dict(env))
    conformance.forget(service.url)
    _wait_ready(service, health_path, timeout)
    return service


def start_uvicorn(
    name: str,
    factory: str,
    *,
    env: Mapping[str, str],
    log_dir: Path,
    port: int | None = None,
    extra_args: Sequence[str] = (),
    health_path: str = "/healthz",
    access_log: bool = False,
) -> ServiceProcess:
    """Start ``uvicorn <factory> --factory`` exactly as the contract's §1 starts services
    (uvicorn's access log off unless ``access_log``)."""
    port = port or free_port()
    args = [
        "-m",
        "uvicorn",
        factory,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *([] if access_log else ["--no-access-log"]),
        *extra_args,
    ]
    service = start_process(
        name, args, port=port, env=env, log_dir=log_dir, health_path=health_path
    )
    conformance.register_process(factory, service.url, env)
    return service


def start_gateway_process(
    name: str,
    *,
    env: Mapping[str, str],
    log_dir: Path,
    port: int | None = None,
    extra_args: Sequence[str] = ("--no-access-log",),
    health_path: str = "/healthz",
    preexec_fn: Callable[[], None] | None = None,
) -> ServiceProcess:
    """Start the gateway as production does: ``python -m gateway --host … --port …``."""
    port = port or free_port()
    args = ["-m", "gateway", "--host", "127.0.0.1", "--port", str(port), *extra_args]
    service = start_process(
        name,
        args,
        port=port,
        env=env,
        log_dir=log_dir,
        health_path=health_path,
        preexec_fn=preexec_fn,
    )
    # The same application as the uvicorn factory form: its answers are checked alike.
    conformance.register_process("gateway.app:create_app", service.url, env)
    return service


@contextlib.contextmanager
def running(*services: ServiceProcess) -> Iterator[tuple[ServiceProcess, ...]]:
    try:
        yield services
    finally:
        for service in services:
            service.stop()

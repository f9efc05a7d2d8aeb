"""The launcher's view of ports and of its own lock, read from the kernel."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.local_stack import ports
from deploy.local_stack.instance import AlreadyRunning, InstanceLock
from tests.support.processes import free_port


def test_a_listening_port_names_its_process_and_a_free_one_nothing() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        holder = ports.holder(port)
        assert holder is not None
        assert holder.pid == os.getpid()
        command = Path(f"/proc/{os.getpid()}/cmdline").read_bytes().split(b"\0")[0].decode()
        assert holder.describe().startswith(f"pid {os.getpid()} ({command} ")
        assert ports.bound_by(port, os.getpid())
    assert ports.holder(port) is None
    assert not ports.in_use(port)


def test_bound_by_is_false_for_a_process_that_does_not_hold_the_port() -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", free_port()))
            sock.listen()
            assert not ports.bound_by(sock.getsockname()[1], other.pid)
    finally:
        other.kill()
        other.wait()


def test_the_second_lock_names_the_first_holder(tmp_path: Path) -> None:
    first = InstanceLock(tmp_path / "run.lock")
    first.acquire(ports={"GATEWAY_PORT": 8000})
    try:
        with pytest.raises(AlreadyRunning) as refused:
            InstanceLock(tmp_path / "run.lock").acquire(ports={})
        assert f"already running here (pid {os.getpid()}" in str(refused.value)
        assert "GATEWAY_PORT :8000" in str(refused.value)
    finally:
        first.release()
    again = InstanceLock(tmp_path / "run.lock")
    again.acquire(ports={})
    again.release()

"""A real local Redis Cluster for tests: 3 masters + 3 replicas of Debian's redis-server.

Each node is a redis-server on a free loopback port in its own directory, joined with
``redis-cli --cluster create … --cluster-replicas 1 --cluster-yes``. A short
``cluster-node-timeout`` makes a killed master fail over to its replica within seconds.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

from tests.support.processes import free_port

NODE_TIMEOUT_MS = 1000


def _cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free and valid too."""
    while True:
        port = free_port()
        if port + 10_000 > 65_535:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 10_000))
            except OSError:
                continue
        return port


class LocalCluster:
    def __init__(self, directory: Path, nodes: int = 6) -> None:
        self.directory = directory
        self.ports = [_cluster_port() for _ in range(nodes)]
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports[:3])

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not on PATH"
        for port in self.ports:
            node_dir = self.directory / str(port)
            node_dir.mkdir(parents=True, exist_ok=True)
            self.procs[port] = subprocess.Popen(
                [
                    *(binary, "--port", str(port), "--bind", "127.0.0.1"),
                    *("--dir", str(node_dir), "--save", "", "--appendonly", "no"),
                    *("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
                    *("--cluster-node-timeout", str(NODE_TIMEOUT_MS)),
                    # A replica takes over however long it was cut off from its master: on a
                    # loaded machine replication can lag past the default validity window,
                    # and the test is about the gateway, not about Redis' election rules.
                    *("--cluster-replica-validity-factor", "0"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        for port in self.ports:
            self._wait_ping(port)
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{p}" for p in self.ports),
                *("--cluster-replicas", "1", "--cluster-yes"),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self.wait_healthy()

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Every live node says cluster_state:ok and every slot has a live master."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self._state_ok(p) for p in self.live()) and self._slots_on_live_masters():
                return
            time.sleep(0.1)
        raise RuntimeError(
            f"the local Redis Cluster did not become healthy within {timeout:.0f}s:\n"
            + self._nodes_report()
        )

    def _nodes_report(self) -> str:
        """``CLUSTER NODES`` as each live node sees it, for a failure message."""
        lines = []
        for port in self.live():
            client = self.client(port)
            try:
                lines.append(f"-- {port}:\n{client.execute_command('CLUSTER', 'NODES')}")
            except redis.RedisError as exc:
                lines.append(f"-- {port}: {exc!r}")
            finally:
                client.close()
        return "\n".join(lines)

    def live(self) -> list[int]:
        return [p for p, proc in self.procs.items() if proc.poll() is None]

    def master_of(self, key: bytes) -> int:
        """The port of the master serving ``key``'s slot (asked of a live node)."""
        client = self.client(self.live()[0])
        try:
            slot = client.execute_command("CLUSTER", "KEYSLOT", key)
            for start, end, master, *_ in client.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    return int(master[1])
        finally:
            client.close()
        raise AssertionError(f"no master for slot of {key!r}")

    def masters(self) -> list[int]:
        client = self.client(self.live()[0])
        try:
            return sorted({int(m[1]) for _, _, m, *_ in client.execute_command("CLUSTER", "SLOTS")})
        finally:
            client.close()

    def kill(self, port: int) -> None:
        proc = self.procs[port]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def commandstats(self, name: str) -> int:
        """Calls of command ``name`` summed over the live nodes."""
        total = 0
        for port in self.live():
            client = self.client(port)
            try:
                stats = client.info("commandstats")
            finally:
                client.close()
            total += stats.get(f"cmdstat_{name}", {}).get("calls", 0)
        return total

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def _wait_ping(self, port: int) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            client = self.client(port)
            try:
                client.ping()
                return
            except redis.RedisError:
                time.sleep(0.02)
            finally:
                client.close()
        raise RuntimeError(f"redis-server on {port} did not start ({self.procs[port].poll()})")

    def _state_ok(self, port: int) -> bool:
        client = self.client(port)
        try:
            return b"cluster_state:ok" in client.execute_command("CLUSTER", "INFO")
        except redis.RedisError:
            return False
        finally:
            client.close()

    def _slots_on_live_masters(self) -> bool:
        live = set(self.live())
        client = self.client(min(live))
        try:
            slots = client.execute_command("CLUSTER", "SLOTS")
        except redis.RedisError:
            return False
        finally:
            client.close()
        covered = sum(end - start + 1 for start, end, *_ in slots)
        return covered == 16384 and all(int(m[1]) in live for _, _, m, *_ in slots)

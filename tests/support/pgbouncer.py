"""A real PgBouncer (Debian ``pgbouncer``) in transaction pooling in front of the test server.

Started on a free loopback port with its own configuration in a private folder; every
database of the PostgreSQL server is reachable through it under its own name. PgBouncer
refuses to run as root, so as root it drops to the ``postgres`` user (``-u``). Stopped with
SIGINT ("safe shutdown": waits for clients' transactions).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.support.processes import free_port


@dataclass
class PgBouncer:
    port: int
    folder: Path
    process: subprocess.Popen[bytes]

    def url_for(self, database_url: str) -> str:
        """``database_url`` (the PostgreSQL server's) as reached through this PgBouncer."""
        parts = urlsplit(database_url)
        netloc = f"{parts.username or 'postgres'}@127.0.0.1:{self.port}"
        query = "&".join(q for q in (parts.query, "pgbouncer=true") if q)
        return urlunsplit(parts._replace(netloc=netloc, query=query))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(2)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def _config(port: int, folder: Path, server_host: str, server_port: int) -> str:
    return f"""\
[databases]
* = host={server_host} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "userlist.txt"}
pool_mode = transaction
max_client_conn = 400
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
logfile = {folder / "pgbouncer.log"}
"""


def start_pgbouncer(server_url: str, *, timeout: float = 15) -> PgBouncer:
    """Start PgBouncer in front of the server ``server_url`` points at; wait until it listens."""
    server = urlsplit(server_url)
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="ce-pgbouncer-"))
    folder.chmod(0o777)  # the postgres user writes its log here
    (folder / "userlist.txt").write_text(f'"{server.username or "postgres"}" ""\n')
    config = folder / "pgbouncer.ini"
    config.write_text(_config(port, folder, server.hostname or "127.0.0.1", server.port or 5432))
    for path in folder.iterdir():
        path.chmod(0o644)
    command = ["pgbouncer", str(config)]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "postgres"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = folder / "pgbouncer.log"
            detail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"pgbouncer exited with {process.returncode}: {detail}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return PgBouncer(port, folder, process)
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"pgbouncer did not listen on {port} within {timeout}s")

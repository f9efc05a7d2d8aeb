"""The processes the gateway benchmark compares, all on 127.0.0.1.

- the upstream: nginx answering a fixed JSON body (one worker) — so only the proxies' own
  cost shows, never an origin's;
- the Python floor: uvicorn (httptools, uvloop) with the cheapest possible ASGI app;
- nginx + ``limit_req``: a proxy that rate-limits, in front of the same upstream;
- the gateway, rate limiting on a private redis-server (so its ``INFO commandstats``
  counts the gateway's commands only), optionally also from another source tree (the
  "before" of a change), under the same conditions.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis

from tests.support.processes import ROOT, ServiceProcess, free_port

BODY = b'{"ok":true,"items":[]}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]


async def _cheapest(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def cheapest_app() -> Any:
    """The Python floor's app (a uvicorn factory): a fixed JSON for every request."""
    return _cheapest


def which(binary: str) -> str | None:
    return shutil.which(binary, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def wait_listening(port: int, proc: subprocess.Popen[bytes], name: str, log: Path) -> None:
    for _ in range(400):
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited: {log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not start: {log.read_text(errors='replace')[-2000:]}")


def python_service(
    name: str, args: list[str], env: dict[str, str], workdir: Path, source: Path = ROOT
) -> ServiceProcess:
    """``python <args>`` run from ``source`` (its packages win over this tree's)."""
    port = free_port()
    log = workdir / f"{name}.log"
    full = {**os.environ, "PYTHONPATH": str(source), "PYTHONUNBUFFERED": "1", **env}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, *args, "--host", "127.0.0.1", "--port", str(port)],
            cwd=source,
            env=full,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wait_listening(port, proc, name, log)
    return ServiceProcess(name, port, proc, log, env)


def uvicorn_args(factory: str) -> list[str]:
    return ["-m", "uvicorn", factory, "--factory", "--no-access-log", "--no-proxy-headers"]


@contextlib.contextmanager
def private_redis(workdir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    proc = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""),
            *("--appendonly", "no", "--dir", str(workdir)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    for _ in range(200):
        with contextlib.suppress(redis.ConnectionError):
            client.ping()
            break
        time.sleep(0.02)
    client.close()
    try:
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        proc.terminate()
        proc.wait(10)


_NGINX_COMMON = """daemon off;
master_process on;
worker_processes 1;
user root;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {dir}/t-body;
  proxy_temp_path {dir}/t-proxy;
  fastcgi_temp_path {dir}/t-fastcgi;
  uwsgi_temp_path {dir}/t-uwsgi;
  scgi_temp_path {dir}/t-scgi;
  keepalive_requests 1000000;
{body}
}}
"""

UPSTREAM_SERVER = """
  server {{
    listen 127.0.0.1:{port};
    default_type application/json;
    location / {{ return 200 '{json}'; }}
  }}
"""

LIMIT_REQ_PROXY = """
  limit_req_zone "$http_cf_connecting_ip|$http_x_shop_id" zone=cart:16m rate=2r/s;
  upstream origin {{ server 127.0.0.1:{upstream}; keepalive 128; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      limit_req zone=cart burst=120 nodelay;
      limit_req_status 429;
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
"""


def start_nginx(binary: str, name: str, server: str, workdir: Path) -> tuple[ServiceProcess, int]:
    """One nginx (one worker) with ``server`` (a template taking ``port``); (service, worker)."""
    directory = workdir / name
    directory.mkdir()
    port = free_port()
    body = server.format(port=port, json=BODY.decode())
    conf = directory / "nginx.conf"
    conf.write_text(_NGINX_COMMON.format(dir=directory, body=body))
    log = directory / "nginx.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([binary, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
    wait_listening(port, proc, name, log)
    return ServiceProcess(name, port, proc, log), _worker_pid(proc.pid)


def stop_nginx(service: ServiceProcess) -> None:
    service.stop(signal.SIGQUIT)


def _worker_pid(master: int) -> int:
    for _ in range(50):
        children = Path(f"/proc/{master}/task/{master}/children")
        if children.exists() and children.read_text().split():
            return int(children.read_text().split()[0])
        time.sleep(0.05)
    return master

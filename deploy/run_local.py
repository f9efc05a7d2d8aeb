"""``make run``: the whole stack on one machine with embedded defaults.

Migrates and seeds the database (SQLite at var/origin.db unless DATABASE_URL is set), makes
development tokens and a webhook secret when none are set (kept in var/dev-secrets.json so a
restart keeps them), regenerates the storefront catalogs, starts the Stripe stand-in, the
origin, the gateway and the development front door (each shop's storefront on its own port,
``FRONT_DOOR_SHOPS``, default ``cochlearfit=8080,wardrobe-rent=8081``), prints the storefront
URLs first, then the other URLs and a curl that goes through the gateway, and stops all of
them on Ctrl-C.

Secrets reach the children as files (``NAME_FILE``, one file per secret under var/secrets/,
readable by this user only), never on a command line where ``ps`` would show them.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"
CATALOG = ROOT / "deploy" / "demo-catalog.json"
SECRETS = VAR / "dev-secrets.json"
SECRET_FILES = VAR / "secrets"
# The demo catalog's success/cancel/return URLs name these hosts and ports.
DEFAULT_SHOPS = "cochlearfit=8080,wardrobe-rent=8081"


def _storefronts() -> dict[str, int]:
    """Shop → port of its storefront, from ``FRONT_DOOR_SHOPS``."""
    pairs = (
        item.split("=", 1) for item in os.environ.get("FRONT_DOOR_SHOPS", DEFAULT_SHOPS).split(",")
    )
    return {shop.strip(): int(port) for shop, port in pairs}


def _secrets() -> dict[str, str]:
    stored: dict[str, str] = json.loads(SECRETS.read_text()) if SECRETS.exists() else {}
    # Hex only: Stripe keys and secrets are alphanumeric (a '-' makes the key invalid).
    wanted = {
        "GATEWAY_FRONT_DOOR_TOKEN": lambda: "dev-front-" + secrets.token_hex(12),
        "GATEWAY_ORIGIN_TOKEN": lambda: "dev-origin-" + secrets.token_hex(12),
        "STRIPE_WEBHOOK_SECRET": lambda: "whsec_dev" + secrets.token_hex(16),
        "STRIPE_SECRET_KEY": lambda: "sk_test_dev" + secrets.token_hex(12),
    }
    if not re.fullmatch(r"sk_test_[A-Za-z0-9_]+", stored.get("STRIPE_SECRET_KEY", "")):
        stored.pop("STRIPE_SECRET_KEY", None)  # made by an older launcher; make a valid one
    values = {}
    for name, make in wanted.items():
        values[name] = os.environ.get(name) or stored.get(name) or make()
    SECRETS.write_text(json.dumps(values, indent=2))
    SECRETS.chmod(0o600)
    return values


def _secret_files(values: dict[str, str]) -> dict[str, str]:
    """Each secret in its own file; the ``NAME_FILE`` variables naming them, for every child."""
    SECRET_FILES.mkdir(mode=0o700, exist_ok=True)
    SECRET_FILES.chmod(0o700)
    files = {
        **values,
        # The origin checks the token the gateway sends; the stand-in signs with the first
        # webhook secret and knocks on the front door like the real front door would.
        "ORIGIN_GATEWAY_TOKEN": values["GATEWAY_ORIGIN_TOKEN"],
        "STRIPE_SIM_WEBHOOK_HEADERS": "x-front-door-token: "
        + values["GATEWAY_FRONT_DOOR_TOKEN"].split(",")[0],
    }
    variables = {}
    for name, value in files.items():
        path = SECRET_FILES / name.lower()
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(value + "\n")
        variables[f"{name}_FILE"] = str(path)
    return variables


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _wait_healthy(name: str, url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with status {proc.returncode} while starting")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (localhost)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{name} did not become healthy at {url} within {timeout:.0f}s")


def _stop(procs: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    for _, proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for name, proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop in time; killing it", file=sys.stderr)
            proc.kill()
            proc.wait()


def main() -> int:
    VAR.mkdir(exist_ok=True)
    ports = {
        "gateway": int(os.environ.get("GATEWAY_PORT", "8000")),
        "origin": int(os.environ.get("ORIGIN_PORT", "8001")),
        "stripe": int(os.environ.get("STRIPE_SIM_PORT", "12111")),
    }
    storefronts = _storefronts()
    ports.update({f"storefront {shop}": port for shop, port in storefronts.items()})
    busy = [f"{name} ({port})" for name, port in ports.items() if not _port_free(port)]
    if busy:
        print(f"make run: port(s) already in use: {', '.join(busy)}", file=sys.stderr)
        return 1

    values = _secrets()
    gateway_url = f"http://127.0.0.1:{ports['gateway']}"
    origin_url = f"http://127.0.0.1:{ports['origin']}"
    stripe_url = f"http://127.0.0.1:{ports['stripe']}"
    secret_files = _secret_files(values)
    plain = {name.removesuffix("_FILE") for name in secret_files}
    env = {
        **{k: v for k, v in os.environ.items() if k not in plain and k not in secret_files},
        **secret_files,
        "PYTHONPATH": str(ROOT),
        "GATEWAY_ORIGIN_URL": origin_url,
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE", stripe_url),
    }
    env.setdefault("DATABASE_URL", f"sqlite+aiosqlite:///{VAR / 'origin.db'}")
    py = sys.executable

    subprocess.run([py, "-m", "origin", "migrate"], env=env, cwd=ROOT, check=True)
    subprocess.run(
        [py, "-m", "origin", "seed", "--file", str(CATALOG)], env=env, cwd=ROOT, check=True
    )
    subprocess.run(
        [py, "deploy/storefront_catalog.py", "--catalog", str(CATALOG)],
        env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip

    commands: list[tuple[str, list[str], str]] = []
    if (ROOT / "tests" / "stripe_sim" / "__main__.py").exists():
        commands.append(
            (
                "stripe stand-in",
                [
                    py,
                    "-m",
                    "tests.stripe_sim",
                    "--port",
                    str(ports["stripe"]),
                    "--webhook-url",
                    f"{gateway_url}/api/stripe-webhook",
                ],
                f"{stripe_url}/_sim/events",
            )
        )
    origin_command = ["-m", "uvicorn", "origin.app:create_app", "--factory"]
    for name, command, port in (
        ("origin", origin_command, ports["origin"]),
        # The gateway's own start command sets its server options (head limits, timeouts,
        # proxy headers off); see docs/gateway.md.
        ("gateway", ["-m", "gateway"], ports["gateway"]),
    ):
        commands.append(
            (
                name,
                [py, *command, "--host", "127.0.0.1", "--port", str(port)],
                f"http://127.0.0.1:{port}/healthz",
            )
        )

    front_door = [py, "deploy/front_door.py", "--gateway-url", gateway_url]
    front_door += ["--stripe-js-url", f"{stripe_url}/js/stripe.js"]
    for shop, port in storefronts.items():
        front_door += ["--shop", f"{shop}={port}"]
    first_port = next(iter(storefronts.values()))
    commands.append(("front door", front_door, f"http://127.0.0.1:{first_port}/healthz"))

    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        for name, command, health in commands:
            proc = subprocess.Popen(command, env=env, cwd=ROOT)
            procs.append((name, proc))
            _wait_healthy(name, health, proc)
        token = values["GATEWAY_FRONT_DOOR_TOKEN"].split(",")[0]
        body = json.dumps(
            {
                "items": [
                    {
                        "sku": "cf-headband",
                        "quantity": 1,
                        "variantAttributes": {"size": "m", "color": "navy"},
                    }
                ]
            }
        )
        shops = "".join(
            f"  storefront       http://{shop}.localhost:{port}/   ({shop})\n"
            for shop, port in storefronts.items()
        )
        print(
            "\ncheckout-edge is running (Ctrl-C stops everything)\n"
            f"{shops}"
            f"  gateway          {gateway_url}\n"
            f"  origin           {origin_url}   (internal)\n"
            f"  stripe stand-in  {stripe_url}\n"
            f"  database         {env['DATABASE_URL']}\n"
            f"  secrets          {SECRETS}\n\n"
            "Try it through the gateway:\n"
            f"  curl -s -X POST {gateway_url}/api/inventory/validate "
            f"-H 'x-front-door-token: {token}' -H 'x-shop-id: cochlearfit' "
            f"-H 'content-type: application/json' -d '{body}'\n",
            flush=True,
        )
        while all(proc.poll() is None for _, proc in procs):
            time.sleep(0.5)
        dead = [name for name, proc in procs if proc.poll() is not None]
        print(f"make run: {', '.join(dead)} stopped; stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    except RuntimeError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 1
    finally:
        _stop(procs)


def _interrupt(signum: int, frame: object) -> None:
    # SIGTERM (e.g. from a supervisor) stops the stack exactly like Ctrl-C does.
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)
    sys.exit(main())

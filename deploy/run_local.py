"""``make run``: the whole stack on one machine with embedded defaults.

In order, each step only after the previous one worked:

1. one launcher per ``var/`` directory (``var/run.lock``): a second ``make run`` says who
   runs and exits 1;
2. every port free, else one line per busy port naming the process holding it;
3. development secrets (``var/dev-secrets.json``), then ``migrate`` and ``seed`` of the
   database (SQLite at ``var/origin.db`` unless ``DATABASE_URL`` is set) and the storefront
   catalogs (``deploy/storefront_catalog.py``);
4. the rows of :func:`service_table` started in order, each up only when our own child
   serves it (``local_stack/services.py``);
5. a line when the configured Redis is unreachable, then the banner (storefront URLs first,
   then the others, the masked database URL, a curl through the gateway that reads its token
   from a file).

Every line is ``process │ text`` (``local_stack/output.py``). Ctrl-C or SIGTERM at any step
stops every child and ends with one line and status 0; a child that exits on its own stops
the rest with status 1. Children die with the launcher even on ``kill -9``.
``RUN_VAR_DIR`` moves ``var/`` (tests use it).
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: deploy/ is on the path, the root is not
    sys.path.insert(0, str(ROOT))

from deploy.local_stack import dev_config  # noqa: E402
from deploy.local_stack.banner import banner  # noqa: E402
from deploy.local_stack.instance import AlreadyRunning, InstanceLock  # noqa: E402
from deploy.local_stack.output import Output  # noqa: E402
from deploy.local_stack.redis_check import redis_problem  # noqa: E402
from deploy.local_stack.services import Service, StartFailed, busy_ports, wait_until_up  # noqa: E402
from deploy.local_stack.supervisor import Interrupted, Supervisor  # noqa: E402

CATALOG = ROOT / "deploy" / "demo-catalog.json"
# The demo catalog's success/cancel/return URLs name these hosts and ports.
DEFAULT_SHOPS = "cochlearfit=8080,wardrobe-rent=8081"
STEPS = ("migrate", "seed", "catalogs")
_SIGNALS: dict[int, str] = {
    signal.SIGINT: "Ctrl-C",
    signal.SIGTERM: "SIGTERM",
    signal.SIGHUP: "SIGHUP",
}


@dataclass(frozen=True)
class Config:
    var: Path
    env: dict[str, str]
    ports: dict[str, int]
    database_url: str
    redis_url: str
    storefronts: dict[str, int]  # shop → port of its storefront (``FRONT_DOOR_SHOPS``)


def configure(environ: dict[str, str]) -> Config:
    var = dev_config.var_dir(ROOT, environ)
    ports_ = {
        "GATEWAY_PORT": int(environ.get("GATEWAY_PORT", "8000")),
        "ORIGIN_PORT": int(environ.get("ORIGIN_PORT", "8001")),
        "STRIPE_SIM_PORT": int(environ.get("STRIPE_SIM_PORT", "12111")),
    }
    database_url = environ.get("DATABASE_URL") or f"sqlite+aiosqlite:///{var / 'origin.db'}"
    env = {
        **environ,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": database_url,
        "LOG_FORMAT": dev_config.log_format(environ),
        "GATEWAY_ORIGIN_URL": f"http://127.0.0.1:{ports_['ORIGIN_PORT']}",
        "STRIPE_API_BASE": environ.get(
            "STRIPE_API_BASE", f"http://127.0.0.1:{ports_['STRIPE_SIM_PORT']}"
        ),
    }
    pairs = (
        item.split("=", 1) for item in environ.get("FRONT_DOOR_SHOPS", DEFAULT_SHOPS).split(",")
    )
    storefronts = {shop.strip(): int(port) for shop, port in pairs}
    redis_url = environ.get("GATEWAY_REDIS_URL", "")
    return Config(var, env, ports_, database_url, redis_url, storefronts)


def service_table(config: Config) -> list[Service]:
    """The long-running processes, started in this order (later rows may need earlier ones)."""
    py = sys.executable
    port = config.ports
    gateway = f"http://127.0.0.1:{port['GATEWAY_PORT']}"
    stripe = f"http://127.0.0.1:{port['STRIPE_SIM_PORT']}"
    shops = config.storefronts

    def listen(variable: str) -> tuple[str, ...]:
        return ("--host", "127.0.0.1", "--port", str(port[variable]))

    return [
        Service(
            "stripe",
            (
                py,
                "-m",
                "tests.stripe_sim",
                "--port",
                str(port["STRIPE_SIM_PORT"]),
                "--webhook-url",
                f"{gateway}/api/stripe-webhook",
            ),
            (port["STRIPE_SIM_PORT"],),
            "/_sim/events",
            "STRIPE_SIM_PORT",
            (("stripe stand-in", stripe),),
        ),
        Service(
            "origin",
            (py, "-m", "uvicorn", "origin.app:create_app", "--factory", *listen("ORIGIN_PORT")),
            (port["ORIGIN_PORT"],),
            "/healthz",
            "ORIGIN_PORT",
            (("origin", f"http://127.0.0.1:{port['ORIGIN_PORT']}   (internal)"),),
        ),
        # The gateway's own start command sets its server options (head limits, timeouts,
        # proxy headers off); see docs/gateway.md.
        Service(
            "gateway",
            (py, "-m", "gateway", *listen("GATEWAY_PORT")),
            (port["GATEWAY_PORT"],),
            "/healthz",
            "GATEWAY_PORT",
            (("gateway", gateway),),
        ),
        # Each shop's storefront on its own port (docs/storefront.md); shown first.
        Service(
            "front door",
            (
                *(py, "deploy/front_door.py", "--gateway-url", gateway),
                *("--stripe-js-url", f"{stripe}/js/stripe.js"),
                *(arg for shop, number in shops.items() for arg in ("--shop", f"{shop}={number}")),
            ),
            tuple(shops.values()),
            "/healthz",
            "FRONT_DOOR_SHOPS",
            tuple(
                ("storefront", f"http://{shop}.localhost:{number}/   ({shop})")
                for shop, number in shops.items()
            ),
        ),
    ]


def launch(config: Config, services: list[Service], launcher: Supervisor) -> int:
    say = launcher.output.say
    secrets = dev_config.dev_secrets(config.var / "dev-secrets.json", config.env)
    files = dev_config.secret_files(config.var / "secrets", secrets)
    for name in files:  # neither NAME nor a stale NAME_FILE reaches a child, only ours
        config.env.pop(name, None)
        config.env.pop(name.removesuffix("_FILE"), None)
    config.env.update(files)
    busy = busy_ports(services)
    if busy:
        for line in busy:
            say(line)
        return 1
    header_file = config.var / "front-door.header"
    header_file.touch(mode=0o600)
    header_file.chmod(0o600)
    header_file.write_text(
        f"x-front-door-token: {secrets['GATEWAY_FRONT_DOOR_TOKEN'].split(',')[0]}\n"
    )
    say(f"database {dev_config.mask_url(config.database_url)}: migrating and seeding")
    py = sys.executable
    launcher.step("migrate", (py, "-m", "origin", "migrate"))
    launcher.step("seed", (py, "-m", "origin", "seed", "--file", str(CATALOG)))
    launcher.step("catalogs", (py, "deploy/storefront_catalog.py", "--catalog", str(CATALOG)))
    launcher.phase = "start-up"
    for service in services:
        say(f"starting {service.name} on :{', :'.join(map(str, service.ports))}")
        child = launcher.start(service.name, service.argv)
        wait_until_up(service, child, idle=launcher.idle)
    gateway = next(service.url for service in services if service.name == "gateway")
    redis = None
    if config.redis_url:
        redis = redis_problem(gateway, dev_config.mask_url(config.redis_url))
        if redis:
            say(redis)
    lines = banner(
        services=services,
        gateway=gateway,
        database_url=config.database_url,
        redis_url=config.redis_url,
        redis_problem=redis,
        secrets_file=config.var / "dev-secrets.json",
        header_file=header_file,
    )
    for line in lines:
        say(line)
    launcher.phase = "running"
    while all(child.alive() for child in launcher.children):
        launcher.idle(0.5)
    launcher.output.drain()
    dead = ", ".join(
        f"{c.name} (status {c.proc.returncode})" for c in launcher.children if not c.alive()
    )
    say(f"{dead} stopped on its own; stopping the rest")
    return 1


def main() -> int:
    environ = dict(os.environ)
    config = configure(environ)
    services = service_table(config)
    output = Output([*STEPS, *(service.name for service in services)])
    launcher = Supervisor(output, env=config.env, cwd=ROOT)
    for signum in _SIGNALS:
        signal.signal(signum, launcher.on_signal)
    lock = InstanceLock(config.var / "run.lock")
    try:
        lock.acquire(ports=config.ports)
    except AlreadyRunning as exc:
        output.say(str(exc))
        return 1
    try:
        return launch(config, services, launcher)
    except Interrupted:
        phase = launcher.phase
        launcher.stop()
        how = _SIGNALS.get(launcher.signal or signal.SIGINT, "a signal")
        output.say(f"stopped by {how} during {phase}; nothing is left running")
        return 0
    except StartFailed as exc:
        launcher.stop()
        output.say(str(exc))
        return 1
    finally:
        launcher.stop()
        lock.release()


if __name__ == "__main__":
    sys.exit(main())

"""Where Redis is and how to talk to it, read from ``GATEWAY_REDIS_URL`` (or the cluster list).

Accepted (anything else stops start-up with one line saying what is not supported):

- ``redis://[user:password@]host[:port][/db]`` and ``rediss://…`` (TLS; hostname checked
  against the system CA store, or ``?ssl_ca_certs=/path/ca.pem``; a client certificate with
  ``ssl_certfile=…&ssl_keyfile=…`` — redis-py's option names);
- ``unix:///path/redis.sock[?db=N]`` (with ``user:password@`` as above);
- ``redis+cluster://[user:password@]host:port[,host:port…]`` and ``rediss+cluster://…``:
  Redis Cluster, the listed nodes being seeds for discovering the others (database 0 only);
- ``GATEWAY_REDIS_CLUSTER_NODES=host:port,host:port`` (without a URL): the same, in plain
  text without credentials.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["RedisTarget", "parse_redis_target"]

_TLS_OPTIONS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
_SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster")


@dataclass(frozen=True, slots=True)
class RedisTarget:
    """A parsed Redis location: one server (``nodes`` of one, or ``unix_path``) or seeds."""

    nodes: tuple[tuple[str, int], ...]
    unix_path: str | None = None
    cluster: bool = False
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    username: str | None = None
    password: str | None = None
    db: int = 0

    def tls_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def describe(self) -> str:
        """For logs: where, without credentials."""
        where = self.unix_path or ",".join(f"{h}:{p}" for h, p in self.nodes)
        kind = "cluster" if self.cluster else "server"
        return f"{kind} {where} db={self.db} tls={self.tls} auth={self.password is not None}"


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text.strip()!r} is not host:port")
    return host.strip("[]"), int(port)


def parse_redis_target(url: str, cluster_nodes: str = "") -> RedisTarget | None:
    """The Redis to use, or ``None`` for none; ``ValueError`` says what is wrong."""
    url, cluster_nodes = url.strip(), cluster_nodes.strip()
    if cluster_nodes:
        if url:
            raise ValueError("set GATEWAY_REDIS_URL or GATEWAY_REDIS_CLUSTER_NODES, not both")
        seeds = tuple(_address(n) for n in cluster_nodes.split(",") if n.strip())
        return RedisTarget(nodes=seeds, cluster=True)
    if not url:
        return None
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in _SCHEMES:
        raise ValueError(f"must be a {', '.join(s + '://' for s in _SCHEMES)} URL, or empty")
    cluster = scheme.endswith("+cluster")
    # The netloc of a cluster URL lists several nodes, which urlsplit cannot parse.
    netloc, _, tail = rest.partition("/")
    path, _, query = tail.partition("?")
    if "?" in netloc:
        netloc, _, query = netloc.partition("?")
    userinfo, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else unquote(user)
        if not colon:
            username = None
    options = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    allowed = (*_TLS_OPTIONS, "db") if scheme.startswith("rediss") or scheme == "unix" else ("db",)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"unsupported URL option(s) {', '.join(unknown)}; supported here: {', '.join(allowed)}"
        )
    db_text = options.pop("db", "") or (path if scheme != "unix" else "")
    if db_text and not db_text.isdigit():
        raise ValueError(f"the database must be a number, not {db_text!r}")
    db = int(db_text or 0)
    if cluster and db:
        raise ValueError("Redis Cluster has database 0 only")
    tls = scheme.startswith("rediss")
    unix_path = None
    if scheme == "unix":
        unix_path = urlsplit(url).path
        if not unix_path:
            raise ValueError("a unix:// URL needs the socket's path")
        nodes: tuple[tuple[str, int], ...] = ()
    elif cluster:
        nodes = tuple(_address(n) for n in hosts.split(",") if n.strip())
        if not nodes:
            raise ValueError("the URL names no node")
    elif ":" in hosts.rsplit("]", 1)[-1]:
        nodes = (_address(hosts),)
    else:
        nodes = ((hosts.strip("[]") or "localhost", 6379),)
    return RedisTarget(
        nodes=nodes,
        unix_path=unix_path,
        cluster=cluster,
        tls=tls,
        ca_file=options.get("ssl_ca_certs"),
        cert_file=options.get("ssl_certfile"),
        key_file=options.get("ssl_keyfile"),
        username=username,
        password=password,
        db=db,
    )

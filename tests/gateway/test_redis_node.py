"""The gateway's Redis client against real redis-servers: RESP framing, AUTH (password and
ACL user), database selection, TLS (server and client certificates), reconnecting.

What redis-py's own suite would check for a client, for the part of the protocol the
gateway uses; the URL forms it does not support are refused at start-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.rate_limit import parse_quota, parse_redis_target
from gateway.rate_limit.limiter import redis_client
from gateway.rate_limit.redis_node import RedisNode, RedisUnavailable
from gateway.rate_limit.resp import Incomplete, ReplyError, pack, parse
from gateway.rate_limit.windows import RedisWindow
from gateway.settings import Settings
from tests.gateway.conftest import FRONT_DOOR_TOKEN, ORIGIN_TOKEN, PrivateRedis
from tests.support.tls import make_certificates

QUOTA = parse_quota("test", "3/minute")


def test_replies_of_every_type_parse_and_split_anywhere() -> None:
    stream = b"+OK\r\n-ERR no\r\n:42\r\n$3\r\nabc\r\n$-1\r\n*2\r\n*1\r\n:1\r\n$0\r\n\r\n*-1\r\n"
    expected = [b"OK", "ERR no", 42, b"abc", None, [[1], b""], None]
    for cut in range(len(stream)):
        buffer, values = bytearray(), []
        for part in (stream[:cut], stream[cut:]):
            buffer += part
            pos = 0
            try:
                while True:
                    value, pos = parse(buffer, pos)
                    values.append(str(value) if isinstance(value, ReplyError) else value)
                    del buffer[:pos]
                    pos = 0
            except Incomplete:
                pass
        assert values == expected, cut


def test_commands_are_arrays_of_bulk_strings() -> None:
    assert pack("SET", b"k\r\n", 7) == b"*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$1\r\n7\r\n"


async def hit(url: str) -> bool:
    target = parse_redis_target(url)
    assert target is not None
    client = redis_client(target, connect_timeout=2.0)
    try:
        state = await RedisWindow(client, key_prefix="node-test").hit(
            [(QUOTA, "{client}")], within=2.0
        )
        return state.allowed
    finally:
        await client.aclose()


async def test_password_authentication(tmp_path: Path) -> None:
    server = PrivateRedis(tmp_path, ("--requirepass", "s3cret/:@"))
    server.start()
    try:
        assert await hit(f"redis://:s3cret%2F%3A%40@127.0.0.1:{server.port}/0")
        with pytest.raises(RedisUnavailable, match=r"WRONGPASS|invalid"):
            await hit(f"redis://:wrong@127.0.0.1:{server.port}/0")
        with pytest.raises(ReplyError, match="NOAUTH"):
            await hit(f"redis://127.0.0.1:{server.port}/0")
    finally:
        server.stop()


async def test_acl_user_authentication(tmp_path: Path) -> None:
    acl = tmp_path / "users.acl"
    acl.write_text(
        "user default on nopass ~* &* +@all\n"
        "user gateway on >pw ~node-test:* -@all +evalsha +script|load +ping"
        " +time +lindex +lpush +ltrim +expire +llen\n"
    )
    server = PrivateRedis(tmp_path, ("--aclfile", str(acl)))
    server.start()
    try:
        assert await hit(f"redis://gateway:pw@127.0.0.1:{server.port}")
        with pytest.raises(RedisUnavailable):
            await hit(f"redis://gateway:nope@127.0.0.1:{server.port}")
    finally:
        server.stop()


async def test_database_is_selected(private_redis: PrivateRedis) -> None:
    assert await hit(f"redis://127.0.0.1:{private_redis.port}/3")
    admin = private_redis.client()
    try:
        assert admin.execute_command("SELECT", 3)
        assert admin.keys("node-test:*") == [b"node-test:LIMITER/{client}/3/1/minute"]
        admin.execute_command("SELECT", 0)
        assert admin.keys("node-test:*") == []
    finally:
        admin.close()


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for localhost/127.0.0.1 and a client certificate."""
    return make_certificates(tmp_path_factory.mktemp("tls"), ("server", "client"))


@pytest.fixture
def tls_redis(tmp_path: Path, certificates: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path, ())
    server.extra_args = (
        *("--port", "0", "--tls-port", str(server.port)),
        *("--tls-cert-file", str(certificates / "server.pem")),
        *("--tls-key-file", str(certificates / "server.key")),
        *("--tls-ca-cert-file", str(certificates / "ca.pem")),
        *("--tls-auth-clients", "optional"),
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_tls_with_the_servers_ca(tls_redis: PrivateRedis, certificates: Path) -> None:
    ca = certificates / "ca.pem"
    assert await hit(f"rediss://localhost:{tls_redis.port}/0?ssl_ca_certs={ca}")
    assert await hit(f"rediss://127.0.0.1:{tls_redis.port}/0?ssl_ca_certs={ca}")


async def test_tls_refuses_a_server_the_system_store_does_not_trust(
    tls_redis: PrivateRedis,
) -> None:
    with pytest.raises(RedisUnavailable, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
        await hit(f"rediss://localhost:{tls_redis.port}/0")


async def test_plain_connection_to_a_tls_port_fails(tls_redis: PrivateRedis) -> None:
    with pytest.raises(RedisUnavailable):
        await hit(f"redis://127.0.0.1:{tls_redis.port}/0")


async def test_tls_client_certificate(tmp_path: Path, certificates: Path) -> None:
    server = PrivateRedis(tmp_path, ())
    server.extra_args = (
        *("--port", "0", "--tls-port", str(server.port)),
        *("--tls-cert-file", str(certificates / "server.pem")),
        *("--tls-key-file", str(certificates / "server.key")),
        *("--tls-ca-cert-file", str(certificates / "ca.pem")),
        *("--tls-auth-clients", "yes"),
    )
    server.start()
    base = f"rediss://localhost:{server.port}/0?ssl_ca_certs={certificates / 'ca.pem'}"
    try:
        with pytest.raises(RedisUnavailable):
            await hit(base)
        client = f"&ssl_certfile={certificates / 'client.pem'}"
        assert await hit(base + client + f"&ssl_keyfile={certificates / 'client.key'}")
    finally:
        server.stop()


async def test_reconnects_after_the_server_restarts(private_redis: PrivateRedis) -> None:
    node = RedisNode(host="127.0.0.1", port=private_redis.port, connect_timeout=1.0)
    try:
        assert await node.call(pack("PING"), within=1.0) == b"PONG"
        private_redis.stop()
        with pytest.raises(RedisUnavailable):
            await node.call(pack("PING"), within=1.0)
        private_redis.start()
        assert await node.call(pack("PING"), within=1.0) == b"PONG"
    finally:
        await node.aclose()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://h:1?ssl_ca_certs=/x", "unsupported URL option(s) ssl_ca_certs"),
        ("rediss://h:1?ssl_cert_reqs=none", "unsupported URL option(s) ssl_cert_reqs"),
        ("redis+cluster://a:1,b:2/3", "Redis Cluster has database 0 only"),
        ("redis://h:1/x", "the database must be a number"),
        ("memcached://h:1", "must be a redis://"),
        ("redis+cluster://a:1,b", "'b' is not host:port"),
    ],
)
def test_unsupported_urls_stop_start_up_naming_the_variable(url: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(
            gateway_front_door_token=FRONT_DOOR_TOKEN,
            gateway_origin_token=ORIGIN_TOKEN,
            gateway_redis_url=url,
        )
    assert "gateway_redis_url" in str(caught.value)
    assert message in str(caught.value)


def test_url_forms_parse() -> None:
    target = parse_redis_target("rediss://alice:p%40ss@cache.internal:6380/2?ssl_ca_certs=/ca")
    assert target is not None
    assert (target.nodes, target.username, target.password, target.db, target.tls) == (
        (("cache.internal", 6380),),
        "alice",
        "p@ss",
        2,
        True,
    )
    cluster = parse_redis_target("", "10.0.0.1:7000, 10.0.0.2:7001")
    assert cluster is not None
    assert cluster.cluster
    assert cluster.nodes == (("10.0.0.1", 7000), ("10.0.0.2", 7001))
    unix = parse_redis_target("unix:///run/redis.sock?db=4")
    assert unix is not None
    assert (unix.unix_path, unix.db) == ("/run/redis.sock", 4)
    assert parse_redis_target("") is None


async def test_unix_socket_with_database(tmp_path: Path) -> None:
    socket_path = tmp_path / "redis.sock"
    server = PrivateRedis(tmp_path, ("--unixsocket", str(socket_path)))
    server.start()
    try:
        assert await hit(f"unix://{socket_path}?db=2")
        admin = server.client()
        admin.execute_command("SELECT", 2)
        assert admin.keys("node-test:*") == [b"node-test:LIMITER/{client}/3/1/minute"]
        admin.close()
    finally:
        server.stop()

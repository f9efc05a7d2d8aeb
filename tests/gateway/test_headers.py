"""Header filtering towards the origin and back (RFC 9110 §7.6.1 hop-by-hop)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.headers import HOP_BY_HOP, connection_tokens, request_headers, response_headers


def forward(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return request_headers(
        headers, origin_token=b"origin-token", client_ip=b"203.0.113.9", request_id=b"req-1"
    )


def test_hop_by_hop_headers_are_dropped_towards_the_origin() -> None:
    sent = forward(
        [
            (b"connection", b"keep-alive, x-hop-secret"),
            (b"keep-alive", b"timeout=5"),
            (b"te", b"trailers"),
            (b"trailer", b"x-checksum"),
            (b"transfer-encoding", b"chunked"),
            (b"upgrade", b"h2c"),
            (b"proxy-authorization", b"Basic abc"),
            (b"proxy-connection", b"keep-alive"),
            (b"x-hop-secret", b"named in Connection"),
            (b"content-type", b"application/json"),
        ]
    )
    names = [name for name, _ in sent]
    assert b"content-type" in names
    for name in [*HOP_BY_HOP, b"x-hop-secret"]:
        assert name not in names


def test_front_door_token_never_reaches_the_origin() -> None:
    sent = forward([(b"x-front-door-token", b"fd"), (b"accept", b"*/*")])
    assert all(name != b"x-front-door-token" for name, _ in sent)


def test_gateway_owned_headers_replace_what_the_client_sent() -> None:
    sent = forward(
        [
            (b"x-gateway-token", b"forged"),
            (b"x-client-ip", b"10.0.0.1"),
            (b"x-request-id", b"client-id"),
            (b"host", b"evil.example"),
            (b"content-length", b"999"),
            (b"expect", b"100-continue"),
        ]
    )
    assert sent == [
        (b"x-gateway-token", b"origin-token"),
        (b"x-client-ip", b"203.0.113.9"),
        (b"x-request-id", b"req-1"),
    ]


def test_end_to_end_headers_pass_in_order_with_their_values() -> None:
    headers = [
        (b"cookie", b"cart_id=abc"),
        (b"stripe-signature", b"t=1,v1=abc"),
        (b"x-forwarded-for", b"1.2.3.4"),
        (b"accept-encoding", b"gzip"),
        (b"idempotency-key", b"k-1"),
    ]
    assert forward(headers)[: len(headers)] == headers


def test_response_hop_by_hop_and_server_headers_are_dropped() -> None:
    passed = response_headers(
        [
            (b"Connection", b"close, X-Internal"),
            (b"X-Internal", b"1"),
            (b"Transfer-Encoding", b"chunked"),
            (b"Date", b"Mon"),
            (b"Server", b"uvicorn"),
            (b"Content-Encoding", b"gzip"),
            (b"Content-Length", b"42"),
            (b"Set-Cookie", b"cart_id=1"),
            (b"Set-Cookie", b"other=2"),
        ]
    )
    assert passed == [
        (b"content-encoding", b"gzip"),
        (b"content-length", b"42"),
        (b"set-cookie", b"cart_id=1"),
        (b"set-cookie", b"other=2"),
    ]


def test_connection_tokens_are_case_and_space_insensitive() -> None:
    assert connection_tokens([(b"Connection", b" Keep-Alive ,X-A,, x-b ")]) == {
        b"keep-alive",
        b"x-a",
        b"x-b",
    }


_names = st.from_regex(rb"[a-z][a-z0-9-]{0,20}", fullmatch=True)


@given(st.lists(st.tuples(_names, st.binary(max_size=20)), max_size=20), _names)
def test_a_header_named_in_connection_never_passes(
    headers: list[tuple[bytes, bytes]], named: bytes
) -> None:
    sent = forward([(b"connection", named), *headers])
    assert all(name != named for name, _ in sent)
    assert all(name not in HOP_BY_HOP for name, _ in sent)

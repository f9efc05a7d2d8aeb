"""The upstream transport: the gateway's only client of the origin.

pool.py        UpstreamPool (keep-alive connections, deadlines, retry of safe requests)
connection.py  Connection (one HTTP/1.1 connection, httptools framing)
failures.py    UpstreamError and its subclasses; ERROR_TABLE maps them to responses
"""

from gateway.upstream.failures import ERROR_TABLE, BodyInterrupted, ErrorAnswer, UpstreamError
from gateway.upstream.pool import KEEPALIVE_EXPIRY_SECONDS, UpstreamPool, UpstreamResponse

__all__ = [
    "ERROR_TABLE",
    "KEEPALIVE_EXPIRY_SECONDS",
    "BodyInterrupted",
    "ErrorAnswer",
    "UpstreamError",
    "UpstreamPool",
    "UpstreamResponse",
]

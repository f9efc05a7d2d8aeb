"""A stand-in origin for the gateway's end-to-end tests: ``create_app`` is a uvicorn factory.

Every ``/api/...`` request is answered according to its ``x-test-mode`` header (which the
gateway forwards like any other):

- (none)      200 JSON echo of method, path, query, headers and the body (base64, sha256)
- ``gzip``    a gzip-encoded JSON body with Content-Encoding and Content-Length
- ``slow``    the echo after ``x-test-delay`` seconds
- ``hop``     a response carrying hop-by-hop headers, and one named in Connection
- ``cookie``  a Set-Cookie, as the origin sets ``cart_id``
- ``stream``  a chunked body of ``x-test-chunks`` pieces
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import json
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

GZIP_PAYLOAD = {"compressed": True, "items": list(range(200))}


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def echo_body(request: Request) -> dict[str, object]:
    body = await request.body()
    return {
        "method": request.method,
        "path": request.url.path,
        "rawPath": request.scope.get("raw_path", b"").decode("latin-1"),
        "query": request.scope["query_string"].decode("latin-1"),
        "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in request.headers.raw],
        "bodyBase64": base64.b64encode(body).decode(),
        "bodySha256": hashlib.sha256(body).hexdigest(),
        "bodyLength": len(body),
    }


async def api(request: Request) -> Response:
    mode = request.headers.get("x-test-mode", "")
    if mode == "gzip":
        raw = gzip.compress(json.dumps(GZIP_PAYLOAD).encode(), mtime=0)
        return Response(
            raw, headers={"content-encoding": "gzip", "content-type": "application/json"}
        )
    if mode == "slow":
        await asyncio.sleep(float(request.headers.get("x-test-delay", "1")))
    if mode == "hop":
        return Response(
            b"hop",
            headers={
                "connection": "x-secret-hop, keep-alive",
                "x-secret-hop": "must-not-pass",
                "keep-alive": "timeout=5",
                "proxy-authenticate": "Basic",
                "x-kept": "yes",
            },
        )
    if mode == "cookie":
        response = JSONResponse({"cookie": True})
        response.set_cookie("cart_id", "c-123", httponly=True, samesite="lax")
        return response
    if mode == "stream":
        chunks = int(request.headers.get("x-test-chunks", "3"))

        async def pieces() -> AsyncIterator[bytes]:
            for index in range(chunks):
                yield f"chunk-{index};".encode()
                await asyncio.sleep(0)

        return StreamingResponse(pieces(), media_type="text/plain")
    status = int(request.headers.get("x-test-status", "200"))
    return JSONResponse(await echo_body(request), status_code=status)


def create_app() -> Starlette:
    methods = ["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"]
    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", healthz, methods=["GET"]),
            Route("/api/{rest:path}", api, methods=methods),
        ]
    )

"""Every response the suite gets from a real origin or gateway is checked against the document.

The suite's clients are plain ``httpx`` clients made in many places, so the check sits on
``httpx.Client.send`` and ``httpx.AsyncClient.send`` for the whole run (:func:`install`).
A response is checked when it came from a service registered here: an origin (in-process,
or a process started by :func:`tests.support.processes.start_uvicorn`), or a gateway
process whose ``GATEWAY_ORIGIN_URL`` is a registered origin. Gateways in front of the
tests' fake upstream, the Stripe stand-in and anything else are not checked: their answers
are not the API. Streamed responses are not read here (the test reads them).

Problems are collected per test; the root conftest's autouse fixture fails the test that
saw one, naming the request and what contradicts ``docs/openapi.yaml``.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.support.openapi import check_response

__all__ = [
    "IN_PROCESS_ORIGIN",
    "RECORD",
    "forget",
    "install",
    "register_origin",
    "register_process",
]

IN_PROCESS_ORIGIN = "http://origin.test"


@dataclass
class Record:
    """What the checks saw: services by ``host:port``, problems of the current test, counts."""

    services: dict[str, bool] = field(default_factory=dict)  # netloc → through the gateway
    problems: list[str] = field(default_factory=list)
    checked: Counter[tuple[str, str, int]] = field(default_factory=Counter)

    def take_problems(self) -> list[str]:
        problems, self.problems = self.problems, []
        return problems


RECORD = Record()


def _netloc(url: str) -> str:
    return urlsplit(url).netloc


def register_origin(url: str) -> None:
    RECORD.services[_netloc(url)] = False


def forget(url: str) -> None:
    """A new process listens on ``url``: whatever listened there before is gone."""
    RECORD.services.pop(_netloc(url), None)


def register_process(factory: str, url: str, env: Mapping[str, str]) -> None:
    """Called for every uvicorn process the suite starts (after :func:`forget`)."""
    if factory.startswith("origin.app:"):
        register_origin(url)
    elif factory.startswith("gateway.app:"):
        upstream = env.get("GATEWAY_ORIGIN_URL", "")
        if RECORD.services.get(_netloc(upstream)) is False:
            RECORD.services[_netloc(url)] = True


def _observe(request: httpx.Request, response: httpx.Response) -> None:
    through_gateway = RECORD.services.get(request.url.netloc.decode("ascii"))
    if through_gateway is None or not response.is_closed:
        return
    path = request.url.path
    if not through_gateway and not path.startswith("/api/"):
        return  # the origin's own probes are internal, not part of the storefront API
    method = request.method
    RECORD.checked[(method, path, response.status_code)] += 1
    problems = check_response(
        method,
        path,
        response.status_code,
        response.headers,
        response.content,
        through_gateway=through_gateway,
    )
    RECORD.problems.extend(problems)


def _wrap_sync(send: Callable[..., httpx.Response]) -> Callable[..., httpx.Response]:
    @functools.wraps(send)
    def checked_send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = send(self, request, **kwargs)
        _observe(request, response)
        return response

    return checked_send


def _wrap_async(send: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(send)
    async def checked_send(
        self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any
    ) -> httpx.Response:
        response: httpx.Response = await send(self, request, **kwargs)
        _observe(request, response)
        return response

    return checked_send


def install() -> None:
    """Wrap the clients' ``send`` once for the run (idempotent)."""
    if getattr(httpx.Client.send, "__wrapped__", None) is not None:
        return
    register_origin(IN_PROCESS_ORIGIN)
    httpx.Client.send = _wrap_sync(httpx.Client.send)  # type: ignore[method-assign]
    httpx.AsyncClient.send = _wrap_async(httpx.AsyncClient.send)  # type: ignore[method-assign]

"""The published API document (``docs/openapi.yaml``) and checking one response against it.

:func:`check_response` is what every observed response of the suite goes through (see
:mod:`tests.support.conformance`): the operation must exist (or the answer must be one of
the document's operation-less component responses: 404 ``RouteNotFound``, 405
``MethodNotAllowed``, the CORS preflight answers), the status must be documented for it, the
body must validate against the documented schema (JSON Schema 2020-12, ``$ref``s resolved in
the document), and every documented required header must be present and well-formed. It
returns the problems as sentences; an empty list means the response conforms.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "openapi.yaml"
_BASE = "urn:checkout-edge:openapi"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Answers no operation of the document owns, by status (component responses with x-status).
_OPERATIONLESS = {404: "RouteNotFound", 405: "MethodNotAllowed"}
_PREFLIGHT = {204: "CorsPreflight", 403: "CorsOriginNotAllowed"}


@functools.cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text())
    return loaded


@functools.cache
def _registry() -> Registry[Any]:
    resource = Resource.from_contents(document(), default_specification=DRAFT202012)
    return Registry().with_resource(_BASE, resource)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer_of(*tokens: str) -> str:
    return "".join("/" + _escape(token) for token in tokens)


def resolve(pointer: str) -> tuple[str, Any]:
    """The node at ``pointer``, following ``$ref``s; returns its final pointer and value."""
    node: Any = document()
    for token in pointer.strip("/").split("/") if pointer.strip("/") else []:
        node = node[token.replace("~1", "/").replace("~0", "~")]
    if isinstance(node, dict) and "$ref" in node and len(node) == 1:
        return resolve(node["$ref"].removeprefix("#"))
    return pointer, node


def operations() -> dict[tuple[str, str], dict[str, Any]]:
    """``(METHOD, path)`` → operation, for every operation of the document."""
    return {
        (method.upper(), path): item[method]
        for path, item in document()["paths"].items()
        for method in METHODS
        if method in item
    }


@functools.cache
def _validator(pointer: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"{_BASE}#{pointer}"}, registry=_registry())


def schema_errors(pointer: str, instance: Any) -> list[str]:
    """Why ``instance`` does not match the schema at ``pointer`` (none when it does)."""
    return [error.message for error in _validator(pointer).iter_errors(instance)]


def _response_pointer(method: str, path: str, status: int) -> tuple[str | None, list[str]]:
    item = document()["paths"].get(path)
    if item is None:
        name = _OPERATIONLESS.get(status)
        if name is None:
            return None, [f"{method} {path} (not in the document) answered {status}"]
        return pointer_of("components", "responses", name), []
    operation = item.get(method.lower())
    if operation is None:
        table = _PREFLIGHT if method == "OPTIONS" else {405: "MethodNotAllowed"}
        name = table.get(status)
        if name is None:
            return None, [f"{method} {path} is not an operation; it answered {status}"]
        return pointer_of("components", "responses", name), []
    if str(status) not in operation["responses"]:
        return None, [f"{method} {path} answered {status}, which the document does not list"]
    return pointer_of("paths", path, method.lower(), "responses", str(status)), []


def check_response(
    method: str,
    path: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    through_gateway: bool,
) -> list[str]:
    """The ways this response contradicts the document (none when it conforms).

    ``headers`` must be case-insensitive (``httpx.Headers``). Responses that did not pass
    the gateway (an origin called directly by a test) carry no RateLimit fields, so those
    are only required ``through_gateway``.
    """
    where = f"{method} {path} → {status}"
    response_pointer, problems = _response_pointer(method, path, status)
    if response_pointer is None:
        return problems
    response_pointer, response = resolve(response_pointer)
    problems += _check_headers(where, response.get("headers", {}), headers, through_gateway)
    content = response.get("content", {})
    media = headers.get("content-type", "").split(";")[0].strip()
    if not body:
        return problems
    if media not in content:
        return [*problems, f"{where}: content type {media!r} is not documented ({list(content)})"]
    if media != "application/json":
        return problems
    try:
        data = json.loads(body)
    except ValueError:
        return [*problems, f"{where}: the body is not JSON: {body[:200]!r}"]
    schema_pointer = response_pointer + pointer_of("content", media, "schema")
    for error in _validator(schema_pointer).iter_errors(data):
        at = "/".join(str(part) for part in error.absolute_path) or "body"
        problems.append(f"{where}: {at}: {error.message}")
    return problems


def _check_headers(
    where: str, documented: Mapping[str, Any], headers: Mapping[str, str], through_gateway: bool
) -> list[str]:
    problems = []
    for name, spec in documented.items():
        _, header = resolve(spec["$ref"].removeprefix("#")) if "$ref" in spec else ("", spec)
        if not through_gateway and name.lower().startswith("ratelimit"):
            continue
        value = headers.get(name)
        if value is None:
            if header.get("required", False):
                problems.append(f"{where}: header {name} is required and missing")
            continue
        for error in Draft202012Validator(header.get("schema", {})).iter_errors(value):
            problems.append(f"{where}: header {name}: {error.message}")
    return problems


def _codes_in(schema: Any, seen: set[str] | None = None) -> set[str]:
    """The error codes a response schema allows (``error.code``'s ``const``/``enum``)."""
    seen = set() if seen is None else seen
    codes: set[str] = set()
    if isinstance(schema, list):
        for item in schema:
            codes |= _codes_in(item, seen)
    if not isinstance(schema, dict):
        return codes
    if "$ref" in schema and schema["$ref"] not in seen:
        seen.add(schema["$ref"])
        codes |= _codes_in(resolve(schema["$ref"].removeprefix("#"))[1], seen)
    code = schema.get("properties", {}).get("error", {}).get("properties", {}).get("code", {})
    if "const" in code:
        codes.add(code["const"])
    codes |= set(code.get("enum", []))
    for key, value in schema.items():
        if key != "$ref":
            codes |= _codes_in(value, seen)
    return codes


def _response_codes(response: Any) -> set[str]:
    _, resolved = (
        resolve(response["$ref"].removeprefix("#")) if "$ref" in response else ("", response)
    )
    return _codes_in(resolved.get("content", {}))


ANY_ROUTE = "any route"


def documented_answers() -> dict[tuple[str, int], set[str]]:
    """``(code, status)`` → where the document lists it (``METHOD path``, or :data:`ANY_ROUTE`
    for the operation-less component responses with ``x-status``)."""
    found: dict[tuple[str, int], set[str]] = {}
    for (method, path), operation in operations().items():
        for status, response in operation["responses"].items():
            for code in _response_codes(response):
                found.setdefault((code, int(status)), set()).add(f"{method} {path}")
    for response in document()["components"]["responses"].values():
        if "x-status" in response:
            for code in _response_codes(response):
                found.setdefault((code, int(response["x-status"])), set()).add(ANY_ROUTE)
    return found

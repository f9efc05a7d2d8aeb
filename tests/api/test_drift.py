"""docs/openapi.yaml and the code cannot drift apart.

The code's side is read from the code (:mod:`tests.support.code_surface`): the allowlist
table, the gateway's own routes and every error the services can raise or render. The
document's side is read from the document (:mod:`tests.support.openapi`). Responses the
rest of the suite observes are checked against the document as they happen
(:mod:`tests.support.conformance`); these tests check what no single response shows.
"""

from __future__ import annotations

import re
from pathlib import Path

from openapi_spec_validator import validate

from gateway.routes import ALLOWLIST, LimitClass, RouteRule, ShopRule
from tests.support import code_surface, openapi

# The gateway's checks: raised on the way to the origin, so every forwarded route can
# answer them (the modules that serve the gateway's own endpoints are not on that way).
_NOT_ON_THE_FORWARDING_WAY = {"gateway/telemetry.py", "gateway/probes.py"}


def undocumented_routes(code_routes: set[tuple[str, str]]) -> list[str]:
    documented = set(openapi.operations())
    return [
        f"{m} {p} is served but not documented" for m, p in sorted(code_routes - documented)
    ] + [f"{m} {p} is documented but not served" for m, p in sorted(documented - code_routes)]


def undocumented_answers(surface: code_surface.Surface) -> list[str]:
    documented = openapi.documented_answers()
    return [
        f"{code} ({status}) raised at {', '.join(places)} is not in docs/openapi.yaml"
        for (code, status), places in sorted(surface.answers.items())
        if (code, status) not in documented
    ] + [f"cannot read {place}" for place in surface.unresolved]


def gateway_checks_missing_on_routes(
    surface: code_surface.Surface, allowlist: tuple[RouteRule, ...] = ALLOWLIST
) -> list[str]:
    documented = openapi.documented_answers()
    problems = []
    for (code, status), places in sorted(surface.answers.items()):
        on_the_way = [
            p
            for p in places
            if p.startswith("gateway/") and p.split(":")[0] not in _NOT_ON_THE_FORWARDING_WAY
        ]
        if not on_the_way or openapi.ANY_ROUTE in documented.get((code, status), set()):
            continue
        for rule in allowlist:
            if code == "SHOP_ID_REQUIRED" and rule.shop is ShopRule.OPTIONAL:
                continue
            for method in sorted(rule.methods):
                if f"{method} {rule.path}" not in documented.get((code, status), set()):
                    problems.append(f"{method} {rule.path} does not list {code} ({status})")
    return problems


def test_the_document_is_valid_openapi_3_1() -> None:
    document = openapi.document()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_route_the_gateway_serves_is_documented_and_nothing_else() -> None:
    assert undocumented_routes(code_surface.routes()) == []


def test_every_error_code_and_status_the_code_answers_is_documented() -> None:
    surface = code_surface.scan()
    assert len(surface.answers) > 20  # the scanner found the services' errors at all
    assert undocumented_answers(surface) == []


def test_every_forwarded_route_documents_every_gateway_check() -> None:
    assert gateway_checks_missing_on_routes(code_surface.scan()) == []


def test_drift_is_reported_for_a_new_route_and_a_new_error_code(tmp_path: Path) -> None:
    """The checks fail when a route or an error code is added without documenting it."""
    wishlist = RouteRule("/api/wishlist", frozenset({"GET"}), ShopRule.REQUIRED, LimitClass.CART)
    assert undocumented_routes(code_surface.routes((*ALLOWLIST, wishlist))) == [
        "GET /api/wishlist is served but not documented"
    ]

    (tmp_path / "gift_cards.py").write_text(
        "from checkout_edge_shared.errors import Conflict, Unavailable\n"
        "def redeem() -> None:\n"
        "    raise Conflict('The gift card is spent.', code='GIFT_CARD_SPENT')\n"
        "def check() -> None:\n"
        "    raise Unavailable('Gift cards are down.', code='CART_FULL')\n"
    )
    roots = [code_surface.ROOT / name for name in code_surface.PACKAGES] + [tmp_path]
    problems = undocumented_answers(code_surface.scan(roots))
    assert len(problems) == 2
    assert any(p.startswith("GIFT_CARD_SPENT (409) raised at") for p in problems)
    # A known code with a status the document does not give it is drift too.
    assert any(p.startswith("CART_FULL (503) raised at") for p in problems)


def test_drift_is_reported_for_a_gateway_check_a_route_does_not_list(tmp_path: Path) -> None:
    gateway = tmp_path / "gateway"
    gateway.mkdir()
    (gateway / "geo.py").write_text(
        "from checkout_edge_shared.errors import Forbidden\n"
        "def check() -> None:\n"
        "    raise Forbidden('Not sold in your country.', code='TENANT_MISMATCH')\n"
    )
    roots = [code_surface.ROOT / name for name in code_surface.PACKAGES] + [tmp_path]
    surface = code_surface.scan(roots)
    # As if the file were gateway/geo.py of the repository.
    surface.answers = {
        key: [place.removeprefix(f"{tmp_path}/") for place in places]
        for key, places in surface.answers.items()
    }
    problems = gateway_checks_missing_on_routes(surface)
    # Documented for the webhook only: every other forwarded route is reported.
    assert "POST /api/stripe-webhook does not list TENANT_MISMATCH (403)" not in problems
    assert "GET /api/cart does not list TENANT_MISMATCH (403)" in problems
    assert len(problems) == sum(len(rule.methods) for rule in ALLOWLIST) - 1


def test_docs_api_md_lists_every_documented_error_code_with_its_status() -> None:
    table = (code_surface.ROOT / "docs" / "api.md").read_text().split("## Error codes", 1)[1]
    rows = set(re.findall(r"^\| (\d{3}) \| ([^|]+) \|", table, flags=re.MULTILINE))
    listed = {
        (code, int(status)) for status, codes in rows for code in re.findall(r"`([A-Z_]+)`", codes)
    }
    assert set(openapi.documented_answers()) - listed == set()
    assert listed - set(openapi.documented_answers()) == set()


def test_answer_tables_are_read_and_raising_from_them_is_not_unresolved(tmp_path: Path) -> None:
    (tmp_path / "upstream.py").write_text(
        "from checkout_edge_shared.errors import Unavailable\n"
        "TABLE = {OSError: Answer(502, 'ORIGIN_GONE', 'Gone.'),\n"
        "         TimeoutError: Answer(504, 'X', '')}\n"
        "REFUSAL = refusal(431, b'Too Large', 'HEAD_TOO_BIG', 'The head is too large.')\n"
        "def fail(exc: Exception) -> None:\n"
        "    answer = TABLE[type(exc)]\n"
        "    raise Unavailable(answer.message, code=answer.code, status=answer.status)\n"
        "def dynamic(code: str) -> None:\n"
        "    raise Unavailable('?', code=code)\n"
    )
    roots = [code_surface.ROOT / name for name in code_surface.PACKAGES] + [tmp_path]
    surface = code_surface.scan(roots)
    assert ("ORIGIN_GONE", 502) in surface.answers
    assert ("HEAD_TOO_BIG", 431) in surface.answers
    assert ("X", 504) not in surface.answers  # not a code: one word, no underscore
    assert [p.removeprefix(f"{tmp_path}/") for p in surface.unresolved] == [
        "upstream.py:9: code/status not a literal"
    ]


def test_every_example_in_the_document_matches_its_schema() -> None:
    checked = 0
    for (method, path), operation in openapi.operations().items():
        bodies = [("requestBody", operation.get("requestBody", {}))]
        bodies += [(f"responses/{status}", r) for status, r in operation["responses"].items()]
        for where, body in bodies:
            pointer, resolved = (
                openapi.resolve(body["$ref"].removeprefix("#"))
                if "$ref" in body
                else (openapi.pointer_of("paths", path, method.lower(), *where.split("/")), body)
            )
            for media, content in resolved.get("content", {}).items():
                examples = [content["example"]] if "example" in content else []
                examples += [e["value"] for e in content.get("examples", {}).values()]
                schema_pointer = pointer + openapi.pointer_of("content", media, "schema")
                for example in examples:
                    if media == "application/json":
                        errors = openapi.schema_errors(schema_pointer, example)
                        assert errors == [], f"{method} {path} {where}: {errors}"
                        checked += 1
    assert checked > 20

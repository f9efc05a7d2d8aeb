"""The storefront's catalog files, generated from the catalog the origin is seeded with.

``python deploy/storefront_catalog.py [--catalog deploy/demo-catalog.json] [--out DIR]``
writes ``DIR/<shop>/catalog.json`` for every shop of the seed file: the shop's name, type,
currency and checkout mode, and each product's SKU, title, price, deposit, options and
variants. Stock and coupons are left out on purpose (stock changes by the second and is asked
of the platform; coupon codes are for shoppers who were given them).

Invariant: the output is a pure function of the seed file (its order, fixed indentation), so
``make run`` can regenerate it on every start and a test can prove the committed files
are what the seed file says. The prices shown before the cart exists come from here; every
price the shopper pays comes from the platform's cart and checkout answers.

A seed file that is not valid JSON or lacks a field stops the generator with one line naming
it (``SystemExit``), before any file is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CATALOG = ROOT / "deploy" / "demo-catalog.json"
DEFAULT_OUT = ROOT / "deploy" / "storefront" / "shops"
SHOP_FIELDS = ("id", "name", "type", "currency", "checkoutMode")


def _require(obj: dict[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise SystemExit(f"storefront catalog: {where} has no {key!r}")
    return obj[key]


def _options(variants: Sequence[dict[str, str]]) -> dict[str, list[str]]:
    """Each attribute's values in the order the seed file first names them."""
    options: dict[str, list[str]] = {}
    for attributes in variants:
        for name, value in attributes.items():
            values = options.setdefault(name, [])
            if value not in values:
                values.append(value)
    return options


def _product(raw: dict[str, Any], where: str) -> dict[str, Any]:
    variants = [
        {str(k): str(v) for k, v in _require(variant, "attributes", where).items()}
        for variant in _require(raw, "variants", where)
    ]
    return {
        "sku": _require(raw, "sku", where),
        "title": _require(raw, "title", where),
        "price": int(_require(raw, "price", where)),
        "deposit": int(raw.get("deposit", 0)),
        "options": _options(variants),
        "variants": [{"attributes": attributes} for attributes in variants],
    }


def storefront_catalogs(seed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Shop id → the storefront catalog of that shop."""
    catalogs: dict[str, dict[str, Any]] = {}
    for index, shop in enumerate(_require(seed, "shops", "the seed file")):
        where = f"shops[{index}]"
        fields = {name: _require(shop, name, where) for name in SHOP_FIELDS}
        catalogs[fields["id"]] = {"shop": fields, "products": []}
    for index, raw in enumerate(_require(seed, "products", "the seed file")):
        where = f"products[{index}]"
        shop_id = _require(raw, "shopId", where)
        if shop_id not in catalogs:
            raise SystemExit(f"storefront catalog: {where} names unknown shop {shop_id!r}")
        catalogs[shop_id]["products"].append(_product(raw, where))
    return catalogs


def render(catalog: dict[str, Any]) -> str:
    """The exact text written for one shop."""
    return json.dumps(catalog, indent=2, ensure_ascii=False) + "\n"


def generate(catalog_path: Path, out: Path) -> list[Path]:
    """Write every shop's ``catalog.json`` under ``out``; returns the files written."""
    try:
        seed = json.loads(catalog_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"storefront catalog: cannot read {catalog_path}: {exc}") from exc
    written = []
    for shop_id, catalog in storefront_catalogs(seed).items():
        path = out / shop_id / "catalog.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = render(catalog)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    for path in generate(args.catalog, args.out):
        print(f"storefront catalog: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

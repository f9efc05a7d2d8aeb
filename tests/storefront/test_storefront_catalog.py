"""The storefront catalog generator: the committed files are exactly what the seed file says."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.storefront_catalog import DEFAULT_OUT, generate, render, storefront_catalogs
from tests.conftest import ROOT_DIR

DEMO = ROOT_DIR / "deploy" / "demo-catalog.json"


def test_committed_storefront_catalogs_match_the_demo_seed_catalog() -> None:
    seed = json.loads(DEMO.read_text())
    for shop_id, catalog in storefront_catalogs(seed).items():
        committed = (DEFAULT_OUT / shop_id / "catalog.json").read_text()
        assert committed == render(catalog), f"run: python deploy/storefront_catalog.py ({shop_id})"


def test_products_carry_prices_deposits_options_and_variants_but_no_stock_or_coupons(
    tmp_path: Path,
) -> None:
    (cochlearfit, rental) = (json.loads(path.read_text()) for path in generate(DEMO, tmp_path))
    assert cochlearfit["shop"] == {
        "id": "cochlearfit", "name": "CochlearFit", "type": "sale", "currency": "usd",
        "checkoutMode": "hosted",
    }  # fmt: skip
    headband = cochlearfit["products"][0]
    assert (headband["sku"], headband["price"], headband["deposit"]) == ("cf-headband", 3400, 0)
    assert headband["options"] == {
        "size": ["s", "m", "l"],
        "color": ["navy", "black", "sand", "teal"],
    }
    assert len(headband["variants"]) == 12
    assert "stock" not in json.dumps(cochlearfit)
    assert "WELCOME10" not in json.dumps(cochlearfit)
    dress = rental["products"][0]
    assert (dress["price"], dress["deposit"]) == (8900, 25000)
    assert rental["shop"]["checkoutMode"] == "custom"


def test_a_seed_file_change_shows_up_after_regenerating(tmp_path: Path) -> None:
    seed = json.loads(DEMO.read_text())
    seed["products"][0]["price"] = 3900
    changed = tmp_path / "seed.json"
    changed.write_text(json.dumps(seed))
    out = tmp_path / "out"
    command = ["deploy/storefront_catalog.py", "--catalog", str(changed), "--out", str(out)]
    run = subprocess.run(
        [sys.executable, *command], cwd=ROOT_DIR, capture_output=True, text=True, check=True
    )
    assert "cochlearfit/catalog.json" in run.stdout
    catalog = json.loads((out / "cochlearfit" / "catalog.json").read_text())
    assert catalog["products"][0]["price"] == 3900


@pytest.mark.parametrize(
    ("seed", "message"),
    [
        ({"shops": []}, "the seed file has no 'products'"),
        ({"shops": [{"id": "a"}], "products": []}, "shops[0] has no 'name'"),
        (
            {
                "shops": [],
                "products": [
                    {"shopId": "ghost", "sku": "x", "title": "X", "price": 1, "variants": []}
                ],
            },
            "products[0] names unknown shop 'ghost'",
        ),
    ],
)
def test_a_broken_seed_file_stops_with_one_line_naming_the_field(
    seed: dict[str, object], message: str, tmp_path: Path
) -> None:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    with pytest.raises(SystemExit, match=re.escape(message)):
        generate(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()

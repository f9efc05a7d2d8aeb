"""The priced snapshot a hold stores: one serialiser, both ways, and loud on a corrupt row."""

from __future__ import annotations

import pytest

from origin.catalog.pricing import PricedLine, Quote
from origin.catalog.snapshot import SnapshotError, dump_quote, load_quote

QUOTE = Quote(
    currency="usd",
    rental_days=3,
    lines=(
        PricedLine("dress", "dress|size=s", {"size": "s"}, "Dress", 2, 8900, 17800, 500, 1000),
        PricedLine("belt", "belt", {}, "Belt", 1, 1500, 1500, 0, 0),
    ),
    subtotal=19300,
    discount=1930,
    coupon_code="WELCOME10",
    deposit_total=1000,
    total=18370,
)


def test_a_quote_survives_the_storage_round_trip() -> None:
    assert load_quote(dump_quote(QUOTE)) == QUOTE


def test_the_stored_shape_is_the_one_rows_already_hold() -> None:
    stored = dump_quote(QUOTE)
    assert stored["lines"][0] == {
        "sku": "dress", "variantKey": "dress|size=s", "variantAttributes": {"size": "s"},
        "title": "Dress", "quantity": 2, "unitPrice": 8900, "lineTotal": 17800,
        "deposit": 500, "depositTotal": 1000,
    }  # fmt: skip
    assert (stored["couponCode"], stored["rentalDays"], stored["total"]) == ("WELCOME10", 3, 18370)
    # Rows written before the email moved to the intent still load.
    assert load_quote({**stored, "customerEmail": "old@example.com"}) == QUOTE


@pytest.mark.parametrize(
    "broken",
    [{}, {"lines": [{"sku": "x"}]}, {**dump_quote(QUOTE), "lines": "not a list of lines"}],
)
def test_a_snapshot_that_is_not_a_quote_is_refused(broken: dict[str, object]) -> None:
    with pytest.raises(SnapshotError):
        load_quote(broken)

"""Pricing and drift (docs/api.md §3.3 step 1; plan item COM-101, pricing half): pure functions.

The COM-101 test contracts are exercised here on the repricing decision itself; the
checkout's route tests exercise them again end to end.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from checkout_edge_shared.errors import BadRequest, NotFound
from checkout_edge_shared.settings import SettingsError, load_settings
from origin.catalog.drift import (
    Baseline,
    DriftPolicy,
    drift,
    drift_exceeds,
    policy_outcome,
    tolerance,
)
from origin.catalog.line_items import LineRequest
from origin.catalog.lookups import CatalogItem
from origin.catalog.pricing import (
    coupon_discount,
    decide_drift,
    price_changed_error,
    quote,
    reprice,
)
from origin.catalog.variant_keys import format_variant_key
from origin.settings import RepricePolicy, Settings

POLICIES: tuple[RepricePolicy, ...] = ("log_only", "enforce_and_proceed", "enforce_and_reject")


@dataclass
class FakeShop:
    id: str = "testshop"
    type: str = "sale"
    currency: str = "usd"


@dataclass
class FakeCoupon:
    code: str = "X"
    percent_off: int | None = None
    amount_off: int | None = None


def item(sku: str, price: int, deposit: int = 0, title: str = "T") -> CatalogItem:
    return CatalogItem(
        variant_id=1,
        product_id=1,
        sku=sku,
        variant_key=format_variant_key(sku),
        attributes={},
        title=title,
        price=price,
        deposit=deposit,
    )


def line(sku: str, quantity: int) -> LineRequest:
    return LineRequest(sku=sku, attributes={}, variant_key=sku, quantity=quantity)


def policy(mode: RepricePolicy = "enforce_and_proceed", abs_major: str = "0.10") -> DriftPolicy:
    return DriftPolicy(mode=mode, abs_major=Decimal(abs_major), pct=Decimal("0.01"))


CATALOG = {"a": item("a", 3400), "b": item("b", 999, deposit=25000)}


# -- lines, coupons, deposits -------------------------------------------------------------


def test_line_totals_and_subtotal_come_from_the_catalog() -> None:
    q = quote(shop=FakeShop(), lines=[line("a", 2), line("b", 3)], catalog=CATALOG)
    assert [(pl.unit_price, pl.line_total) for pl in q.lines] == [(3400, 6800), (999, 2997)]
    assert (q.subtotal, q.discount, q.deposit_total, q.total) == (9797, 0, 0, 9797)
    assert q.currency == "usd"
    assert q.rental_days == 0


@pytest.mark.parametrize(
    ("subtotal", "percent", "expected"),
    [
        (1005, 10, 101),  # 100.5 rounds half-up
        (1004, 10, 100),  # 100.4 rounds down
        (995, 10, 100),  # 99.5 rounds half-up
        (999, 15, 150),  # 149.85
        (1, 50, 1),  # 0.5 rounds half-up
        (1, 49, 0),
        (3400, 100, 3400),
    ],
)
def test_percent_coupon_rounds_half_up_once_on_the_subtotal(
    subtotal: int, percent: int, expected: int
) -> None:
    assert coupon_discount(subtotal, FakeCoupon(percent_off=percent)) == expected


def test_percent_is_applied_to_the_subtotal_not_per_line() -> None:
    # Per line, 10 % of 5 + 10 % of 5 would round to 1 + 1; on the subtotal it is 1.
    catalog = {"p": item("p", 5), "q": item("q", 5)}
    q = quote(
        shop=FakeShop(),
        lines=[line("p", 1), line("q", 1)],
        catalog=catalog,
        coupon=FakeCoupon(percent_off=10),
    )
    assert q.discount == 1


def test_amount_coupon_never_takes_the_total_below_zero() -> None:
    q = quote(
        shop=FakeShop(),
        lines=[line("a", 1)],
        catalog=CATALOG,
        coupon=FakeCoupon(code="HUGE", amount_off=1_000_000),
    )
    assert (q.subtotal, q.discount, q.total, q.coupon_code) == (3400, 3400, 0, "HUGE")


def test_sale_shops_charge_no_deposit() -> None:
    q = quote(shop=FakeShop(), lines=[line("b", 2)], catalog=CATALOG, rental_days=7)
    assert (q.deposit_total, q.lines[0].deposit, q.rental_days) == (0, 0, 0)


def test_rental_deposit_is_per_unit_and_never_discounted() -> None:
    q = quote(
        shop=FakeShop(type="rental", currency="eur"),
        lines=[line("b", 2)],
        catalog=CATALOG,
        coupon=FakeCoupon(amount_off=1_000_000),
        rental_days=3,
    )
    assert q.lines[0].deposit == 25000
    assert q.lines[0].deposit_total == 50000
    assert (q.subtotal, q.discount, q.deposit_total, q.total) == (1998, 1998, 50000, 50000)


def test_rental_days_are_recorded_not_multiplied() -> None:
    shop = FakeShop(type="rental")
    one = quote(shop=shop, lines=[line("a", 1)], catalog=CATALOG, rental_days=1)
    ninety = quote(shop=shop, lines=[line("a", 1)], catalog=CATALOG, rental_days=90)
    assert one.total == ninety.total == 3400
    assert (one.rental_days, ninety.rental_days) == (1, 90)


@pytest.mark.parametrize("days", [None, 0, 91, -1, True, 2.0, "3"])
def test_rental_shops_need_rental_days_from_1_to_90(days: Any) -> None:
    with pytest.raises(BadRequest, match="rentalDays"):
        quote(shop=FakeShop(type="rental"), lines=[line("a", 1)], catalog=CATALOG, rental_days=days)


def test_a_line_missing_from_the_catalog_is_unknown_sku() -> None:
    with pytest.raises(NotFound) as raised:
        quote(shop=FakeShop(), lines=[line("zzz", 1)], catalog=CATALOG)
    assert raised.value.code == "UNKNOWN_SKU"


def test_quote_json_is_camel_case_integers() -> None:
    q = quote(shop=FakeShop(), lines=[line("a", 1)], catalog=CATALOG)
    body = q.to_json()
    assert body["total"] == 3400
    assert body["lines"][0]["unitPrice"] == 3400
    assert set(body) == {
        "currency",
        "lines",
        "subtotal",
        "discount",
        "couponCode",
        "depositTotal",
        "rentalDays",
        "total",
    }


# -- invariants ----------------------------------------------------------------------------

prices = st.integers(min_value=0, max_value=10_000_000)
coupons = st.one_of(
    st.none(),
    st.builds(FakeCoupon, percent_off=st.integers(1, 100)),
    st.builds(FakeCoupon, amount_off=st.integers(1, 10**9)),
)


@st.composite
def baskets(draw: st.DrawFn) -> tuple[list[LineRequest], dict[str, CatalogItem]]:
    count = draw(st.integers(1, 8))
    catalog = {f"s{i}": item(f"s{i}", draw(prices), deposit=draw(prices)) for i in range(count)}
    lines = [line(f"s{i}", draw(st.integers(1, 999))) for i in range(count)]
    return lines, catalog


@given(baskets(), coupons, st.sampled_from(["sale", "rental"]))
def test_total_is_lines_minus_discount_plus_deposits_and_never_negative(
    basket: tuple[list[LineRequest], dict[str, CatalogItem]],
    coupon: FakeCoupon | None,
    shop_type: str,
) -> None:
    lines, catalog = basket
    q = quote(
        shop=FakeShop(type=shop_type), lines=lines, catalog=catalog, coupon=coupon, rental_days=5
    )
    subtotal = sum(catalog[ln.variant_key].price * ln.quantity for ln in lines)
    deposits = sum(catalog[ln.variant_key].deposit * ln.quantity for ln in lines)
    assert q.subtotal == subtotal == sum(pl.line_total for pl in q.lines)
    assert 0 <= q.discount <= q.subtotal
    assert q.deposit_total == (deposits if shop_type == "rental" else 0)
    assert q.total == q.subtotal - q.discount + q.deposit_total
    assert q.total >= q.deposit_total >= 0
    amounts = [q.subtotal, q.discount, q.deposit_total, q.total]
    amounts += [v for pl in q.lines for v in (pl.unit_price, pl.line_total, pl.deposit_total)]
    assert all(type(v) is int for v in amounts)  # no float on the money path


@given(st.integers(-(10**12), 10**12), st.integers(-(10**12), 10**12))
def test_drift_is_symmetric_and_zero_only_when_equal(a: int, b: int) -> None:
    assert drift(a, b) == drift(b, a) >= 0
    assert (drift(a, b) == 0) == (a == b)


percentages = st.decimals(min_value=0, max_value=1, places=4)


@given(
    st.integers(0, 10**12),
    st.integers(0, 10**12),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    percentages,
    percentages,
)
def test_tolerance_is_monotone_in_total_abs_and_pct(
    t1: int, t2: int, a1: int, a2: int, p1: Decimal, p2: Decimal
) -> None:
    lo_t, hi_t = sorted((t1, t2))
    lo_a, hi_a = sorted((a1, a2))
    lo_p, hi_p = sorted((p1, p2))
    assert tolerance(lo_t, lo_a, lo_p) <= tolerance(hi_t, lo_a, lo_p)
    assert tolerance(lo_t, lo_a, lo_p) <= tolerance(lo_t, hi_a, lo_p)
    assert tolerance(lo_t, lo_a, lo_p) <= tolerance(lo_t, lo_a, hi_p)
    assert tolerance(lo_t, lo_a, lo_p) >= lo_a


@given(st.integers(0, 10**12), st.integers(0, 10**12), st.integers(0, 10**6), percentages)
def test_drift_exceeds_matches_exact_rational_comparison(
    baseline: int, repriced: int, abs_minor: int, pct: Decimal
) -> None:
    exact_tolerance = max(Fraction(abs_minor), Fraction(pct) * repriced)
    assert drift_exceeds(baseline, repriced, abs_minor, pct) == (
        abs(baseline - repriced) > exact_tolerance
    )


def test_tolerance_defaults_are_ten_cents_or_one_percent() -> None:
    p = policy()
    assert tolerance(500, p.abs_minor("usd"), p.pct) == 10  # 1 % of $5 is 5 cents
    assert tolerance(10_000, p.abs_minor("usd"), p.pct) == 100  # 1 % of $100
    assert tolerance(12_345, p.abs_minor("usd"), p.pct) == 123  # 123.45 → drift 124 exceeds
    assert not drift_exceeds(12_345 + 123, 12_345, 10, Decimal("0.01"))
    assert drift_exceeds(12_345 + 124, 12_345, 10, Decimal("0.01"))


# -- policies -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "exceeded", "expected"),
    [
        ("log_only", False, (False, False, False)),
        ("enforce_and_proceed", False, (False, False, False)),
        ("enforce_and_reject", False, (False, False, False)),
        ("log_only", True, (False, False, True)),
        ("enforce_and_proceed", True, (True, False, True)),
        ("enforce_and_reject", True, (True, True, True)),
    ],
)
def test_policy_outcome(mode: RepricePolicy, exceeded: bool, expected: tuple[bool, ...]) -> None:
    assert policy_outcome(mode, exceeded) == expected


def test_expected_total_is_compared_with_the_charged_total() -> None:
    q = quote(
        shop=FakeShop(), lines=[line("a", 1)], catalog=CATALOG, coupon=FakeCoupon(percent_off=10)
    )
    assert q.total == 3060
    decision = decide_drift(
        Baseline.choose(expected_total=3060, price_at_add_total=None), q, policy()
    )
    assert (decision.repriced, decision.drift, decision.exceeded) == (3060, 0, False)


def test_price_at_add_is_compared_with_the_subtotal_not_the_discounted_total() -> None:
    q = quote(
        shop=FakeShop(type="rental"),
        lines=[line("b", 1)],
        catalog=CATALOG,
        coupon=FakeCoupon(percent_off=10),
        rental_days=2,
    )
    baseline = Baseline.choose(expected_total=None, price_at_add_total=999)
    decision = decide_drift(baseline, q, policy())
    assert (decision.repriced, decision.drift, decision.price_changed) == (999, 0, False)


def test_without_a_baseline_nothing_drifts() -> None:
    q = quote(shop=FakeShop(), lines=[line("a", 1)], catalog=CATALOG)
    assert Baseline.choose(expected_total=None, price_at_add_total=None) is None
    decision = decide_drift(None, q, policy("enforce_and_reject"))
    assert (decision.drift, decision.exceeded, decision.reject) == (0, False, False)


def test_expected_total_wins_over_price_at_add() -> None:
    chosen = Baseline.choose(expected_total=100, price_at_add_total=200)
    assert chosen == Baseline(100, "total")


# -- COM-101 (pricing half) ------------------------------------------------------------------


def test_com101_tc01_stale_price_at_add_is_repriced_and_reported_changed() -> None:
    repriced = reprice(
        shop=FakeShop(),
        lines=[line("a", 2)],
        catalog=CATALOG,
        policy=policy("enforce_and_proceed"),
        baseline=Baseline.choose(expected_total=None, price_at_add_total=2 * 2900),
    )
    assert repriced.quote.lines[0].unit_price == 3400
    assert repriced.quote.total == 6800  # the charge is the catalog's, never the cart's
    assert repriced.drift.price_changed is True
    assert repriced.drift.reject is False


@pytest.mark.parametrize("mode", POLICIES)
def test_com101_tc02_drift_within_threshold_proceeds_unchanged(mode: RepricePolicy) -> None:
    # 1 % of $68.00 is 68 cents; a 68-cent drift is within tolerance, 69 is not.
    within = reprice(
        shop=FakeShop(),
        lines=[line("a", 2)],
        catalog=CATALOG,
        policy=policy(mode),
        baseline=Baseline.choose(expected_total=6800 - 68, price_at_add_total=None),
    )
    assert (within.drift.drift, within.drift.tolerance) == (68, 68)
    assert within.drift.price_changed is False
    assert within.drift.reject is False
    assert within.drift.count_metric is False


def test_com101_tc03_drift_beyond_threshold_with_enforce_and_reject_is_409() -> None:
    repriced = reprice(
        shop=FakeShop(),
        lines=[line("a", 2)],
        catalog=CATALOG,
        policy=policy("enforce_and_reject"),
        baseline=Baseline.choose(expected_total=6800 - 69, price_at_add_total=None),
    )
    assert repriced.drift.reject is True
    error = price_changed_error(repriced)
    assert (error.status, error.code) == (409, "PRICE_CHANGED")
    assert error.extra["priceChanged"] is True
    assert error.extra["total"] == 6800
    assert error.extra["lines"][0]["unitPrice"] == 3400


@pytest.mark.parametrize("mode", POLICIES)
def test_com101_tc04_drift_is_counted_under_every_policy(mode: RepricePolicy) -> None:
    repriced = reprice(
        shop=FakeShop(),
        lines=[line("a", 1)],
        catalog=CATALOG,
        policy=policy(mode),
        baseline=Baseline.choose(expected_total=1, price_at_add_total=None),
    )
    assert repriced.drift.count_metric is True
    # log_only counts but does not tell the customer.
    assert repriced.drift.price_changed is (mode != "log_only")


# -- configuration --------------------------------------------------------------------------


def test_policy_from_default_settings(make_origin_settings: Any) -> None:
    p = DriftPolicy.from_settings(make_origin_settings())
    assert p.mode == "enforce_and_proceed"
    assert (p.abs_minor("usd"), p.abs_minor("eur"), p.abs_minor("jpy")) == (10, 10, 0)
    assert p.pct == Decimal("0.01")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("checkout_reprice_policy", "strict"),
        ("checkout_reprice_drift_abs", "-0.10"),
        ("checkout_reprice_drift_abs", "0.001"),
        ("checkout_reprice_drift_abs", "ten"),
        ("checkout_reprice_drift_pct", "1.5"),
        ("checkout_reprice_drift_pct", "-0.01"),
    ],
)
def test_bad_drift_configuration_is_refused_when_settings_are_built(
    make_origin_settings: Any, field: str, value: str
) -> None:
    with pytest.raises(ValidationError):
        make_origin_settings(**{field: value})


def test_bad_drift_configuration_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORIGIN_GATEWAY_TOKEN", "t")
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_x")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_x")
    monkeypatch.setenv("CHECKOUT_REPRICE_DRIFT_PCT", "2")
    with pytest.raises(SettingsError, match="CHECKOUT_REPRICE_DRIFT_PCT"):
        load_settings(Settings)


@pytest.mark.parametrize(
    ("mode", "abs_major", "pct"),
    [("strict", "0.10", "0.01"), ("log_only", "-1", "0.01"), ("log_only", "0.10", "NaN")],
)
def test_drift_policy_refuses_bad_values(mode: Any, abs_major: str, pct: str) -> None:
    with pytest.raises(ValueError, match="CHECKOUT_REPRICE"):
        DriftPolicy(mode=mode, abs_major=Decimal(abs_major), pct=Decimal(pct))

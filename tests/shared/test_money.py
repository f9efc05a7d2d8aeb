"""Money: integer minor units, one currency, exact conversions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checkout_edge_shared.money import CurrencyMismatch, Money, minor_from_major, percent_of


def test_adding_amounts_of_one_currency() -> None:
    assert Money(3400, "usd") + Money(999, "usd") == Money(4399, "usd")
    assert Money(3400, "usd") - Money(5000, "usd") == Money(-1600, "usd")
    assert (Money(3400, "usd") - Money(5000, "usd")).clamp_zero() == Money.zero("usd")
    assert Money(3400, "usd") * 3 == Money(10200, "usd")


def test_currencies_never_mix() -> None:
    with pytest.raises(CurrencyMismatch):
        Money(1, "usd") + Money(1, "eur")


@pytest.mark.parametrize("amount", [1.5, 10.0, "10", True])
def test_amount_must_be_an_int_of_minor_units(amount: object) -> None:
    with pytest.raises(TypeError):
        Money(amount, "usd")  # type: ignore[arg-type]


def test_money_cannot_be_multiplied_by_a_float() -> None:
    with pytest.raises(TypeError):
        Money(100, "usd") * 1.1  # type: ignore[operator]


@pytest.mark.parametrize("currency", ["USD", "us", "usdx", ""])
def test_currency_is_a_lower_case_iso_code(currency: str) -> None:
    with pytest.raises(ValueError, match="currency"):
        Money(1, currency)


@pytest.mark.parametrize(
    ("major", "currency", "minor"),
    [("0.10", "usd", 10), ("12", "usd", 1200), ("0", "eur", 0), ("150", "jpy", 150)],
)
def test_minor_from_major_is_exact(major: str, currency: str, minor: int) -> None:
    assert minor_from_major(major, currency) == minor


@pytest.mark.parametrize(("major", "currency"), [("0.001", "usd"), ("1.5", "jpy"), ("abc", "usd")])
def test_minor_from_major_refuses_what_is_not_whole_minor_units(major: str, currency: str) -> None:
    with pytest.raises(ValueError, match=r"minor unit|decimal"):
        minor_from_major(major, currency)


def test_percent_rounds_half_up_to_a_whole_minor_unit() -> None:
    assert percent_of(9797, Decimal(10)) == 980  # 979.7
    assert percent_of(1005, Decimal(10)) == 101  # 100.5 → up
    assert percent_of(1004, Decimal(10)) == 100  # 100.4 → down


@given(st.integers(0, 10**9), st.integers(0, 100))
def test_percent_is_between_zero_and_the_amount(amount: int, percent: int) -> None:
    assert 0 <= percent_of(amount, Decimal(percent)) <= amount

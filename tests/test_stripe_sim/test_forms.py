"""Nested form decoding, checked against the encoder stripe-python really uses."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.stripe_sim.forms import FormError, decode_form

from .support import encode_like_stripe, session_params


def test_checkout_params_decode_to_what_the_client_sent() -> None:
    params = session_params(expires_at=1_900_000_000)

    decoded = decode_form(encode_like_stripe(params))

    assert decoded["line_items"] == [
        {
            "quantity": "2",
            "price_data": {
                "currency": "usd",
                "unit_amount": "3400",
                "product_data": {"name": "Headband"},
            },
        },
        {
            "quantity": "1",
            "price_data": {
                "currency": "usd",
                "unit_amount": "1500",
                "product_data": {"name": "Deposit", "description": "refundable"},
            },
        },
    ]
    assert decoded["metadata"] == {"shop_id": "cochlearfit", "hold_id": "hold_1", "rentalDays": "0"}
    assert decoded["expires_at"] == "1900000000"


_names = st.from_regex(r"[a-z_]{1,8}", fullmatch=True)
_leaves = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_values = st.recursive(
    _leaves,
    lambda children: (
        st.lists(children, min_size=1, max_size=3)
        | st.dictionaries(_names, children, min_size=1, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_names, _values, max_size=4))
def test_any_nested_params_survive_the_round_trip(params: dict[str, Any]) -> None:
    assert decode_form(encode_like_stripe(params)) == params


def test_empty_brackets_append() -> None:
    assert decode_form("expand[]=line_items&expand[]=payment_intent") == {
        "expand": ["line_items", "payment_intent"]
    }


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ("line_items[1][quantity]=1", "line_items"),
        ("line_items[0][quantity]=1&line_items[2][quantity]=1", "line_items"),
        ("metadata=x&metadata[a]=b", "metadata[a]"),
        ("metadata[a]=b&metadata=x", "metadata"),
        ("a]b=1", "a]b"),
    ],
)
def test_malformed_nesting_is_refused_naming_the_param(body: str, param: str) -> None:
    with pytest.raises(FormError) as raised:
        decode_form(body)
    assert raised.value.param == param

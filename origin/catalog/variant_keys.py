"""``variantKey``: the one textual form of a SKU plus its variant attributes (docs/api.md §3.2).

Format: the SKU, then for each attribute in key order ``|key=value``, keys and values
lower-cased, with ``%``, ``|`` and ``=`` percent-encoded — ``cf-headband|color=navy|size=m``.
Every module that needs a variant key formats or parses it here.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["VariantKeyError", "format_variant_key", "normalize_attributes", "parse_variant_key"]

_ENCODE = {"%": "%25", "|": "%7C", "=": "%3D"}
_DECODE = {"25": "%", "7C": "|", "3D": "="}


class VariantKeyError(ValueError):
    """A variant key or an attribute map that cannot be represented."""


def _check_storable(text: str, what: str) -> None:
    # NUL and lone surrogates cannot be encoded as UTF-8 nor stored in a PostgreSQL text
    # column: letting them through would turn a bad request into a database error.
    if "\x00" in text:
        raise VariantKeyError(f"{what} must not contain NUL characters")
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        raise VariantKeyError(f"{what} must not contain unpaired surrogates")


def _encode(text: str) -> str:
    return "".join(_ENCODE.get(ch, ch) for ch in text)


def _decode(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "%":
            code = text[i + 1 : i + 3].upper()
            if code not in _DECODE:
                raise VariantKeyError(f"bad escape {text[i : i + 3]!r} in variant key")
            out.append(_DECODE[code])
            i += 3
        elif ch in "|=":
            raise VariantKeyError(f"unescaped {ch!r} in variant key part")
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def normalize_attributes(attributes: Mapping[str, object] | None) -> dict[str, str]:
    """Lower-case keys and values; reject non-strings, empty keys and case-duplicates."""
    normalized: dict[str, str] = {}
    for key, value in (attributes or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise VariantKeyError("variant attribute keys and values must be strings")
        _check_storable(key, "variant attribute keys")
        _check_storable(value, "variant attribute values")
        lower = key.lower()
        if not lower:
            raise VariantKeyError("variant attribute keys must not be empty")
        if lower in normalized:
            raise VariantKeyError(f"variant attribute {lower!r} is given twice")
        normalized[lower] = value.lower()
    return dict(sorted(normalized.items()))


def format_variant_key(sku: str, attributes: Mapping[str, object] | None = None) -> str:
    """The canonical key of ``sku`` with ``attributes`` (normalised as above).

    The SKU is not encoded (SKUs are ``[A-Za-z0-9._-]``); one that is empty or contains
    ``|`` would not parse back, so it is refused.
    """
    if not sku or "|" in sku:
        raise VariantKeyError(f"SKU {sku!r} cannot start a variant key")
    _check_storable(sku, "SKUs")
    parts = [sku]
    for key, value in normalize_attributes(attributes).items():
        parts.append(f"{_encode(key)}={_encode(value)}")
    return "|".join(parts)


def parse_variant_key(key: str) -> tuple[str, dict[str, str]]:
    """Inverse of :func:`format_variant_key`: ``parse(format(s, a)) == (s, normalize(a))``.

    Only canonical keys parse (lower-case, attributes in key order, no repeats), except that
    percent escapes may use either hex case, as RFC 3986 allows.
    """
    _check_storable(key, "variant keys")
    sku, *pairs = key.split("|")
    if not sku:
        raise VariantKeyError("variant key has no SKU")
    attributes: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise VariantKeyError(f"variant key part {pair!r} has no '='")
        decoded = _decode(name)
        if not decoded or decoded in attributes:
            raise VariantKeyError(f"variant key attribute {decoded!r} is empty or repeated")
        if decoded != decoded.lower():
            raise VariantKeyError("variant key attributes must be lower-case")
        attributes[decoded] = _decode(value)
    if list(attributes) != sorted(attributes):
        raise VariantKeyError("variant key attributes must be in key order")
    if any(v != v.lower() for v in attributes.values()):
        raise VariantKeyError("variant key values must be lower-case")
    return sku, attributes

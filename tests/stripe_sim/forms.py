"""Decoding of Stripe's form-encoded nested parameters.

stripe-python flattens nested params before sending them (``stripe._encode._api_encode``):
objects as ``metadata[shop_id]=…``, arrays as ``line_items[0][quantity]=…``. Stripe turns them
back into objects and arrays, and so does :func:`decode_form`: a bracketed container whose
keys are all ``0…n-1`` becomes a list, any other becomes a dict. ``key[]=…`` appends.
"""

import re
from collections.abc import Iterable
from typing import TypeAlias
from urllib.parse import parse_qsl

FormValue: TypeAlias = "str | list[FormValue] | dict[str, FormValue]"
Params: TypeAlias = dict[str, FormValue]

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


class FormError(ValueError):
    """The body cannot be read as Stripe parameters; ``param`` names the culprit."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


class _Branch(dict[str, "_Branch | str"]):
    """A container still being filled: whether it is a list is known only at the end."""


def decode_form(raw: bytes | str) -> Params:
    """Decode an ``application/x-www-form-urlencoded`` body or query string."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise FormError("The request body is not valid UTF-8.", "") from exc
    return decode_pairs(parse_qsl(text, keep_blank_values=True))


def decode_pairs(pairs: Iterable[tuple[str, str]]) -> Params:
    """Build nested params from flat ``(key, value)`` pairs, in order."""
    root = _Branch()
    for key, value in pairs:
        _insert(root, _split_key(key), value, key)
    return {name: _finish(node, name) for name, node in root.items()}


def _split_key(key: str) -> list[str]:
    match = _KEY.match(key)
    if match is None:
        raise FormError(f"Invalid parameter name: {key}", key)
    return [match.group(1), *_SEGMENT.findall(match.group(2))]


def _insert(root: _Branch, path: list[str], value: str, key: str) -> None:
    node = root
    for depth, segment in enumerate(path):
        name = segment if segment != "" else str(len(node))
        last = depth == len(path) - 1
        existing = node.get(name)
        if last:
            if isinstance(existing, _Branch):
                raise FormError(f"Invalid value for {key}: it is also given nested params.", key)
            # A repeated flat key keeps its last value, as Rack and Stripe do.
            node[name] = value
            return
        if existing is None:
            existing = node[name] = _Branch()
        elif not isinstance(existing, _Branch):
            raise FormError(f"Invalid value for {key}: it is also given as a plain value.", key)
        node = existing


def _finish(node: "_Branch | str", param: str) -> FormValue:
    if isinstance(node, str):
        return node
    children = {name: _finish(child, f"{param}[{name}]") for name, child in node.items()}
    if children and all(name.isdigit() for name in children):
        indexes = sorted(int(name) for name in children)
        if indexes != list(range(len(indexes))) or any(name != str(int(name)) for name in children):
            raise FormError("Invalid array", param)
        return [children[str(index)] for index in indexes]
    return children

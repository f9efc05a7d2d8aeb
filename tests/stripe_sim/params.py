"""Reading decoded parameters the way Stripe validates them.

A :class:`ParamReader` wraps one object of params and answers typed values, raising the
Stripe-shaped error that names the full parameter path (``line_items[0][quantity]``) when a
value is missing, malformed or unknown. An empty string counts as absent, as in Stripe's
form encoding where ``key=`` means "unset".
"""

import re
from collections.abc import Collection, Mapping

from .errors import invalid_integer, invalid_request, missing_param, unknown_param
from .forms import FormValue

_INTEGER = re.compile(r"^-?\d+$")


class ParamReader:
    """Typed access to one params object at ``prefix``."""

    def __init__(self, values: Mapping[str, FormValue], prefix: str = "") -> None:
        self._values = values
        self._prefix = prefix

    def path(self, name: str) -> str:
        """The full parameter name of ``name``, as Stripe reports it."""
        return f"{self._prefix}[{name}]" if self._prefix else name

    def has(self, name: str) -> bool:
        """Whether ``name`` was sent with a non-empty value."""
        return self._raw(name) is not None

    def reject_unknown(self, known: Collection[str]) -> None:
        """Fail on the first parameter that is not in ``known``."""
        for name in self._values:
            if name not in known:
                raise unknown_param(self.path(name))

    def reject_present(self, names: Mapping[str, str]) -> None:
        """Fail when any of ``names`` is sent; the mapping gives the reason shown."""
        for name, reason in names.items():
            if self.has(name):
                raise invalid_request(reason, param=self.path(name))

    def string(self, name: str, *, required: bool = False) -> str | None:
        """A string value, or ``None`` when absent and optional."""
        raw = self._raw(name)
        if raw is None:
            if required:
                raise missing_param(self.path(name))
            return None
        if not isinstance(raw, str):
            raise invalid_request(f"Invalid string: {_describe(raw)}", param=self.path(name))
        return raw

    def required_string(self, name: str) -> str:
        """A string value that must be present."""
        value = self.string(name, required=True)
        assert value is not None  # string() raised otherwise
        return value

    def integer(
        self, name: str, *, required: bool = False, minimum: int | None = None
    ) -> int | None:
        """An integer value (digits only, like Stripe), checked against ``minimum``."""
        raw = self.string(name, required=required)
        if raw is None:
            return None
        if not _INTEGER.match(raw):
            raise invalid_integer(self.path(name), raw)
        value = int(raw)
        if minimum is not None and value < minimum:
            raise invalid_request(
                f"This value must be greater than or equal to {minimum}.", param=self.path(name)
            )
        return value

    def choice(self, name: str, choices: Collection[str], *, default: str) -> str:
        """One of ``choices``, or ``default`` when absent."""
        value = self.string(name)
        if value is None:
            return default
        if value not in choices:
            raise invalid_request(
                f"Invalid {self.path(name)}: must be one of {_one_of(choices)}",
                param=self.path(name),
            )
        return value

    def obj(self, name: str) -> "ParamReader | None":
        """A nested object, or ``None`` when absent."""
        raw = self._raw(name)
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise invalid_request("Invalid object", param=self.path(name))
        return ParamReader(raw, self.path(name))

    def objects(self, name: str) -> list["ParamReader"]:
        """An array of objects (empty when absent)."""
        raw = self._raw(name)
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise invalid_request("Invalid array", param=self.path(name))
        readers = []
        for index, item in enumerate(raw):
            item_path = f"{self.path(name)}[{index}]"
            if not isinstance(item, dict):
                raise invalid_request("Invalid object", param=item_path)
            readers.append(ParamReader(item, item_path))
        return readers

    def strings(self, name: str) -> list[str]:
        """An array of strings (empty when absent), e.g. ``expand``."""
        raw = self._raw(name)
        if raw is None:
            return []
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            raise invalid_request("Invalid array", param=self.path(name))
        return [item for item in raw if isinstance(item, str)]

    def string_map(self, name: str) -> dict[str, str]:
        """An object of string values, e.g. ``metadata``; empty values mean "unset"."""
        reader = self.obj(name)
        if reader is None:
            return {}
        result: dict[str, str] = {}
        for key in reader._values:
            value = reader.string(key)
            if value is not None:
                result[key] = value
        return result

    def _raw(self, name: str) -> "FormValue | None":
        raw = self._values.get(name)
        if raw is None or raw == "":
            return None
        return raw


def _describe(value: FormValue) -> str:
    return "array" if isinstance(value, list) else "object"


def _one_of(choices: Collection[str]) -> str:
    names = list(choices)
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + ", or " + names[-1]

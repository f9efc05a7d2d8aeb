"""API versions, as far as they change what the stand-in accepts and answers.

Stripe renamed every Checkout Session ``ui_mode`` in API version ``2026-03-25.dahlia``:
``hosted`` → ``hosted_page``, ``embedded`` → ``embedded_page``, ``custom`` → ``elements``, and
the old names are refused from that version on (changelog "Updates Checkout Session UI mode
enum values"). The stand-in stores the mode version-free (:class:`UiMode`) and names it for
the version of each request, so one session reads correctly under either version.
"""

import enum
import re
from dataclasses import dataclass
from datetime import date

from .errors import invalid_request

#: The version stripe-python 16.1 pins; used when a request carries no Stripe-Version header.
DEFAULT_API_VERSION = "2026-10-28.endive"
UI_MODES_RENAMED_ON = date(2026, 3, 25)

_VERSION = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:\.[a-z]+)?$")


class UiMode(enum.Enum):
    """A Checkout Session UI mode, independent of what an API version calls it."""

    HOSTED = "hosted"
    EMBEDDED = "embedded"
    ELEMENTS = "elements"  # embedded components; "custom" before the rename


_NAMES_BEFORE = {UiMode.HOSTED: "hosted", UiMode.EMBEDDED: "embedded", UiMode.ELEMENTS: "custom"}
_NAMES_FROM = {
    UiMode.HOSTED: "hosted_page",
    UiMode.EMBEDDED: "embedded_page",
    UiMode.ELEMENTS: "elements",
}


@dataclass(frozen=True)
class ApiVersion:
    """One API version, e.g. ``2026-10-28.endive``."""

    name: str
    released: date

    def ui_mode_names(self) -> dict[UiMode, str]:
        """What this version calls each UI mode."""
        return _NAMES_FROM if self.released >= UI_MODES_RENAMED_ON else _NAMES_BEFORE

    def ui_mode_name(self, mode: UiMode) -> str:
        """The ``ui_mode`` value this version answers for ``mode``."""
        return self.ui_mode_names()[mode]

    def parse_ui_mode(self, name: str, *, param: str = "ui_mode") -> UiMode:
        """The mode named ``name`` in this version; other versions' names are refused."""
        for mode, known in self.ui_mode_names().items():
            if known == name:
                return mode
        names = list(self.ui_mode_names().values())
        hint = ""
        if name in _NAMES_BEFORE.values() or name in _NAMES_FROM.values():
            hint = (
                f" ('{name}' is the name used by API versions "
                f"{'before' if name in _NAMES_BEFORE.values() else 'from'} 2026-03-25; this "
                f"request uses API version {self.name})"
            )
        raise invalid_request(
            f"Invalid {param}: must be one of {', '.join(names[:-1])}, or {names[-1]}{hint}",
            param=param,
        )


def parse_api_version(header: str | None, default: str) -> ApiVersion:
    """The version of a request: its ``Stripe-Version`` header, else the account default.

    Beta suffixes (``2025-03-31.basil; some_beta=v1``) are accepted and ignored.
    """
    name = (header or default).split(";")[0].strip()
    match = _VERSION.match(name)
    if match is None:
        raise invalid_request(f"Invalid Stripe API version: {name}")
    try:
        released = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError as exc:
        raise invalid_request(f"Invalid Stripe API version: {name}") from exc
    return ApiVersion(name=name, released=released)

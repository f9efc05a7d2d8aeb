"""Settings base for both services.

Every service has one ``Settings`` class deriving from :class:`BaseServiceSettings`.
:func:`load_settings` builds it from the environment and turns a validation failure into
one line naming the variable, so an operator sees ``DATABASE_URL: ...`` rather than a
pydantic traceback. Every secret may come from a file instead (``NAME_FILE``, see
:mod:`checkout_edge_shared.secrets`); that source ranks above the plain variables.
"""

from __future__ import annotations

import sys
from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from checkout_edge_shared.secrets import SecretFileError, SecretFilesSource

__all__ = ["BaseServiceSettings", "SettingsError", "load_settings", "settings_or_exit"]


class SettingsError(Exception):
    """A required variable is missing or malformed; the message is one line naming it."""


class BaseServiceSettings(BaseSettings):
    """Reads plain environment variables (no prefix); unknown variables are ignored."""

    model_config = SettingsConfigDict(
        case_sensitive=False,
        extra="ignore",
        frozen=True,
        env_ignore_empty=False,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit arguments (tests, create_app(settings)) first, then NAME_FILE, then NAME.
        return (init_settings, SecretFilesSource(settings_cls), env_settings)


S = TypeVar("S", bound=BaseServiceSettings)


def describe_validation_error(exc: ValidationError) -> str:
    """One line: ``VARIABLE: reason`` for the first failing field (others appended)."""
    parts = []
    for error in exc.errors():
        name = ".".join(str(p) for p in error["loc"]).upper() or "SETTINGS"
        message = error["msg"]
        if error["type"] == "missing":
            message = "required but not set"
        parts.append(f"{name}: {message}")
    return "invalid configuration: " + "; ".join(parts)


def settings_or_exit(cls: type[S], service: str) -> S:
    """``cls`` from the environment, or one line naming the variable and exit status 1.

    For ``create_app`` under ``uvicorn --factory``, which would print a traceback for any
    other exception.
    """
    try:
        return load_settings(cls)
    except SettingsError as exc:
        print(f"{service}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def load_settings(cls: type[S]) -> S:
    """Build ``cls`` from the environment or raise :class:`SettingsError` with one line."""
    try:
        return cls()
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None
    except SecretFileError as exc:
        raise SettingsError(f"invalid configuration: {exc}") from None

"""Secrets for both services: where they come from, how tokens are parsed and compared.

Owns three things, so the gateway and the origin cannot drift apart:

- ``NAME_FILE``: every secret setting ``NAME`` (each ``SecretStr`` field, plus the fields a
  settings class lists in ``file_settings`` such as database URLs with passwords) may instead
  name a file holding the value — what Kubernetes and compose mount as secrets, and how the
  launcher passes them, so no secret is ever on a command line. The file is read once at
  start-up; surrounding whitespace (the trailing newline of ``echo … > file``) is dropped.
- :func:`parse_tokens`: a token list is comma-separated (several during a rotation), no item
  empty, each visible ASCII without spaces (safe in a header, compared as bytes).
- :func:`token_matches` / :func:`bearer_matches`: constant-time comparison against every
  accepted token, never short-circuiting.

How it fails: ``NAME`` and ``NAME_FILE`` both set, or a file that cannot be read, is not UTF-8
or is larger than 64 KiB, raises :class:`SecretFileError` with one line naming the variable
(:func:`checkout_edge_shared.settings.load_settings` turns it into the usual start-up error).
Rotation and
the deployment side are described in docs/deploy.md.
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

__all__ = [
    "MAX_SECRET_FILE_BYTES",
    "SecretFileError",
    "SecretFilesSource",
    "bearer_matches",
    "parse_tokens",
    "read_secret_file",
    "secret_field_names",
    "token_matches",
]

MAX_SECRET_FILE_BYTES = 64 * 1024
_TOKEN = re.compile(r"[\x21-\x7e]+")


class SecretFileError(Exception):
    """A ``*_FILE`` variable is unusable; the message is one line naming it."""


def read_secret_file(variable: str, path: str) -> str:
    """The secret in the file ``path`` names (``variable`` is only for the error line)."""
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_SECRET_FILE_BYTES + 1)
    except OSError as exc:
        raise SecretFileError(f"{variable}: cannot read {path!r} ({exc.strerror})") from None
    if len(raw) > MAX_SECRET_FILE_BYTES:
        raise SecretFileError(f"{variable}: {path!r} is larger than {MAX_SECRET_FILE_BYTES} bytes")
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise SecretFileError(f"{variable}: {path!r} is not UTF-8 text") from None


def _is_secret(field: FieldInfo) -> bool:
    annotation = field.annotation
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())


def secret_field_names(settings_cls: type[BaseSettings]) -> tuple[str, ...]:
    """The fields of ``settings_cls`` that accept a ``NAME_FILE`` variable."""
    listed: frozenset[str] = getattr(settings_cls, "file_settings", frozenset())
    return tuple(
        name
        for name, field in settings_cls.model_fields.items()
        if _is_secret(field) or name in listed
    )


class SecretFilesSource(PydanticBaseSettingsSource):
    """pydantic-settings source: the values of ``NAME_FILE`` variables, above plain ``NAME``."""

    def __init__(
        self, settings_cls: type[BaseSettings], environ: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(settings_cls)
        # Variable names are matched case-insensitively, like the settings themselves.
        source = os.environ if environ is None else environ
        self._environ = {key.upper(): value for key, value in source.items()}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # Required by the base class; __call__ does the work for all fields at once.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in secret_field_names(self.settings_cls):
            variable = name.upper()
            path = self._environ.get(f"{variable}_FILE")
            if path is None:
                continue
            if variable in self._environ:
                raise SecretFileError(
                    f"{variable}: set either {variable} or {variable}_FILE, not both"
                )
            values[name] = read_secret_file(f"{variable}_FILE", path)
        return values


def parse_tokens(raw: str, *, several: bool) -> tuple[str, ...]:
    """The accepted tokens in ``raw``; ``ValueError`` (a settings error) when malformed."""
    tokens = [t.strip() for t in raw.split(",")] if several else [raw]
    if not tokens or any(not t for t in tokens):
        raise ValueError("must not be empty" + (" (nor hold an empty item)" if several else ""))
    if any(not _TOKEN.fullmatch(t) for t in tokens):
        raise ValueError("must be visible ASCII characters without spaces")
    return tuple(tokens)


def token_matches(presented: bytes, accepted: Sequence[bytes]) -> bool:
    """Constant-time comparison against every accepted token (rotation holds several)."""
    matched = False
    for token in accepted:
        # No short-circuit: the time taken does not tell which token (if any) matched.
        matched |= hmac.compare_digest(presented, token)
    return matched


def bearer_matches(authorization: bytes, token: bytes) -> bool:
    """``Authorization: Bearer <token>`` exactly, compared in constant time."""
    return hmac.compare_digest(authorization, b"Bearer " + token)

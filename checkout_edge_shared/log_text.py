"""The compact human log line, for ``LOG_FORMAT=text`` (what ``make run`` shows).

One line per record: ``HH:MM:SS LEVEL  logger: message key=value …``, the request id
and any ``extra=`` fields appended; uvicorn's access records read as ``METHOD path status``.
It carries the same fields as the JSON line (``checkout_edge_shared/logs.py``), in local
time, without escape codes; a record with an exception adds the traceback below, as logging does.
Production keeps JSON (the default): one object per line is what log shippers parse.
"""

from __future__ import annotations

import logging
import time
from typing import Any

__all__ = ["TextFormatter"]

# uvicorn's logger names, shortened: the launcher's prefix already names the process.
_SHORT = {"uvicorn.error": "uvicorn", "uvicorn.access": "access"}


class TextFormatter(logging.Formatter):
    def __init__(self, standard: set[str], context: Any) -> None:
        """``standard``: record attributes that are not fields; ``context()``: request fields."""
        super().__init__()
        self.standard = standard
        self.context = context

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        message = record.getMessage()
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            client, method, path, _version, status = args
            message = f"{method} {path} {status} ({client})"
        fields: dict[str, Any] = dict(self.context())
        for key, value in vars(record).items():
            if key not in self.standard and not key.startswith("_"):
                fields[key] = value
        extras = "".join(f" {key}={value}" for key, value in fields.items())
        line = f"{stamp} {record.levelname:<7}{_SHORT.get(record.name, record.name)}: {message}"
        line += extras
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line

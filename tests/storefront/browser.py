"""Debian's Chromium driven by Playwright, and a watch over what each page does.

Playwright's own browser download is never used (``playwright install`` is not run): the
suite launches the ``chromium`` package's binary through ``executable_path``. When it is
missing the run stops at start-up with one line (``tests/support/tools.py``).

:class:`PageWatch` records console errors, uncaught exceptions, failed requests, answers of
400 and above, and every URL a page asks for; :meth:`PageWatch.assert_clean` fails a test on
anything the test did not provoke, and on any request leaving this machine.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import ConsoleMessage, Page, Request, Response

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = ("127.0.0.1", "localhost")


def chromium_path() -> str:
    """The Debian package's browser (the tool check stops the run when it is absent)."""
    return shutil.which("chromium") or "/usr/bin/chromium"


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "about", "blob"):
        return True
    host = parts.hostname or ""
    return host in LOCAL_HOSTS or host.endswith(".localhost")


@dataclass
class PageWatch:
    """Everything a page did that a clean run must not do, unless the test provoked it."""

    name: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    error_answers: list[tuple[int, str]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # the error answers, for messages

    def attach(self, page: Page) -> Page:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("requestfailed", self._request_failed)
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("response", self._response)
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} @ {message.location.get('url', '')}")

    def _request_failed(self, request: Request) -> None:
        # ERR_ABORTED is the browser cancelling a request because the page navigated away
        # (a click while the header's cart count is still loading): not a failure.
        if request.failure != "net::ERR_ABORTED":
            self.failed.append(f"{request.method} {request.url}: {request.failure}")

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.error_answers.append((response.status, urlsplit(response.url).path))
            self.details.append(f"{response.status} {response.request.method} {response.url}")

    def assert_clean(self, provoked: Iterable[tuple[int, str]] = ()) -> None:
        """Only the answers in ``provoked`` (status, path) may have failed, each as listed."""
        expected = sorted(provoked)
        assert sorted(self.error_answers) == expected, (self.name, self.details)
        # Chromium logs each non-2xx fetch as a console error naming its URL: those of the
        # provoked answers are expected, any other console error is a defect.
        unexplained = [
            text
            for text in self.console_errors
            if not any(f"status of {status}" in text and path in text for status, path in expected)
        ]
        assert unexplained == [], (self.name, unexplained)
        assert self.page_errors == [], (self.name, self.page_errors)
        assert self.failed == [], (self.name, self.failed)
        outside = [url for url in self.urls if not _is_local(url)]
        assert outside == [], (self.name, "requests leaving this machine", outside)


def screenshot(page: Page, directory: Path, name: str) -> Path:
    """A full-page PNG under the test's output directory."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

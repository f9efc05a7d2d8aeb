"""docs/api/index.html renders docs/openapi.yaml with nothing from the network."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from tests.support import api_page
from tests.support.openapi import operations

INDEX = api_page.PAGE_DIR / "index.html"
_REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def test_every_asset_the_page_references_is_a_local_file() -> None:
    references = _REFERENCE.findall(INDEX.read_text())
    assert {"openapi.js", "redoc.standalone.js"} <= set(references)
    for reference in references:
        assert not re.match(r"^([a-z]+:)?//", reference), f"{reference} is not local"
        assert (api_page.PAGE_DIR / reference).is_file(), f"{reference} is missing"


def test_the_embedded_document_is_the_current_openapi_yaml() -> None:
    assert api_page.SCRIPT.read_text() == api_page.render(), "run `make api-docs`"


def test_the_page_renders_every_operation_offline(tmp_path: Path) -> None:
    """Chromium with every network request sent to a dead proxy still renders the page."""
    browser = shutil.which("chromium")
    assert browser is not None
    command = [
        browser, "--headless", "--no-sandbox", "--disable-gpu",
        "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
        f"--user-data-dir={tmp_path}", "--virtual-time-budget=10000",
        "--dump-dom", INDEX.as_uri(),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=90, check=True)
    dom = result.stdout
    for operation in operations().values():
        assert operation["summary"] in dom, f"{operation['summary']!r} not rendered"

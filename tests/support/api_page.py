"""``docs/api/openapi.js``: the API document as JavaScript for the offline page.

``docs/api/index.html`` renders the document with the vendored Redoc bundle. Browsers do not
let a page opened from ``file://`` fetch a sibling file, so the document is embedded as a
script instead: ``window.CHECKOUT_EDGE_OPENAPI = {…};``. ``make api-docs`` writes it from
``docs/openapi.yaml`` (the source of truth); a test fails when the two differ.

    python -m tests.support.api_page        # rewrite docs/api/openapi.js
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.support.openapi import DOCUMENT, ROOT

PAGE_DIR = ROOT / "docs" / "api"
SCRIPT = PAGE_DIR / "openapi.js"


def render(document: Path = DOCUMENT) -> str:
    data = yaml.safe_load(document.read_text())
    data.pop("x-header-sets", None)  # YAML anchors, already expanded where they are used
    body = json.dumps(data, indent=1, ensure_ascii=False)
    return (
        "// Written by `make api-docs` from docs/openapi.yaml; do not edit.\n"
        f"window.CHECKOUT_EDGE_OPENAPI = {body};\n"
    )


def main() -> None:
    SCRIPT.write_text(render())
    print(f"wrote {SCRIPT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

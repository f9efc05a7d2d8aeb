"""Throw-away TLS material for tests that run real TLS servers (openssl CLI, one day valid)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path


def make_certificates(directory: Path, names: Sequence[str] = ("server",)) -> Path:
    """``ca.pem``/``ca.key``, a CA, and per name ``<name>.pem``/``<name>.key``, a certificate it
    signed for localhost and 127.0.0.1 (usable by a server or as a client certificate)."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "1", "-subj", "/CN=checkout-edge test CA",
    )  # fmt: skip
    (directory / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name in names:
        openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", f"/CN={name}",
        )  # fmt: skip
        openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "1", "-extfile", "san.ext",
        )  # fmt: skip
    return directory

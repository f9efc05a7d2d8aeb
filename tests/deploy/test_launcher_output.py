"""The launcher's output: every line prefixed, coloured per process only on a terminal."""

from __future__ import annotations

import io
import os

import pytest

from deploy.local_stack.output import Output


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _feed(output: Output, lines: dict[str, bytes]) -> None:
    for name, data in lines.items():
        read, write = os.pipe()
        os.write(write, data)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            output.follow(name, pipe)
            output.drain()


def test_piped_output_is_plain_prefixed_and_free_of_escape_codes() -> None:
    stream = io.StringIO()
    output = Output(["origin", "gateway"], stream)
    _feed(output, {"origin": b"one\n\x1b[32mINFO\x1b[0m two\nno newline", "gateway": b"three\n"})
    output.say("banner")
    assert stream.getvalue().splitlines() == [
        "origin  │ one",
        "origin  │ INFO two",
        "origin  │ no newline",
        "gateway │ three",
        "run     │ banner",
    ]


def test_on_a_terminal_each_process_has_its_own_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    stream = _Terminal()
    output = Output(["origin", "gateway"], stream)
    _feed(output, {"origin": b"a\n", "gateway": b"b\n"})
    origin, gateway = stream.getvalue().splitlines()
    assert origin == "\x1b[36morigin \x1b[0m │ a"
    assert gateway == "\x1b[35mgateway\x1b[0m │ b"


def test_no_color_keeps_a_terminal_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    stream = _Terminal()
    output = Output(["origin"], stream)
    output.say("x")
    assert stream.getvalue() == "run    │ x\n"

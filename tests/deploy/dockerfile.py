"""A small reader for deploy/Dockerfile: stages and their instructions, for the tests.

Enough of the Dockerfile syntax for our own file: comments, line continuations, ``FROM … AS
name`` and one instruction per logical line. Not a general parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.arguments for i in self.instructions if i.keyword == keyword]


def logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not current):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    return [line for line in lines if line]


def stages(path: Path) -> list[Stage]:
    """The build stages in order (instructions before the first FROM are dropped)."""
    found: list[Stage] = []
    for line in logical_lines(path.read_text()):
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = arguments.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(found))
            found.append(Stage(name=name, base=words[0]))
        elif found:
            found[-1].instructions.append(Instruction(keyword, arguments.strip()))
    return found

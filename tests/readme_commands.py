"""The README's runnable commands, read out of README.md exactly as a user copies them.

A command block counts when the line before it (blank lines aside) is `<!-- runs as shown -->`: an
indented block (four or more spaces) or a fenced one, each line one command, a line ending in a
backslash continued on the next. `checkout_copy` gives them the layout they assume: the checkout as
the working folder and `../shared/reference/` beside it.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARK = "<!-- runs as shown -->"


@dataclass(frozen=True)
class Command:
    """One README command: its text as printed, the README line it starts on and its section."""
    text: str
    line: int
    section: str


def _block(lines: list[str], start: int) -> list[tuple[int, str]]:
    """The code lines of the block that begins at or after `start`, as (line number, text)."""
    index = start
    while index < len(lines) and not lines[index].strip():
        index += 1
    found: list[tuple[int, str]] = []
    if index < len(lines) and lines[index].lstrip().startswith("```"):
        index += 1
        while index < len(lines) and not lines[index].lstrip().startswith("```"):
            found.append((index + 1, lines[index].strip()))
            index += 1
        return [item for item in found if item[1]]
    while index < len(lines) and (lines[index].startswith("    ") or not lines[index].strip()):
        if lines[index].strip():
            found.append((index + 1, lines[index].strip()))
        elif index + 1 < len(lines) and not lines[index + 1].startswith("    "):
            break
        index += 1
    return found


def readme_commands(readme: Path = README) -> list[Command]:
    """Every command of every marked block, in README order, continuation lines joined."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    section = ""
    commands: list[Command] = []
    for number, line in enumerate(lines):
        if re.match(r"#{2,4} ", line):
            section = line.lstrip("#").strip()
        if line.strip() != MARK:
            continue
        pending: tuple[int, str] | None = None
        for block_line, block_text in _block(lines, number + 1):
            line_number, text = block_line, block_text
            if pending is not None:
                line_number, text = pending[0], pending[1] + " " + text
            if text.endswith("\\"):
                pending = (line_number, text[:-1].rstrip())
                continue
            pending = None
            commands.append(Command(text, line_number, section))
    return commands


def checkout_copy(folder: Path, reference_dir: Path) -> Path:
    """A folder laid out as the README assumes (the checkout's entries linked, `../shared/reference`
    beside it), so commands run verbatim and write their outputs there, not into the checkout."""
    checkout = folder / "checkout"
    (folder / "shared").mkdir(parents=True)
    (folder / "shared" / "reference").symlink_to(reference_dir, target_is_directory=True)
    checkout.mkdir()
    for entry in ROOT.iterdir():
        if entry.name != ".git":
            (checkout / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    return checkout


def run_command(command: Command, checkout: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run one command with bash in `checkout`, the way a user's shell would, this Python first on PATH.
    $HRTRACK_HOME is the session's shared one of the OpenVINO tests (pytest's base folder, `checkout`'s
    grandparent), so a model converted once serves every command."""
    environment = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                       PYTHONPATH=str(checkout), HRTRACK_HOME=str(checkout.parents[1] / "openvino_home"))
    return subprocess.run(["bash", "-c", command.text], cwd=checkout, env=environment, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)

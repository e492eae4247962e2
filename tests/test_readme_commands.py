"""Every README command said to run as shown runs, exactly as written, from a checkout with the
reference data beside it: exit 0, no traceback, and the outputs it names exist."""
from __future__ import annotations

import re

import pytest
from readme_commands import Command, checkout_copy, readme_commands, run_command  # tests/readme_commands.py

OWN_TESTS = {"Submitting to PoseTrack": "tests/test_posetrack_readme.py"}  # sections checked in more detail there


def _sections() -> dict[str, list[Command]]:
    found: dict[str, list[Command]] = {}
    for command in readme_commands():
        found.setdefault(command.section, []).append(command)
    return found


def test_the_readme_marks_its_runnable_commands():
    sections = _sections()
    assert "Try it without downloads" in sections and "Submitting to PoseTrack" in sections
    for commands in sections.values():
        for command in commands:
            assert not re.search(r"\[|\.\.\.|\bFILE\b|\bDIR\b", command.text), \
                f"README.md:{command.line} is marked runnable but holds a placeholder: {command.text}"


@pytest.mark.parametrize("section", sorted(set(_sections()) - set(OWN_TESTS)))
def test_section_commands_run_as_written(section, reference_dir, tmp_path):
    checkout = checkout_copy(tmp_path, reference_dir)
    for command in _sections()[section]:
        result = run_command(command, checkout)
        where = f"README.md:{command.line} `{command.text}`"
        assert result.returncode == 0, f"{where} exited {result.returncode}:\n{result.stderr[-2000:]}"
        assert "Traceback" not in result.stderr, f"{where}:\n{result.stderr[-2000:]}"
        for output in re.findall(r"(?:-o|--output)\s+(\S+)", command.text):
            written = checkout / output
            assert written.exists() and (not written.is_dir() or any(written.iterdir())), \
                f"{where} did not write {output}"

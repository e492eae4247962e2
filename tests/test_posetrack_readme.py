"""The README's "Submitting to PoseTrack" commands, run as written on the reference case they name,
print what the README says they print."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from eval.__main__ import main

README = Path(__file__).resolve().parents[1] / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else None]


def test_submitting_commands_run_and_print_what_the_readme_says(reference_dir, tmp_path, monkeypatch, capsys):
    section = _section("Submitting to PoseTrack")
    commands = [line.strip() for line in section.splitlines() if line.startswith("       python -m ")]
    assert [shlex.split(command)[3] for command in commands] == ["sweep", "posetrack", "prune", "check-submission"]
    monkeypatch.chdir(tmp_path)
    printed = []
    for command in commands:
        argv = shlex.split(command.replace("../shared/reference", str(reference_dir)))
        assert argv[:3] == ["python", "-m", "eval"]
        assert main(argv[3:]) == 0, command
        printed.append(capsys.readouterr().out)
    claims = re.findall(r"`(best [^`]+|\d+ file\(s\) checked: ready to upload\.)`", section)
    assert len(claims) == 3
    for claim in claims:
        assert claim in printed[0] + printed[3], claim
    best = json.loads((tmp_path / "sweep.json").read_text())["best"]["MOTA"]["kpt_thr"]
    assert f"best MOTA: 51.9 at kpt-thr {best:g}" in section  # the threshold the later commands use
    assert all(f"--kpt-thr {best:g} " in f"{command} " for command in commands[1:3])

"""The README's "Submitting to PoseTrack" commands, read out of README.md and run exactly as written
on the reference case they name, print what the README says they print and leave an upload zip of
the files checked."""
from __future__ import annotations

import json
import re
import shlex
import zipfile

from readme_commands import README, checkout_copy, readme_commands, run_command  # tests/readme_commands.py

SECTION = "Submitting to PoseTrack"


def _section_text() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {SECTION}\n")
    end = text.find("\n### PoseTrack21\n", start)  # its part PoseTrack21 has its own claims and test
    end = end if end >= 0 else text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else None]


def test_submitting_commands_run_and_print_what_the_readme_says(reference_dir, tmp_path):
    commands = [command for command in readme_commands() if command.section == SECTION]
    words = [shlex.split(command.text) for command in commands]
    steps = [" ".join(command[command.index("-m") + 1:][:2]) for command in words]
    assert steps == ["tracker.run --posetrack", "eval check-submission", "eval sweep", "eval posetrack",
                     "eval prune", "eval check-submission", "zipfile -c"]
    checkout = checkout_copy(tmp_path, reference_dir)
    printed = []
    for command in commands:
        result = run_command(command, checkout)
        assert result.returncode == 0, f"README.md:{command.line}: {result.stderr[-2000:]}"
        printed.append(result.stdout)
    assert sorted(path.name for path in (checkout / "val_out").iterdir()) == sorted(
        path.name for path in (reference_dir / "posetrack" / "data" / "annotations" / "val").iterdir())
    section = _section_text()
    claims = re.findall(r"`(best [^`]+|\d+ file\(s\) checked: ready to upload\.)`", section)
    assert len(claims) == 3
    assert claims[-1] in printed[1]  # the tracked validation split is ready to upload as well
    for claim in claims:
        assert claim in printed[2] + printed[5], claim
    best = json.loads((checkout / "sweep.json").read_text())["best"]["MOTA"]["kpt_thr"]
    assert f"best MOTA: 51.9 at kpt-thr {best:g}" in section  # the threshold the later commands use
    assert all(f"--kpt-thr {best:g} " in f"{command.text} " for command in commands[3:5])
    with zipfile.ZipFile(checkout / "upload.zip") as archive:
        assert sorted(archive.namelist()) == sorted(path.name for path in (checkout / "upload").iterdir())

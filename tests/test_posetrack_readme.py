"""The README's "Submitting to PoseTrack" commands, run as written on the reference case they name,
print what the README says they print. The tracking command runs with the tiny reference HRNet added
(`--pose-config`, `--pose-weights`, `--runtime torch`), since the official weights cannot be had here."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from eval.__main__ import main
from tracker.run import main as track

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else None]


def test_submitting_commands_run_and_print_what_the_readme_says(reference_dir, tmp_path, monkeypatch, capsys):
    section = _section("Submitting to PoseTrack").split("\n### PoseTrack21\n")[0]  # its own commands run as shown
    commands = [line.strip() for line in section.splitlines() if line.startswith("       python -m ")]
    steps = [" ".join(shlex.split(command)[2:4]) for command in commands]
    assert steps == ["tracker.run --posetrack", "eval check-submission", "eval sweep", "eval posetrack",
                     "eval prune", "eval check-submission"]
    monkeypatch.chdir(tmp_path)
    tiny = ["--pose-config", str(ROOT / "examples" / "hrnet_tiny_reference.yaml"),
            "--pose-weights", str(reference_dir / "hrnet" / "tiny_state_dict.pt"), "--runtime", "torch"]
    printed = []
    for command in commands:
        argv = shlex.split(command.replace("../shared/reference", str(reference_dir)))
        status = track(argv[3:] + tiny) if argv[2] == "tracker.run" else main(argv[3:])
        assert status == 0, command
        printed.append(capsys.readouterr().out)
    assert sorted(path.name for path in (tmp_path / "val_out").iterdir()) == sorted(
        path.name for path in (reference_dir / "posetrack" / "data" / "annotations" / "val").iterdir())
    claims = re.findall(r"`(best [^`]+|\d+ file\(s\) checked: ready to upload\.)`", section)
    assert len(claims) == 3
    assert claims[-1] in printed[1]  # the tracked validation split is ready to upload as well
    for claim in claims:
        assert claim in printed[2] + printed[5], claim
    best = json.loads((tmp_path / "sweep.json").read_text())["best"]["MOTA"]["kpt_thr"]
    assert f"best MOTA: 51.9 at kpt-thr {best:g}" in section  # the threshold the later commands use
    assert all(f"--kpt-thr {best:g} " in f"{command} " for command in commands[3:5])

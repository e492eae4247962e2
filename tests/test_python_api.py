"""The README's Python API examples run as printed, and `tracker.track_video` tracks a whole video from Python.

The examples are read out of README.md (the indented block after each `<!-- python, run by ... -->` line) and run
in a fresh interpreter from a folder laid out as the checkout is, with `../shared/reference/` beside it
(`tests/readme_commands.py`).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from readme_commands import checkout_copy  # tests/readme_commands.py

ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- python, run by tests/test_python_api.py -->"


def readme_examples() -> list[str]:
    """The Python blocks the README marks, as printed (indentation removed)."""
    lines = (ROOT / "README.md").read_text().splitlines()
    examples = []
    for start in (number for number, line in enumerate(lines) if line.strip() == MARKER):
        block = []
        for line in lines[start + 1:]:
            if line and not line.startswith("    "):
                break
            block.append(line[4:])
        examples.append("\n".join(block).strip() + "\n")
    return examples


@pytest.fixture
def checkout(tmp_path, reference_dir) -> Path:
    """A folder laid out as the checkout, with the reference data beside it, so outputs land in the test's own."""
    return checkout_copy(tmp_path, Path(reference_dir).resolve())


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)


def test_the_readme_has_both_examples():
    examples = readme_examples()
    assert len(examples) == 2
    assert "boxes = " in examples[0] and "est.estimate(image, boxes)" in examples[0]
    assert "tracker.track_video(" in examples[1]


def test_the_estimator_example_runs_as_printed(checkout):
    example = readme_examples()[0]
    imported = {line.split()[-1] for line in example.splitlines() if line.startswith(("import ", "from "))}
    body = "\n".join(line for line in example.splitlines() if not line.startswith(("import ", "from ")))
    assert all(name in body for name in imported), "an import the example does not use"
    done = run_python(example, checkout)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "(2, 17, 3)"


def test_the_tracking_example_runs_as_printed_and_writes_the_outputs(checkout):
    done = run_python(readme_examples()[1], checkout)
    assert done.returncode == 0, done.stderr
    frames, tracks, json_path, csv_path, video_path = done.stdout.strip().splitlines()[-1].split()
    assert int(frames) == 5 and int(tracks) > 0
    out = checkout / "out"
    assert (checkout / json_path).resolve() == (out / "000001_mpiinew_test.json").resolve()
    assert (checkout / csv_path).is_file() and (checkout / video_path).is_file()
    written = json.loads((out / "000001_mpiinew_test.json").read_text())
    assert len(written["annolist"] if "annolist" in written else written["images"]) == 5


def test_importing_tracker_loads_no_torch():
    done = run_python("import sys, tracker\nassert callable(tracker.__getattr__)\n"
                      "print('torch' in sys.modules)", ROOT)
    assert done.stdout.strip() == "False", done.stderr


def test_track_video_refuses_a_folder_of_several_videos(tmp_path):
    from tracker import track_video
    from tracker.errors import TrackerError

    for name in ("a.mp4", "b.mp4"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(TrackerError, match="holds 2 videos; call track_video for each of them"):
        track_video(tmp_path, tmp_path / "out")

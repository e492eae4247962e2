"""Every command answers `--help` without importing the heavy libraries (torch, torchvision, OpenCV,
SciPy, OpenVINO, matplotlib): they load when the work starts. `bench/cli_start.py` times it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "torchvision", "cv2", "scipy", "openvino", "matplotlib", "decord")
PACKAGES = ("common", "pose", "detection", "flow", "eval", "tracker", "training")


def command_modules() -> list[str]:
    """The modules that are `python -m` commands: they hand their arguments to common.cli.run_cli."""
    modules = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name != "cli.py" and "run_cli(" in path.read_text():
                parts = path.relative_to(ROOT).with_suffix("").parts
                modules.append(".".join(parts[:-1] if parts[-1] == "__main__" else parts))
    return modules


def heavy_imports_of_help(module: str) -> list[str]:
    """The heavy libraries loaded once `python -m module --help` has printed its help."""
    code = (f"import runpy, sys, json\nsys.argv = [{module!r}, '--help']\n"
            f"try:\n    runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n"
            "except SystemExit:\n    pass\n"
            f"print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert "usage:" in done.stdout, done.stderr
    return json.loads(done.stderr.strip().splitlines()[-1])


def test_the_commands_are_found():
    assert {"tracker.run", "tracker.associate", "eval", "training.train", "pose.checkpoints"} <= set(command_modules())


@pytest.mark.parametrize("module", command_modules())
def test_help_loads_no_heavy_library(module):
    assert heavy_imports_of_help(module) == []

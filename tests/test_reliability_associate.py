"""Issue 10, item 7: `tracker.associate` refuses to write over the poses it reads, as `tracker.run` does."""
from __future__ import annotations

import shutil

import pytest

from tracker.associate import main


@pytest.fixture()
def poses_dir(reference_dir, tmp_path):
    folder = tmp_path / "gt"
    shutil.copytree(reference_dir / "posetrack" / "public" / "p1_exact_gt" / "gt", folder)
    return folder


def _contents(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_a_file_onto_itself_is_refused_and_left_as_it_was(poses_dir, capsys):
    file = sorted(poses_dir.glob("*.json"))[0]
    before = file.read_bytes()
    assert main([str(file), "-o", str(poses_dir / "." / file.name)]) == 1
    err = capsys.readouterr().err
    assert err == (f"error: the output {poses_dir / '.' / file.name} is the input file {file}, and writing it "
                   "would overwrite the poses being read; choose another output with -o.\n")
    assert file.read_bytes() == before


def test_a_folder_onto_itself_is_refused_and_left_as_it_was(poses_dir, capsys):
    before = _contents(poses_dir)
    assert main([str(poses_dir), "-o", str(poses_dir) + "/"]) == 1
    assert "is the input folder" in capsys.readouterr().err
    assert _contents(poses_dir) == before

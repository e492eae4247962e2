import os

import pytest

from common.files import atomic_open, atomic_path


def test_atomic_open_writes_whole_file_with_usual_mode(tmp_path):
    target = tmp_path / "out.json"
    with atomic_open(target) as handle:
        handle.write("{}")
    assert target.read_text() == "{}"
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_interrupted_write_leaves_nothing_and_keeps_old_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_atomic_open_refuses_read_mode(tmp_path):
    with pytest.raises(ValueError, match="does not write"), atomic_open(tmp_path / "x", "r"):
        pass

"""`tracker.run --analyze` finds the outputs tracking wrote, whatever the input: a folder of videos, a glob and
a single file (the names come from one place, `tracker.io.naming`)."""
from __future__ import annotations

import numpy as np
import pytest
from test_inputs import stubbed, write_images  # noqa: F401  (tests/test_inputs.py; a fixture)

from tracker.io.naming import output_name, output_names
from tracker.io.video_writer import VideoWriter
from tracker.run import main


def write_video(path, count: int) -> None:
    """A 64x48 video at 30 frames/s (the analysis's default filter needs a rate above 12)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with VideoWriter(path, 30.0, 64, 48) as writer:
        for index in range(count):
            writer.write(np.full((48, 64, 3), 20 * index, np.uint8))


def analysed(out) -> list[str]:
    """The analysis folders in `out` that hold a report."""
    return sorted(path.parent.name for path in out.glob("*_analysis/report.html"))


def test_analyze_after_a_folder_of_videos(tmp_path, stubbed):  # noqa: F811
    write_video(tmp_path / "games" / "first.mp4", 4)
    write_video(tmp_path / "games" / "second.mp4", 3)
    out = tmp_path / "out"
    assert main([str(tmp_path / "games"), "-o", str(out), "--quiet", "--analyze"]) == 0
    assert analysed(out) == ["first_analysis", "second_analysis"]


def test_analyze_after_a_glob(tmp_path, stubbed):  # noqa: F811
    write_images(tmp_path / "shots", 4)
    out = tmp_path / "out"
    assert main([str(tmp_path / "shots" / "*.png"), "-o", str(out), "--quiet", "--analyze"]) == 0
    assert analysed(out) == ["shots_analysis"]


def test_analyze_after_a_single_file(tmp_path, stubbed):  # noqa: F811
    write_video(tmp_path / "match.mp4", 4)
    out = tmp_path / "out"
    assert main([str(tmp_path / "match.mp4"), "-o", str(out), "--quiet", "--analyze"]) == 0
    assert analysed(out) == ["match_analysis"]


@pytest.mark.parametrize("given, name", [("7", "webcam7"), ("rtsp://camera.local/live/court.sdp", "court")])
def test_streams_are_named_as_tracking_names_them(given, name):
    assert output_names([given]) == [name]


def test_a_folder_of_frames_is_named_after_the_folder(tmp_path):
    write_images(tmp_path / "rally", 2)
    assert output_names([str(tmp_path / "rally")]) == ["rally"] == [output_name(tmp_path / "rally")]

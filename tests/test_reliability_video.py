"""Issue 10, items 12 and 16a/b: bad video files give our sentence alone on stderr; bad folder images
are skipped or resized, by name; and only decoding failures are skipped, a reader bug is a crash."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tracker.errors import TrackerError
from tracker.run import main
from tracker.video import VideoSource

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CLIP = "posetrack/data/videos/000001_mpiinew_test/000001_mpiinew_test.mp4"


def _zero_frame_video(path: Path) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (64, 48))
    writer.release()  # a container with a video stream and no frame in it
    return path


@pytest.fixture(params=["empty", "text", "truncated", "zero-frame"])
def bad_video(request, reference_dir, tmp_path) -> Path:
    path = tmp_path / f"{request.param}.mp4"
    if request.param == "zero-frame":
        return _zero_frame_video(path)
    clip = (reference_dir / CLIP).read_bytes()
    contents = {"empty": b"", "text": b"a video, honestly\n", "truncated": clip[: len(clip) // 8]}
    path.write_bytes(contents[request.param])
    return path


@pytest.mark.parametrize("decord_installed", [True, False], ids=["decord", "opencv"])
def test_a_bad_video_is_our_sentence_and_nothing_else_on_stderr(bad_video, decord_installed, monkeypatch, capfd):
    if not decord_installed:
        monkeypatch.setitem(sys.modules, "decord", None)
    with pytest.raises(TrackerError) as caught:
        VideoSource(bad_video)
    assert str(bad_video) in str(caught.value)
    assert capfd.readouterr().err == ""


def test_the_command_prints_one_line_for_a_truncated_video(reference_dir, tmp_path, capfd):
    clip = (reference_dir / CLIP).read_bytes()
    video = tmp_path / "cut.mp4"
    video.write_bytes(clip[: len(clip) // 8])
    status = main([str(video), "-o", str(tmp_path / "out"), "--quiet",
                   "--pose-config", str(EXAMPLES / "hrnet_tiny_reference.yaml"),
                   "--pose-weights", str(reference_dir / "hrnet" / "tiny_state_dict.pt"),
                   "--detections", str(EXAMPLES / "clip_detections.json")])
    assert status == 1
    assert capfd.readouterr().err == (f"error: {video} could not be opened as a video (it is not a video file, "
                                      "or it is damaged).\n")


def test_with_debug_logging_the_library_lines_are_shown(reference_dir, tmp_path, capfd, caplog):
    video = tmp_path / "text.mp4"
    video.write_bytes(b"a video, honestly\n")
    with caplog.at_level(logging.DEBUG, logger="tracker.video"), pytest.raises(TrackerError):
        VideoSource(video)
    assert "moov atom not found" in capfd.readouterr().err

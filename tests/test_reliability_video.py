"""Issue 10, items 12 and 16a/b: bad video files give our sentence alone on stderr; bad folder images
are skipped or resized, by name; and only decoding failures are skipped, a reader bug is a crash."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tracker.errors import TrackerError
from tracker.io import video
from tracker.io.video import VideoSource
from tracker.run import main

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
        monkeypatch.setattr(video, "_warned_no_decord", True)  # our own one-time notice is tested elsewhere
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
    with caplog.at_level(logging.DEBUG, logger="tracker.io.video"), pytest.raises(TrackerError):
        VideoSource(video)
    assert "moov atom not found" in capfd.readouterr().err


def _frames_folder(path: Path, sizes: list[tuple[int, int]]) -> Path:
    path.mkdir()
    for index, (width, height) in enumerate(sizes):
        image = np.full((height, width, 3), 40 * index, np.uint8)
        cv2.imwrite(str(path / f"{index:06d}.png"), image)
    return path


def test_a_corrupt_first_image_is_skipped_by_name_like_a_middle_one(tmp_path, caplog):
    folder = _frames_folder(tmp_path / "frames", [(24, 16)] * 4)
    (folder / "000000.png").write_bytes(b"not a png")
    (folder / "000002.png").write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="tracker.io.video"):
        source = VideoSource(folder)
        frames = list(source)
    assert source.info.width == 24 and source.info.height == 16
    assert [frame.image is None for frame in frames] == [True, False, True, False]
    assert "frame 0 of" in caplog.text and "(000000.png is not a readable image); skipping it" in caplog.text
    assert "frame 2 of" in caplog.text and "(000002.png is not a readable image); skipping it" in caplog.text


def test_a_folder_of_unreadable_images_is_one_sentence(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for index in range(2):
        (folder / f"{index:06d}.jpg").write_text("text")
    with pytest.raises(TrackerError, match=r"^none of the 2 images of .*frames could be read; they may be damaged\.$"):
        VideoSource(folder)


def test_an_image_of_another_size_is_resized_to_the_first_with_a_warning(tmp_path, caplog):
    folder = _frames_folder(tmp_path / "frames", [(24, 16), (48, 20), (24, 16)])
    with caplog.at_level(logging.WARNING, logger="tracker.io.video"):
        frames = list(VideoSource(folder))
    assert [frame.image.shape for frame in frames] == [(16, 24, 3)] * 3
    assert int(frames[1].image[8, 12, 0]) == 40  # the same picture, scaled
    assert caplog.text.count("resizing") == 1
    assert "000001.png is 48x20, unlike the 24x16 of the folder's first readable image; resizing it" in caplog.text


def test_a_folder_with_one_image_of_another_size_is_tracked(reference_dir, tmp_path):
    folder = _frames_folder(tmp_path / "frames", [(64, 48), (64, 48), (80, 40)])
    detections = tmp_path / "boxes.json"
    detections.write_text(json.dumps([{"image_id": index, "bbox": [8, 4, 40, 40], "score": 0.9}
                                      for index in range(3)]))
    status = main([str(folder), "-o", str(tmp_path / "out"), "--quiet",
                   "--pose-config", str(EXAMPLES / "hrnet_tiny_reference.yaml"),
                   "--pose-weights", str(reference_dir / "hrnet" / "tiny_state_dict.pt"),
                   "--detections", str(detections), "--config", str(EXAMPLES / "keep_all_poses.yaml")])
    assert status == 0
    written = json.loads((tmp_path / "out" / "frames.json").read_text())
    assert len(written["images"]) == 3 and {person["image_id"] for person in written["annotations"]} == {
        image["id"] for image in written["images"]}


def test_a_bug_while_reading_is_a_crash_not_an_empty_video(tmp_path, monkeypatch):
    folder = _frames_folder(tmp_path / "frames", [(24, 16)] * 3)

    def broken(*args, **kwargs):
        raise ValueError("a bug in the reader")

    source = VideoSource(folder)
    monkeypatch.setattr(cv2, "cvtColor", broken)
    with pytest.raises(ValueError, match="a bug in the reader"):
        list(source)

"""Frames in and out: decord and OpenCV readers, image folders, frame ranges, the prefetch thread
and the atomic MP4 writer."""
from __future__ import annotations

import logging
import sys
import threading
import time

import cv2
import decord
import numpy as np
import pytest

from tracker.errors import TrackerError
from tracker.io import video
from tracker.io.video import VideoFrame, VideoSource, prefetched
from tracker.io.video_writer import VideoWriter

CLIP = "posetrack/data/videos/000001_mpiinew_test/000001_mpiinew_test.mp4"


def test_frame_range_and_stride_on_the_real_clip(reference_dir):
    source = VideoSource(reference_dir / CLIP, start=1, end=5, stride=2)
    frames = list(source)
    assert [frame.index for frame in frames] == [1, 3]
    assert [frame.time for frame in frames] == pytest.approx([1 / 30, 3 / 30])
    assert source.info.num_frames == 2 and source.info.fps == pytest.approx(15.0)
    reference = decord.VideoReader(str(reference_dir / CLIP))[3].asnumpy()
    assert frames[1].image.dtype == np.uint8 and np.array_equal(frames[1].image, reference)


def test_without_decord_opencv_alone_reads_the_same_frames(reference_dir, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "decord", None)  # as on a machine without decord wheels
    monkeypatch.setattr(video, "_warned_no_decord", False)
    with caplog.at_level(logging.WARNING):
        frames = list(VideoSource(reference_dir / CLIP))
        list(VideoSource(reference_dir / CLIP))
    assert caplog.text.count("decord is not installed") == 1
    assert len(frames) == 5 and frames[0].image.shape == (720, 1280, 3)
    assert frames[4].time == pytest.approx(4 / 30)
    reference = decord.VideoReader(str(reference_dir / CLIP))[4].asnumpy().astype(np.int16)
    assert np.abs(frames[4].image.astype(np.int16) - reference).mean() < 2.0


def test_image_folder_is_read_in_name_order_as_rgb(tmp_path):
    for index, blue in ((2, 30), (0, 10), (1, 20)):
        image_bgr = np.zeros((16, 24, 3), np.uint8)
        image_bgr[..., 0] = blue
        cv2.imwrite(str(tmp_path / f"{index:06d}.png"), image_bgr)
    (tmp_path / "notes.txt").write_text("not a frame")
    source = VideoSource(tmp_path, folder_fps=25.0)
    frames = list(source)
    assert [frame.name for frame in frames] == ["000000.png", "000001.png", "000002.png"]
    assert [int(frame.image[0, 0, 2]) for frame in frames] == [10, 20, 30]  # blue is the last RGB channel
    assert source.info == video.VideoInfo(3, 24, 16, 25.0)


class _CaptureLosingFrame2:
    """OpenCV's capture, except that its decoder gives no image for frame 2 (a corrupt packet)."""

    opencv_capture = cv2.VideoCapture

    def __init__(self, path):
        self._capture = self.opencv_capture(path)
        self._position = 0

    def read(self):
        ok, image = self._capture.read()
        self._position += 1
        return (False, None) if self._position == 3 else (ok, image)

    def __getattr__(self, name):
        return getattr(self._capture, name)


def test_a_frame_failing_mid_video_is_skipped_with_a_warning(reference_dir, monkeypatch, caplog):
    monkeypatch.setattr(video.cv2, "VideoCapture", _CaptureLosingFrame2)
    with caplog.at_level(logging.WARNING):
        frames = list(VideoSource(reference_dir / CLIP))
    assert [frame.index for frame in frames] == [0, 1, 2, 3, 4]
    assert frames[2].image is None and frames[3].image is not None
    assert "frame 2" in caplog.text and "skipping" in caplog.text


def test_invalid_frame_range_is_one_sentence(reference_dir):
    with pytest.raises(TrackerError, match="--start"):
        VideoSource(reference_dir / CLIP, start=3, end=2)
    with pytest.raises(TrackerError, match="past the last frame"):
        VideoSource(reference_dir / CLIP, start=9)


def test_prefetch_stays_a_bounded_number_of_frames_ahead():
    produced = []

    def produce(index):
        produced.append(index)
        return VideoFrame(index, 0.0, None)

    frames = prefetched(produce, range(1000), depth=4)
    assert next(frames).index == 0
    time.sleep(0.3)
    assert len(produced) <= 4 + 2  # the queue, the item in hand, the one being put
    frames.close()
    time.sleep(0.2)
    assert not any(thread.name == "hrtrack-decode" and thread.is_alive() for thread in threading.enumerate())


def test_errors_in_the_reading_thread_reach_the_consumer():
    def produce(index):
        if index == 2:
            raise OSError("disk gone")
        return VideoFrame(index, 0.0, None)

    with pytest.raises(OSError, match="disk gone"):
        list(prefetched(produce, range(5), depth=2))


def test_writer_appears_only_when_complete(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError), VideoWriter(target, 12.5, 64, 48) as writer:
        writer.write(np.zeros((48, 64, 3), np.uint8))
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []
    with VideoWriter(target, 12.5, 64, 48) as writer:
        for level in (0, 128, 255):
            writer.write(np.full((48, 64, 3), level, np.uint8))
        with pytest.raises(TrackerError, match="does not match"):
            writer.write(np.zeros((10, 10, 3), np.uint8))
    written = decord.VideoReader(str(target))
    assert len(written) == 3 and written.get_avg_fps() == pytest.approx(12.5)
    assert writer.codec in ("avc1", "mp4v")

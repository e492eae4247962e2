"""The video writer: H.264 MP4s that browsers play (decoded here with PyAV and OpenCV), odd sizes, continuing
an earlier video by stream copy, the OpenCV fallback, and the sentence for a size the encoder refuses."""
from __future__ import annotations

import logging

import av
import cv2
import numpy as np
import pytest

import flow
from detection.protocol import ImageBoxSource
from pose.skeleton import COCO
from tracker import runner
from tracker.errors import TrackerError
from tracker.io import video_writer
from tracker.io.video_writer import VideoWriter, count_frames
from tracker.run import main
from tracker.runner import Models


def _clip(count: int, width: int, height: int) -> list[np.ndarray]:
    """Frames of a smooth moving gradient with a square (compressible, like video, unlike noise)."""
    ys, xs = np.mgrid[0:height, 0:width]
    frames = []
    for index in range(count):
        frame = np.stack([(xs * 3 + index * 5) % 256, (ys * 2) % 256, np.full_like(xs, 90)], axis=2).astype(np.uint8)
        frame[10:20, 4 + index:14 + index] = 255
        frames.append(frame)
    return frames


def _write(path, frames, fps=25.0, **options) -> VideoWriter:
    with VideoWriter(path, fps, frames[0].shape[1], frames[0].shape[0], **options) as writer:
        for frame in frames:
            writer.write(frame)
    return writer


def _decode(path) -> tuple[av.video.stream.VideoStream, list[np.ndarray]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        return stream, frames


def test_videos_are_h264_yuv420p_at_the_input_rate_with_the_index_first(tmp_path):
    frames = _clip(12, 64, 48)
    _write(tmp_path / "a.mp4", frames, fps=29.97)
    with av.open(str(tmp_path / "a.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        assert float(stream.average_rate) == pytest.approx(29.97, abs=1e-3)
        assert (stream.width, stream.height) == (64, 48)
    decoded = _decode(tmp_path / "a.mp4")[1]
    assert len(decoded) == 12 and np.abs(decoded[5].astype(int) - frames[5]).mean() < 3.0
    head = (tmp_path / "a.mp4").read_bytes()
    assert 0 < head.find(b"moov") < head.find(b"mdat")  # faststart: a browser starts before the file has loaded
    capture = cv2.VideoCapture(str(tmp_path / "a.mp4"))  # and OpenCV reads it back, as tracker.analyze does
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    capture.release()


def test_crf_trades_size_for_quality(tmp_path):
    frames = _clip(10, 96, 64)
    _write(tmp_path / "fine.mp4", frames, crf=10)
    _write(tmp_path / "coarse.mp4", frames, crf=40)
    assert (tmp_path / "coarse.mp4").stat().st_size < (tmp_path / "fine.mp4").stat().st_size
    errors = [np.abs(_decode(tmp_path / name)[1][4].astype(int) - frames[4]).mean() for name in ("fine.mp4",
                                                                                                   "coarse.mp4")]
    assert errors[0] < errors[1]


def test_odd_sides_are_padded_by_repeating_the_last_column_and_row(tmp_path):
    frames = _clip(3, 65, 49)
    _write(tmp_path / "odd.mp4", frames, crf=0)
    decoded = _decode(tmp_path / "odd.mp4")[1]
    assert decoded[0].shape == (50, 66, 3)
    assert np.abs(decoded[1][:49, :65].astype(int) - frames[1]).mean() < 2.0  # nothing cut
    assert np.array_equal(decoded[1][:, 65], decoded[1][:, 64]) and np.array_equal(decoded[1][49], decoded[1][48])


def test_a_continued_video_keeps_the_frames_done_bit_for_bit(tmp_path):
    frames = _clip(30, 64, 48)
    path = tmp_path / "run.mp4"
    _write(path, frames[:17])
    before = _decode(path)[1]
    writer = _write(path, frames[17:], continues=path)
    assert writer.frames == 13 and count_frames(path) == 30
    after = _decode(path)[1]
    assert len(after) == 30 and all(np.array_equal(old, new) for old, new in zip(before, after[:17]))
    assert np.abs(after[25].astype(int) - frames[25]).mean() < 3.0
    with av.open(str(path)) as container:  # one stream, times rising evenly across the join
        times = sorted(packet.pts for packet in container.demux(container.streams.video[0]) if packet.size)
        steps = set(np.diff(times).tolist())
        assert len(steps) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["run.mp4"]


def test_a_failure_leaves_no_file_and_an_earlier_video_as_it_was(tmp_path):
    path = tmp_path / "run.mp4"
    _write(path, _clip(5, 32, 32))
    kept = path.read_bytes()
    with pytest.raises(RuntimeError), VideoWriter(path, 25.0, 32, 32, continues=path) as writer:
        writer.write(_clip(1, 32, 32)[0])
        raise RuntimeError("stop")
    assert path.read_bytes() == kept and [p.name for p in tmp_path.iterdir()] == ["run.mp4"]


def test_without_pyav_opencv_writes_mp4v_and_says_so_once(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(video_writer, "pyav_h264", lambda: False)
    monkeypatch.setattr(video_writer, "_warned_fallback", [])
    caplog.set_level(logging.INFO, logger="tracker.io.video_writer")
    for name in ("a.mp4", "b.mp4"):
        assert _write(tmp_path / name, _clip(3, 64, 48)).codec == "mp4v"
        assert count_frames(tmp_path / name) == 3
    assert len([r for r in caplog.records if "pip install av" in r.getMessage()]) == 1


def test_a_size_the_encoder_refuses_gets_a_sentence_suggesting_no_video(tmp_path):
    with pytest.raises(TrackerError, match=r"the H.264 encoder cannot take a 40000x2 video; pass --no-video"):
        VideoWriter(tmp_path / "wide.mp4", 25.0, 40000, 2).__enter__()
    assert list(tmp_path.iterdir()) == []


class _OnePerson:
    keypoint_set = COCO

    def estimate(self, image, boxes):
        return np.full((len(boxes), COCO.num_joints, 3), 0.5, np.float32)


class _WholeFrame(ImageBoxSource):
    def boxes(self, frame, image):
        return np.array([[0, 0, 1, 1, 0.9]], np.float32)


def test_a_1x1_video_is_tracked_and_its_video_written(tmp_path, monkeypatch):
    folder = tmp_path / "dot"
    folder.mkdir()
    for index in range(3):
        cv2.imwrite(str(folder / f"{index:03d}.png"), np.full((1, 1, 3), 40 * index, np.uint8))
    monkeypatch.setattr(runner, "build_models", lambda config, device: Models(_OnePerson(), _WholeFrame(),
                                                                              flow.create("dis")))
    assert main([str(folder), "-o", str(tmp_path / "out"), "--quiet"]) == 0
    stream, frames = _decode(tmp_path / "out" / "dot.mp4")
    assert stream.codec_context.name == "h264" and len(frames) == 3 and frames[0].shape == (2, 2, 3)

"""A run that fails at frame 40 of 60 keeps 40 complete frames; `--resume` finishes it, and the result
equals a run that never failed (the JSON and CSV byte for byte; the video's 40 frames done decode to the
same pixels as before; with lossless H.264, --crf 0, the whole video equals the uninterrupted run's)."""
from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import time

import cv2
import numpy as np
import pytest

import flow
from detection.protocol import ImageBoxSource
from pose.skeleton import COCO
from tracker import runner as track_module
from tracker.outputs import csv_file
from tracker.run import main
from tracker.runner import Models

FRAMES = 60


class Estimator:
    """Joints spread over each box with scores that vary by joint; fails once at frame `fail_at`."""

    keypoint_set = COCO

    def __init__(self, fail_at: int | None):
        self.fail_at, self.calls = fail_at, 0

    def estimate(self, image, boxes):
        if self.calls == self.fail_at:
            self.fail_at = None
            raise RuntimeError("a fault injected by the test")
        self.calls += 1
        fractions = np.linspace(0.0, 1.0, COCO.num_joints)
        poses = np.zeros((len(boxes), COCO.num_joints, 3), np.float32)
        poses[:, :, 0] = boxes[:, None, 0] + fractions * (boxes[:, None, 2] - boxes[:, None, 0])
        poses[:, :, 1] = boxes[:, None, 1] + fractions[::-1] * (boxes[:, None, 3] - boxes[:, None, 1])
        poses[:, :, 2] = 0.5 + 0.4 * np.abs(np.sin(fractions * 7 + image.mean()))
        return poses


class Walkers(ImageBoxSource):
    """Two people, detected every 4th frame (flow carries them between), walking across."""

    def boxes(self, frame, image):
        x = 2 * frame.index
        return np.array([[10 + x, 20, 60 + x, 120, 0.9], [200 - x, 30, 250 - x, 130, 0.8]], np.float32)


@pytest.fixture
def clip(tmp_path):
    folder = tmp_path / "walk"
    folder.mkdir()
    generator = np.random.default_rng(0)
    texture = generator.integers(0, 255, (160, 400, 3), dtype=np.uint8)
    for index in range(FRAMES):
        cv2.imwrite(str(folder / f"{index:06d}.png"), texture[:, 2 * index: 2 * index + 256])
    return folder


def run(clip, out, monkeypatch, fail_at, *extra) -> int:
    estimator = Estimator(fail_at)
    monkeypatch.setattr(track_module, "build_models",
                        lambda config, device: Models(estimator, Walkers(), flow.create("dis")))
    return main([str(clip), "-o", str(out), "--quiet", "--detect-every", "4", *extra])


def test_resume_after_a_fault_equals_an_uninterrupted_run(clip, tmp_path, monkeypatch, capsys):
    assert run(clip, tmp_path / "whole", monkeypatch, None, "--crf", "0") == 0
    out = tmp_path / "resumed"
    assert run(clip, out, monkeypatch, 40, "--crf", "0") == 1
    sentence = capsys.readouterr().err.strip().splitlines()[-1]
    assert "frame 40 failed (RuntimeError: a fault injected by the test)" in sentence
    assert "hold the 40 frames done (--resume continues)" in sentence
    assert len(json.loads((out / "walk.json").read_text())["images"]) == 40
    assert (out / ".walk.resume.json").exists()
    before = _frames(out / "walk.mp4")

    assert run(clip, out, monkeypatch, None, "--resume", "--crf", "0") == 0
    for suffix in ("json", "csv"):
        assert (out / f"walk.{suffix}").read_bytes() == (tmp_path / "whole" / f"walk.{suffix}").read_bytes(), suffix
    after, whole = _frames(out / "walk.mp4"), _frames(tmp_path / "whole" / "walk.mp4")
    assert len(before) == 40 and len(after) == len(whole) == FRAMES
    assert all(np.array_equal(old, new) for old, new in zip(before, after[:40]))  # copied, not encoded again
    assert np.array_equal(after, whole)
    names = sorted(path.name for path in out.iterdir())
    assert names == ["walk.csv", "walk.json", "walk.mp4", "walk.run.json"]  # the resume state removed


def _frames(path) -> np.ndarray:
    """Every frame of a video, decoded (uint8 BGR)."""
    capture, frames = cv2.VideoCapture(str(path)), []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return np.array(frames)


def test_resume_refuses_other_settings_and_skips_finished_videos(clip, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    assert run(clip, out, monkeypatch, 10) == 1
    assert run(clip, out, monkeypatch, None, "--resume", "--max-age", "5") == 1
    assert ("the run being resumed had association.max_age = 30, this one 5; resume with the same options"
            in capsys.readouterr().err)
    assert run(clip, out, monkeypatch, None, "--resume") == 0
    finished = (out / "walk.json").read_bytes()
    assert run(clip, out, monkeypatch, 0, "--resume") == 0  # complete: nothing runs, so the fault never fires
    assert (out / "walk.json").read_bytes() == finished


def test_resume_never_takes_partial_outputs_without_a_state_for_finished(clip, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    assert run(clip, out, monkeypatch, 21) == 1
    (out / ".walk.resume.json").unlink()  # as a version without a state for --smooth left it
    assert run(clip, out, monkeypatch, None, "--resume") == 1
    sentence = capsys.readouterr().err.strip().splitlines()[-1]
    assert "walk.json holds 21 of its 60 frames; walk.mp4 holds 21 of its 60 frames, and no resume state" in sentence
    assert "run again without --resume" in sentence


class FadingWalkers(Walkers):
    """The walkers until frame 30, then nobody (no pose gives a propagated box, so frames 30+ have no person); at
    frame `stop_at` a
    SIGINT arrives (`how` "signal") or the detector fails once (`how` "error")."""

    def __init__(self, stop_at: int | None = None, how: str = "signal"):
        self.stop_at, self.how = stop_at, how

    def boxes(self, frame, image):
        if frame.index == self.stop_at:
            self.stop_at = None
            if self.how == "signal":
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1)  # the handler raises KeyboardInterrupt here
            raise RuntimeError("a detector fault injected by the test")
        return super().boxes(frame, image) if frame.index < 30 else np.zeros((0, 5), np.float32)


def run_fading(clip, out, monkeypatch, stop_at, how, *extra) -> int:
    monkeypatch.setattr(track_module, "build_models", lambda config, device: Models(
        Estimator(None), FadingWalkers(stop_at, how), flow.create("none")))
    return main([str(clip), "-o", str(out), "--quiet", "--set", "flow.box_min_keypoints=18", *extra])


def assert_equal_outputs(out, whole, frames: int = FRAMES) -> None:
    """The JSON and CSV byte for byte, the video's frame count, and no state left."""
    for suffix in ("json", "csv"):
        assert (out / f"walk.{suffix}").read_bytes() == (whole / f"walk.{suffix}").read_bytes(), suffix
    assert cv2.VideoCapture(str(out / "walk.mp4")).get(cv2.CAP_PROP_FRAME_COUNT) == frames
    assert sorted(path.name for path in out.iterdir()) == ["walk.csv", "walk.json", "walk.mp4", "walk.run.json"]


@pytest.mark.parametrize("how, status", [("signal", 130), ("error", 1)])
@pytest.mark.parametrize("smooth", [[], ["--smooth"]], ids=["raw", "smooth"])
def test_resume_after_frames_without_persons(clip, tmp_path, monkeypatch, capsys, how, status, smooth):
    """Frames 30+ have nobody, so the CSV has no row of them; a stop at frame 45 then --resume must still equal an
    uninterrupted run (the frames are counted from the resume state, not from CSV rows). With --smooth, the
    Kalman filters are saved too, so a partial run is never taken for a finished one."""
    whole = tmp_path / "whole"
    assert run_fading(clip, whole, monkeypatch, None, how, *smooth) == 0
    out = tmp_path / "resumed"
    assert run_fading(clip, out, monkeypatch, 45, how, *smooth) == status
    assert "hold the 45 frames done (--resume continues)" in capsys.readouterr().err
    assert len(json.loads((out / "walk.json").read_text())["images"]) == 45
    assert {row.split(",")[0] for row in (out / "walk.csv").read_text().splitlines()[1:]} == set(map(str, range(30)))
    assert run_fading(clip, out, monkeypatch, None, how, "--resume", *smooth) == 0
    assert "complete already" not in capsys.readouterr().out
    assert_equal_outputs(out, whole)


class Disk:
    """A disk with `room` bytes left for the CSV (None: plenty): a write beyond it stores what fits, then fails."""

    def __init__(self, room: int | None):
        self.room = room

    def file(self, handle):
        disk = self

        class OnDisk:
            def __getattr__(self, name):
                return getattr(handle, name)

            def write(self, data):
                if disk.room is not None and len(data) > disk.room:
                    handle.write(bytes(data[:disk.room]))
                    disk.room = 0
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                if disk.room is not None:
                    disk.room -= len(data)
                return handle.write(data)

        return OnDisk()


def test_a_full_disk_keeps_the_frames_done_and_resume_continues_once_there_is_room(clip, tmp_path, monkeypatch,
                                                                                   capsys):
    """The CSV's disk fills in the middle of frame 30: the JSON and CSV keep frames 0-29 whole, the video (the
    largest file, whose encoder cannot take a frame back) is given up and named, the resume state is kept, and
    --resume with room again gives what an uninterrupted run gives (the video tracked again from the start)."""
    whole = tmp_path / "whole"
    assert run(clip, whole, monkeypatch, None) == 0
    lines = (whole / "walk.csv").read_bytes().splitlines(keepends=True)
    done = b"".join(line for line in lines if not line[:1].isdigit() or int(line.split(b",")[0]) < 30)
    disk = Disk(len(done) + 200)  # frame 30's rows do not fit
    real_open = csv_file.atomic_open

    @contextlib.contextmanager
    def filling(path, mode, **options):
        with real_open(path, mode, **options) as handle:
            yield disk.file(handle)

    monkeypatch.setattr(csv_file, "atomic_open", filling)
    out = tmp_path / "out"
    assert run(clip, out, monkeypatch, None) == 1
    sentence = capsys.readouterr().err.strip().splitlines()[-1]
    assert "frame 30 failed (cannot write walk.csv: No space left on device)" in sentence, sentence
    assert "hold the 30 frames done, but not walk.mp4 (given up with walk.csv)" in sentence, sentence
    assert (out / "walk.csv").read_bytes() == done
    assert len(json.loads((out / "walk.json").read_text())["images"]) == 30
    assert sorted(path.name for path in out.iterdir()) == [".walk.resume.json", "walk.csv", "walk.json",
                                                           "walk.run.json"]

    disk.room = None  # space freed
    assert run(clip, out, monkeypatch, None, "--resume") == 0
    assert_equal_outputs(out, whole)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
@pytest.mark.parametrize("size", ["300k", "600k"])  # the outputs take 690 KB (the H.264 video 255 KB)
def test_a_full_tmpfs_keeps_the_frames_done_and_resume_continues_once_it_grows(clip, tmp_path, monkeypatch, capsys,
                                                                                size):
    """The same on a real filesystem of 300 or 600 KB, grown to 64 MB (a remount) before --resume. Whether the
    disk fills while frames are written or while the outputs are finished, what is kept is whole, and --resume
    ends with what an uninterrupted run gives."""
    whole = tmp_path / "whole"
    assert run(clip, whole, monkeypatch, None) == 0
    out = tmp_path / "small"
    out.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(out)], capture_output=True)
    if mounted.returncode:
        pytest.skip("no tmpfs could be mounted here")
    try:
        assert run(clip, out, monkeypatch, None) == 1
        sentence = capsys.readouterr().err.strip().splitlines()[-1]
        assert ("No space left on device" in sentence or "full disk" in sentence) and "--resume" in sentence, sentence
        kept = sorted(path.name for path in out.iterdir())
        assert ".walk.resume.json" in kept and not [name for name in kept if ".part" in name], kept
        if "walk.json" in kept and "walk.csv" in kept:  # stopped mid-run: both hold the frames done, whole
            frames = len(json.loads((out / "walk.json").read_text())["images"])
            csv_frames = {int(row.split(",")[0]) for row in (out / "walk.csv").read_text().splitlines()[1:]}
            assert 0 < frames and csv_frames == set(range(frames)), (frames, csv_frames)
        subprocess.run(["mount", "-o", "remount,size=64m", str(out)], check=True)
        assert run(clip, out, monkeypatch, None, "--resume") == 0
        assert_equal_outputs(out, whole)
    finally:  # lazily: after a full disk FFmpeg's faststart pass can keep a handle on the deleted temporary
        subprocess.run(["umount", "--lazy", str(out)], check=False)

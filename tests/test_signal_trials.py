"""Signals aimed inside a frame's write: a seeded set of trials sends SIGINT, SIGTERM or two SIGINTs while one of the
three outputs takes a frame (before or after its own part). Every time, the outputs must agree (the JSON, the CSV
and the video hold the same frames, and the resume state says so), and `--resume` must then give what an
uninterrupted run gives. In-process, with stub models, so 40 trials take seconds each, not minutes."""
from __future__ import annotations

import csv
import json
import os
import random
import signal
from pathlib import Path

import cv2
import numpy as np
import pytest
from stub_tracking import stub_models  # tests/stub_tracking.py

from tracker import runner
from tracker.outputs.csv_file import CsvOutput
from tracker.outputs.posetrack_file import PoseTrackOutput
from tracker.outputs.video_file import VideoOutput
from tracker.run import main

FRAMES = 30
TRIALS = 40
WRITERS = {"json": PoseTrackOutput, "csv": CsvOutput, "video": VideoOutput}
SIGNALS = {"int": [signal.SIGINT], "term": [signal.SIGTERM], "int-int": [signal.SIGINT, signal.SIGINT]}


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("trials") / "clip"
    folder.mkdir()
    generator = np.random.default_rng(1)
    texture = generator.integers(0, 255, (48, 64 + 2 * FRAMES, 3), dtype=np.uint8)
    for index in range(FRAMES):
        cv2.imwrite(str(folder / f"{index:06d}.png"), texture[:, 2 * index: 2 * index + 64])
    return folder


def track(clip: Path, out: Path, monkeypatch, *extra: str) -> int:
    monkeypatch.setattr(runner, "build_models", lambda config, device: stub_models(0.0))
    return main([str(clip), "-o", str(out), "--quiet", *extra])


def aim(monkeypatch, frame: int, writer: str, moment: str, numbers: list[int]) -> list[int]:
    """Send `numbers` to this process when `writer` takes frame `frame`, `moment` "before" or "after" its own
    part; returns the list the sent signals are appended to."""
    sent: list[int] = []
    kind = WRITERS[writer]
    original = kind.add

    def add(self, result) -> None:
        due = result.index == frame and not sent
        if due and moment == "before":
            fire()
        original(self, result)
        if due and moment == "after":
            fire()

    def fire() -> None:
        for number in numbers:
            sent.append(number)
            os.kill(os.getpid(), number)

    monkeypatch.setattr(kind, "add", add)
    return sent


def held_frames(out: Path) -> dict[str, object]:
    """What each output holds: the JSON's frames, the CSV's frame column, the video's frames, the state's frames."""
    with open(out / "clip.csv", newline="") as handle:
        csv_frames = sorted({int(row["frame"]) for row in csv.DictReader(handle)})
    video = cv2.VideoCapture(str(out / "clip.mp4"))
    state = json.loads((out / ".clip.resume.json").read_text())
    return {"json": len(json.loads((out / "clip.json").read_text())["images"]), "csv": csv_frames,
            "video": int(video.get(cv2.CAP_PROP_FRAME_COUNT)), "state": state["frames"]}


@pytest.mark.slow
def test_forty_signals_inside_the_write_leave_agreeing_outputs_that_resume_exactly(clip, tmp_path, monkeypatch):
    wholes = {}
    for smooth in ([], ["--smooth"]):
        wholes[bool(smooth)] = tmp_path / f"whole{len(smooth)}"
        assert track(clip, wholes[bool(smooth)], monkeypatch, *smooth) == 0
    generator = random.Random(20261203)
    figures = {"signals": 0, "agreeing": 0, "resumed equal": 0}
    for trial in range(TRIALS):
        frame = generator.randrange(1, FRAMES - 1)
        writer, moment = generator.choice(sorted(WRITERS)), generator.choice(["before", "after"])
        how = ["int", "term", "int-int"][trial % 3]
        smooth = ["--smooth"] if trial % 2 else []
        out = tmp_path / f"trial{trial}"
        where = (trial, frame, writer, moment, how, smooth)
        with monkeypatch.context() as patch:
            sent = aim(patch, frame, writer, moment, SIGNALS[how])
            status = track(clip, out, patch, *smooth)
        figures["signals"] += len(sent)
        assert sent and status == (143 if how == "term" else 130), where
        held = held_frames(out)
        assert held == {"json": frame + 1, "csv": list(range(frame + 1)), "video": frame + 1, "state": frame + 1}, \
            (where, held)
        figures["agreeing"] += 1
        assert track(clip, out, monkeypatch, "--resume", *smooth) == 0, where
        for suffix in ("json", "csv"):
            assert (out / f"clip.{suffix}").read_bytes() == (wholes[bool(smooth)] / f"clip.{suffix}").read_bytes(), \
                (where, suffix)
        assert int(cv2.VideoCapture(str(out / "clip.mp4")).get(cv2.CAP_PROP_FRAME_COUNT)) == FRAMES, where
        finished = ["clip.csv", "clip.json", "clip.mp4", "clip.run.json"]
        assert sorted(path.name for path in out.iterdir()) == finished, where
        figures["resumed equal"] += 1
    print(f"signal trials: {figures}")  # the figures the README and the notes quote
    assert figures["signals"] >= TRIALS and figures["agreeing"] == figures["resumed equal"] == TRIALS, figures

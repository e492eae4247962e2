"""Benchmark of `tracker.analyze`: wall and CPU seconds for a synthetic 3,000-frame, 10-track PoseTrack JSON
(30 frames/s, walking figures with swinging limbs, 1 px noise, 5% of sightings dropped in short gaps), with and
without plots.

Run from the repo root: ``python -m bench.analyze``; prints one JSON line.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.machine import emit
from eval.posetrack.types import Frame, Person, Sequence
from eval.posetrack.write import write_posetrack18
from pose.skeleton import POSETRACK18
from tracker.analyze import main as analyze_main

# A standing figure in PoseTrack18 slots, pixels relative to the hip midpoint (y down).
_FIGURE = {"nose": (0, -150), "head_bottom": (0, -130), "head_top": (0, -175), "left_ear": (8, -155),
           "right_ear": (-8, -155), "left_shoulder": (20, -120), "right_shoulder": (-20, -120),
           "left_elbow": (25, -70), "right_elbow": (-25, -70), "left_wrist": (28, -25), "right_wrist": (-28, -25),
           "left_hip": (12, 0), "right_hip": (-12, 0), "left_knee": (14, 80), "right_knee": (-14, 80),
           "left_ankle": (15, 160), "right_ankle": (-15, 160)}


def synthetic_sequence(frames: int = 3000, tracks: int = 10, seed: int = 0) -> Sequence:
    """`tracks` figures walking across a 1920x1080 frame for `frames` frames, legs and arms swinging."""
    rng = np.random.default_rng(seed)
    base = np.array([_FIGURE[name] for name in POSETRACK18.joints], np.float64)
    swing = np.zeros_like(base)
    for name in ("left_knee", "left_ankle", "right_wrist"):
        swing[POSETRACK18.index(name), 0] = 1.0
    for name in ("right_knee", "right_ankle", "left_wrist"):
        swing[POSETRACK18.index(name), 0] = -1.0
    starts = rng.uniform([200, 300], [1700, 800], (tracks, 2))
    velocities = rng.uniform(-2.0, 2.0, (tracks, 2)) * [1.0, 0.2]
    dropped = rng.random((frames, tracks)) < 0.05
    out = []
    for index in range(frames):
        persons = []
        for track in range(tracks):
            if dropped[index, track]:
                continue
            hip = starts[track] + velocities[track] * index
            hip = np.abs((hip + [1920, 1080]) % [3840, 2160] - [1920, 1080])  # bounce off the edges
            phase = 2 * np.pi * 1.2 * index / 30.0 + track
            xy = hip + base + swing * 30.0 * np.sin(phase) + rng.normal(0, 1, base.shape)
            keypoints = np.column_stack([xy, np.ones(len(xy))])
            box = (*(xy.min(axis=0) - 10), *(xy.max(axis=0) + 10))
            persons.append(Person(track_id=track, keypoints=keypoints, scores=rng.uniform(0.5, 1.0, len(xy)),
                                  box=tuple(float(v) for v in box), score=0.9))
        out.append(Frame(file_name=f"images/bench/{index:06d}.jpg", image_id=None, persons=persons,
                         width=1920, height=1080))
    return Sequence(name="bench", frames=out)


def main() -> None:
    """Write the synthetic JSON, time tracker.analyze on it with and without plots; emit one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--tracks", type=int, default=10)
    args = parser.parse_args()
    figures: dict = {"benchmark": "analyze", "frames": args.frames, "tracks": args.tracks,
                     "load_average_1min": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.json"
        write_posetrack18(synthetic_sequence(args.frames, args.tracks), path)
        for label, extra in (("no_plots", ["--no-plots"]), ("with_plots", [])):
            start, cpu = time.perf_counter(), time.process_time()
            analyze_main([str(path), "--fps", "30", "--quiet", *extra])
            figures[f"{label}_s"] = round(time.perf_counter() - start, 2)
            figures[f"{label}_cpu_s"] = round(time.process_time() - cpu, 2)  # less sensitive to a busy machine
        figures["frames_csv_mb"] = round((Path(folder) / "bench_analysis" / "frames.csv").stat().st_size / 1e6, 1)
    emit(figures)


if __name__ == "__main__":
    main()

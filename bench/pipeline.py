"""End-to-end tracking speed and memory: `python -m bench.pipeline` prints one JSON line.

Runs `tracker.runner.track_video` on the real 5-frame 1280x720 clip with random-weight HRNets (W32 256x192 and
W48 384x288), DIS flow and three fixed person boxes per frame standing in for the detector (a random-weight
detector finds no persons). Reports frames/s, seconds per stage (decode, detect, flow, pose, associate,
render, write), the time inside the HRNet forwards, the overhead (wall time minus forwards, flow and decoding)
and peak memory. Peak memory is compared for the clip looped to 300 and to 3,000 frames with every output
written (video, streamed JSON, CSV), the tiny HRNet and no flow-propagated boxes (random poses would otherwise
add boxes frame after frame), with the memory at a tenth, half and the end of the run: it must stay flat as
the video grows. Each configuration runs in its own process, so that peak RSS belongs to that run alone. The
`preset_*` runs are the two presets end to end on a runtime (`auto`: OpenVINO, bf16 where the CPU has it;
`torch`: before): their random-weight detector runs its real forward on every frame it is due (timed as the
detect stage), and seven fixed boxes (about the clip's persons) replace its output. A first untimed pass over
the same frames (`warmup_s`) keeps start-up out of the frames/s: OpenVINO compiles or loads its models there,
and plans its kernels for each batch size it has not seen (W48: about 0.2 s more on that call), as a long
video does once for its few batch sizes. `fast` runs the clip looped 4 times (20 frames, 4 detector calls);
W48 384x288 runs on the first 3 frames to keep the benchmark within minutes on 2 cores; torch with 1 vs 2
intra-op threads is measured with W32.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CLIP = Path(__file__).resolve().parents[2] / "shared/reference/posetrack/data/videos/000001_mpiinew_test/" \
    "000001_mpiinew_test.mp4"
# Three persons of the clip (x1, y1, x2, y2, score), drifting right by 4 px per frame.
PERSONS = np.array([[360, 270, 560, 580, 0.95], [600, 256, 840, 520, 0.9], [600, 390, 850, 530, 0.8]], np.float32)
# The preset runs: seven persons, about as many as the clip shows.
CROWD = np.concatenate([PERSONS, np.array([[80, 300, 240, 640, 0.9], [900, 280, 1040, 600, 0.85],
                                           [1060, 240, 1200, 560, 0.85], [200, 120, 320, 400, 0.7]], np.float32)])

# The memory runs need many frames, not a big network: the tiny HRNet of the reference tests.
TINY = str(Path(__file__).resolve().parents[1] / "examples" / "hrnet_tiny_reference.yaml")
RUNS = {  # name: (preset or None, model config, flip, frames or None for all, loops, threads,
    #         flow-propagated boxes, network runtime)
    "w32_256x192": (None, "hrnet_w32_256x192.yaml", True, None, 1, 0, True, "torch"),
    "w32_256x192_noflip_1thread": (None, "hrnet_w32_256x192.yaml", False, None, 1, 1, True, "torch"),
    "w32_256x192_noflip_2threads": (None, "hrnet_w32_256x192.yaml", False, None, 1, 2, True, "torch"),
    "w48_384x288_noflip": (None, "hrnet_w48_384x288.yaml", False, 3, 1, 0, True, "torch"),
    "memory_300_frames": (None, TINY, False, None, 60, 0, False, "torch"),
    "memory_3000_frames": (None, TINY, False, None, 600, 0, False, "torch"),
    "preset_fast_torch": ("fast", "hrnet_w32_256x192.yaml", False, None, 4, 0, True, "torch"),
    "preset_fast_auto": ("fast", "hrnet_w32_256x192.yaml", False, None, 4, 0, True, "auto"),
    "preset_accurate_torch": ("accurate", "hrnet_w48_384x288.yaml", True, 3, 1, 0, True, "torch"),
    "preset_accurate_auto": ("accurate", "hrnet_w48_384x288.yaml", True, 3, 1, 0, True, "auto"),
}


class _TimedNetwork:
    """Wraps a network callable and adds up the seconds spent in its calls."""

    def __init__(self, network) -> None:
        self.network, self.seconds = network, 0.0

    def __call__(self, inputs):
        start = time.perf_counter()
        try:
            return self.network(inputs)
        finally:
            self.seconds += time.perf_counter() - start


def looped_clip(loops: int, folder: Path) -> Path:
    """The clip repeated `loops` times, written as an MP4 (the clip itself for 1)."""
    if loops == 1:
        return CLIP
    from tracker.io.video import VideoSource
    from tracker.io.video_writer import VideoWriter

    frames = [frame.image for frame in VideoSource(CLIP)]
    target = folder / f"loop{loops}.mp4"
    with VideoWriter(target, 30.0, frames[0].shape[1], frames[0].shape[0]) as writer:
        for _ in range(loops):
            for image in frames:
                writer.write(image)
    return target


def current_rss_mb() -> float:
    """This process's resident memory now (Linux /proc), in MB."""
    fields = Path("/proc/self/statm").read_text().split()
    return int(fields[1]) * resource.getpagesize() / 2 ** 20


LOOK_AHEAD = "look_ahead_fast"
"""The run comparing per-frame detection with the detector looking ahead, round-robin in one process."""


def look_ahead_worker(reps: int = 3, batch: int = 4, loops: int = 8) -> dict:
    """The `fast` preset with its real detector (random weights, so its boxes are few and the detector's
    time shows) on the clip looped `loops` times: detecting frame by frame (as before the look-ahead) and
    looking ahead in batches of `batch` (`detection.lookahead`, the default), `reps` runs each in turns
    after one untimed run each; frames/s of every run and the ratio of the medians."""
    import statistics

    import torch

    import detection
    import flow
    from common.runtime import Runtime
    from detection.lookahead import LookAhead
    from pose.estimator import PoseEstimator
    from tracker.config import load_track_config, resolve_config_path
    from tracker.runner import Models, configure_threads, track_video

    config = load_track_config(preset="fast")
    threads = configure_threads(config.runtime.threads, "cpu")
    runtime = Runtime.resolve("cpu", config.runtime.engine, config.runtime.precision, threads)
    torch.manual_seed(0)
    estimator = PoseEstimator.from_config(resolve_config_path(config.pose.config), None, flip=config.pose.flip,
                                          runtime=runtime)
    every = config.detection.detect_every
    torch.manual_seed(1)
    per_frame = detection.create(config.detection.detector, weights=None, runtime=runtime, batch_size=1)
    torch.manual_seed(1)  # the same random weights
    batched = detection.create(config.detection.detector, weights=None, runtime=runtime, batch_size=batch)
    sources = {"per_frame": per_frame, f"look_ahead_batch{batch}": LookAhead(batched, every, every * (batch - 1))}
    rates: dict[str, list[float]] = {name: [] for name in sources}
    with tempfile.TemporaryDirectory() as folder:
        video = looped_clip(loops, Path(folder))
        for rep in range(reps + 1):
            for name, boxes in sources.items():
                out = Path(folder) / f"{name}{rep}"
                out.mkdir()
                summary = track_video(str(video), Models(estimator, boxes, flow.create("dis")), config, out)
                if rep:  # the first run of each compiles OpenVINO's models and plans its batch sizes
                    rates[name].append(round(summary.frames / summary.seconds, 3))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    first, second = medians
    return {"runtime": runtime.engine, "precision": runtime.precision, "detector": config.detection.detector,
            "detect_every": every, "frames": 5 * loops, "fps": rates,
            f"ratio_{second}_to_{first}": round(medians[second] / medians[first], 3)}


def worker(name: str) -> dict:
    """One configuration in this process: its figures as a dict."""
    if name == LOOK_AHEAD:
        return look_ahead_worker()

    import torch

    import detection
    import flow
    from common.runtime import Runtime
    from detection.protocol import ImageBoxSource
    from pose.estimator import PoseEstimator
    from tracker.config import load_track_config, resolve_config_path
    from tracker.runner import Models, configure_threads, track_video

    preset, model_config, flip, frames, loops, threads, propagate, engine = RUNS[name]
    # Random weights make poses, and so propagated boxes, that never die out; the memory runs turn
    # propagated boxes off so that every frame costs the same (3 crops) however long the video.
    overrides = {"runtime": {"end": frames, "threads": threads, "engine": engine}, "poses": {"min_pose_score": 0.0}}
    if not propagate:
        overrides["flow"] = {"box_min_keypoints": 18}
    config = load_track_config(preset=preset, overrides=overrides)
    threads = configure_threads(config.runtime.threads, "cpu")
    torch.manual_seed(0)  # the same random HRNet in every run
    runtime = Runtime.resolve("cpu", engine, "auto", threads)
    estimator = PoseEstimator.from_config(resolve_config_path(model_config), None, flip=flip, runtime=runtime)
    estimator.model = forward = _TimedNetwork(estimator.model)
    detector, persons = None, PERSONS
    if preset is not None:  # the preset's detector, random weights, its forward run and timed
        detector = detection.create(config.detection.detector, weights=None, runtime=runtime)
        persons = CROWD

    rss_at = {}
    total = frames or 5 * loops

    class FixedBoxes(ImageBoxSource):
        """The fixed persons, drifting as in the clip: stand in for the detector's output."""

        def boxes(self, frame, image):
            for fraction, at in ((10, total // 10), (2, total // 2)):
                if frame.index <= at:  # the last call by then (a detector every 5th frame may skip `at`)
                    rss_at[f"1/{fraction}"] = round(current_rss_mb(), 1)
            if detector is not None:
                detector.boxes(frame, image)
            moved = persons.copy()
            moved[:, [0, 2]] += 4 * (frame.index % 5)
            return moved

    models = Models(estimator, FixedBoxes(), flow.create("dis"))
    with tempfile.TemporaryDirectory() as folder:
        video = looped_clip(loops, Path(folder))
        out = Path(folder) / "out"
        out.mkdir()
        warmup = 0.0
        if preset is not None:  # a first pass: OpenVINO compiles, and plans each batch size, once
            start = time.perf_counter()
            track_video(str(video), models, config, out)
            warmup = time.perf_counter() - start
            shutil.rmtree(out)
            out.mkdir()
            forward.seconds = 0.0
        summary = track_video(str(video), models, config, out)
    stages = summary.stages
    overhead = (summary.seconds - forward.seconds - stages.get("flow", 0.0) - stages.get("decode", 0.0)
                - (stages.get("detect", 0.0) if detector is not None else 0.0))
    return {
        "frames": summary.frames, "persons": summary.persons, "flip": flip, "threads": threads,
        "runtime": runtime.engine, "precision": runtime.precision,
        "detector": config.detection.detector if detector is not None else "none: fixed boxes",
        "warmup_s": round(warmup, 3),
        "fps": round(summary.frames / summary.seconds, 3), "wall_s": round(summary.seconds, 3),
        "stages_s": {stage: round(value, 3) for stage, value in stages.items()},
        "forward_s": round(forward.seconds, 3), "overhead_s": round(overhead, 3),
        "overhead_fraction": round(overhead / summary.seconds, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_mb_along_the_run": {**rss_at, "end": round(current_rss_mb(), 1)},
    }


def main(argv: list[str] | None = None) -> None:
    """Run every configuration in a child process and print one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=[*RUNS, LOOK_AHEAD], help=argparse.SUPPRESS)
    parser.add_argument("--only", nargs="+", choices=[*RUNS, LOOK_AHEAD], help="run only these configurations")
    args = parser.parse_args(argv)
    if args.worker:
        sys.stdout.write(json.dumps(worker(args.worker)) + "\n")
        return
    from bench.machine import emit

    results = {}
    for name in args.only or [*RUNS, LOOK_AHEAD]:
        done = subprocess.run([sys.executable, "-m", "bench.pipeline", "--worker", name], check=True,
                              capture_output=True, text=True)
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    figures = {"benchmark": "pipeline", "clip": CLIP.name,
               "boxes": "three fixed boxes per frame (seven in the preset runs)", "flow": "dis", "weights": "random",
               "runs": results}
    if "memory_300_frames" in results and "memory_3000_frames" in results:
        figures["peak_rss_growth_mb_300_to_3000_frames"] = round(
            results["memory_3000_frames"]["peak_rss_mb"] - results["memory_300_frames"]["peak_rss_mb"], 1)
    emit(figures)


if __name__ == "__main__":
    main()

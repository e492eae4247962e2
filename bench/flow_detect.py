"""Speed of the first pipeline stages: DIS flow, RAFT-small and torchvision detectors.

DIS runs per preset and working scale; RAFT-small and the detectors with random weights, the
detectors per runtime: plain torchvision, torch as hrtrack runs it (RoIAlign on every core), and
OpenVINO fp32 and bf16 (backbone, FPN and heads compiled, converted once and cached under
$HRTRACK_HOME/openvino). Prints one JSON line.

Run from the repository root: `python -m bench.flow_detect` (a few minutes on 2 cores).
Frames are a seeded synthetic texture (noise at 3 scales) moved by a known sub-pixel shift, so DIS entries also give
their end-point error (px, median over the interior), the accuracy side of the speed trade.
"""
from __future__ import annotations

import argparse
import time

import cv2
import numpy as np
import torch

import detection
import flow
from bench.machine import emit
from common.runtime import cpu_has_bf16
from flow.dis import PRESETS

SHIFT = (2.3, -1.1)
SIZES = {"1280x720": (1280, 720), "640x360": (640, 360)}
SCALES = (1.0, 0.5, 0.25)
DETECTORS = ("fasterrcnn_resnet50_fpn_v2", "fasterrcnn_mobilenet_v3_large_fpn")


def _pair(size_wh: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A textured RGB frame (noise at 3 scales, coarse strongest) and it moved by SHIFT pixels."""
    width, height = size_wh
    frame = np.zeros((height, width, 3), dtype=np.float32)
    for step, weight in ((32, 1.0), (8, 0.5), (2, 0.25)):
        noise = rng.uniform(0, 255, (height // step + 2, width // step + 2, 3)).astype(np.float32)
        frame += weight * cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    frame = np.clip(frame / 1.75, 0, 255).astype(np.uint8)
    matrix = np.float32([[1, 0, SHIFT[0]], [0, 1, SHIFT[1]]])
    moved = cv2.warpAffine(frame, matrix, (width, height), flags=cv2.INTER_CUBIC,
                           borderMode=cv2.BORDER_REFLECT)
    return frame, moved


def _rate(step, min_seconds: float, min_calls: int) -> float:
    """Calls per second of `step()` after one warm-up call, over >= min_seconds and min_calls."""
    step()
    calls, start = 0, time.perf_counter()
    while calls < min_calls or time.perf_counter() - start < min_seconds:
        step()
        calls += 1
    return calls / (time.perf_counter() - start)


def bench_dis(rng: np.random.Generator, seconds: float) -> dict:
    """frames/s and end-point error of DIS per size, preset and working scale."""
    figures = {}
    for size_name, size_wh in SIZES.items():
        prev, cur = _pair(size_wh, rng)
        for preset in PRESETS:
            for scale in SCALES:
                estimator = flow.create("dis", preset=preset, scale=scale)
                field = estimator.flow(prev, cur)
                inner = field[32:-32, 32:-32].reshape(-1, 2) - np.array(SHIFT)
                figures[f"{size_name}_{preset}_scale{scale}"] = {
                    "fps": round(_rate(lambda e=estimator, a=prev, b=cur: e.flow(a, b), seconds, 3), 1),
                    "epe_px": round(float(np.median(np.hypot(inner[:, 0], inner[:, 1]))), 3)}
    return figures


def bench_raft(rng: np.random.Generator, seconds: float) -> dict:
    """frames/s of RAFT-small (random weights, 12 iterations) at 640x360."""
    torch.manual_seed(0)
    estimator = flow.create("raft_small", weights=None, iterations=12)
    prev, cur = _pair(SIZES["640x360"], rng)
    return {"640x360_iterations12": round(_rate(lambda: estimator.flow(prev, cur), seconds, 2), 3)}


def bench_detectors(rng: np.random.Generator, seconds: float) -> dict:
    """frames/s of torchvision detectors (random weights, default input resizing) at 1280x720: plain
    torchvision at batch 1, torch at batch 1 and 4, and OpenVINO (fp32, and bf16 where the CPU has it)."""
    frame, _ = _pair(SIZES["1280x720"], rng)
    runs = [("plain", "fp32", 1), ("torch", "fp32", 1), ("torch", "fp32", 4), ("openvino", "fp32", 1)]
    if cpu_has_bf16():
        runs.append(("openvino", "bf16", 1))
    figures = {}
    for name in DETECTORS:
        for runtime, precision, batch in runs:
            torch.manual_seed(0)
            detector = detection.create(name, weights=None, batch_size=batch,
                                        engine="torch" if runtime == "plain" else runtime, precision=precision)
            if runtime == "plain":  # torchvision's own single-core RoIAlign back
                detector.model.roi_heads.box_roi_pool = detector.model.roi_heads.box_roi_pool.pool
            frames = [frame] * batch
            figures[f"{name}_{runtime}_{precision}_batch{batch}"] = round(
                batch * _rate(lambda d=detector, f=frames: d.detect(f), seconds, 1), 3)
    return figures


def main(argv: list[str] | None = None) -> None:
    """Run the three benchmarks and print their JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0,
                        help="minimum timed seconds per setting (default 1)")
    parser.add_argument("--detectors-only", action="store_true", help="time the detectors only")
    args = parser.parse_args(argv)
    if args.detectors_only:
        emit({"benchmark": "flow_detect",
              "detector_fps_1280x720_random_weights": bench_detectors(np.random.default_rng(0), args.seconds)})
        return
    rng = np.random.default_rng(0)
    default = flow.create("dis")
    emit({"benchmark": "flow_detect",
          "dis_default": {"preset": default.preset, "scale": default.scale},
          "dis": bench_dis(rng, args.seconds),
          "raft_small_fps": bench_raft(rng, args.seconds),
          "detector_fps_1280x720_random_weights": bench_detectors(rng, args.seconds)})


if __name__ == "__main__":
    main()

"""Speed of the HRNet pose networks on this machine: `python -m bench.pose_model [--quick]`.

Prints one JSON line: crops/s of W32-256x192 and W48-384x288 (random weights) at batch 1 and 16
for each way to run them: the plain un-folded torch fp32 network (the official forward),
today's torch path (BatchNorm folded, channels_last), OpenVINO fp32 and OpenVINO bf16 (where the
CPU has AMX or AVX-512 bf16); the GFLOP/s achieved (multiply-adds x 2 / time); the GFLOP/s of a
2048x2048 fp32 matmul on the same threads; the paper's GFLOPs (MACs/2^30); the speed-up of each
over the plain network. Variants are timed round-robin so that load from other processes hits
them alike, and each figure is the fastest of its timed calls. OpenVINO models are converted once
and cached under $HRTRACK_HOME/openvino. `--quick` times batch 1 only.
"""
from __future__ import annotations

import argparse
import copy
import os
import time

import torch
from torch import nn

from bench.machine import emit
from common.runtime import cpu_has_bf16
from pose.config import load_model_config
from pose.flops import conv_multiply_adds, paper_gflops
from pose.hrnet import build_model, fold_batchnorm

MODELS = ("hrnet_w32_256x192", "hrnet_w48_384x288")
# Timed calls per variant for each (model, batch).
REPEATS = {("hrnet_w32_256x192", 1): 3, ("hrnet_w32_256x192", 16): 2,
           ("hrnet_w48_384x288", 1): 2, ("hrnet_w48_384x288", 16): 2}


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of one (size x size) @ (size x size) fp32 matmul, fastest of `repeats` calls."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator)
    b = torch.randn(size, size, generator=generator)
    for _ in range(2):
        torch.matmul(a, b)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b)
        times.append(time.perf_counter() - start)
    return 2 * size ** 3 / min(times) / 1e9


def _variants(model: nn.Module, size_wh: tuple[int, int]) -> dict[str, nn.Module]:
    """The ways to run `model` (copies; `model` itself is the plain one)."""
    from pose.runtime.openvino_model import OpenVINONetwork

    folded = fold_batchnorm(model)
    width, height = size_wh
    example = torch.zeros(1, 3, height, width)
    variants = {"plain": model, "torch_today": copy.deepcopy(folded).to(memory_format=torch.channels_last),
                "openvino_fp32": OpenVINONetwork(folded, example, precision="fp32")}
    if cpu_has_bf16():
        variants["openvino_bf16"] = OpenVINONetwork(folded, example, precision="bf16")
    return variants


def _inputs(variant: str, batch: int, size_wh: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
    width, height = size_wh
    x = torch.randn(batch, 3, height, width, generator=generator)
    return x.contiguous(memory_format=torch.channels_last) if variant == "torch_today" else x


@torch.inference_mode()
def time_variants(models: dict[str, nn.Module], batch: int, size_wh: tuple[int, int],
                  repeats: int, seed: int = 0) -> dict[str, float]:
    """Fastest seconds per forward of `batch` crops for each variant, timed round-robin.

    The minimum, not the mean: other processes only ever add time. Batch 1 gets an untimed
    warm-up call per variant (oneDNN primitive creation); a big batch costs too much to throw a
    call away, so its first call counts, and with 2+ repeats the minimum drops it.
    """
    generator = torch.Generator().manual_seed(seed)
    inputs = {name: _inputs(name, batch, size_wh, generator) for name in models}
    if batch == 1:
        for name, model in models.items():
            model(inputs[name])
    times: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(repeats):
        for name, model in models.items():
            start = time.perf_counter()
            model(inputs[name])
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}


def bench_model(name: str, batches: tuple[int, ...]) -> dict:
    """Crops/s, GFLOP/s and speed-up over the plain network per variant and batch."""
    config = load_model_config(name)
    with torch.device("meta"):
        macs = conv_multiply_adds(build_model(config).eval(), config.image_size)
    torch.manual_seed(0)
    variants = _variants(build_model(config).eval(), config.image_size)
    crops, gflops, speedup = {}, {}, {}
    for batch in batches:
        seconds = time_variants(variants, batch, config.image_size, REPEATS.get((name, batch), 2))
        key = f"batch{batch}"
        crops[key] = {v: round(batch / s, 3) for v, s in seconds.items()}
        gflops[key] = {v: round(2 * macs * batch / s / 1e9, 2) for v, s in seconds.items()}
        speedup[key] = {v: round(seconds["plain"] / s, 2) for v, s in seconds.items() if v != "plain"}
    return {"conv_multiply_adds": macs, "paper_gflops": round(paper_gflops(macs), 2),
            "crops_per_s": crops, "gflops_per_s": gflops, "speedup_vs_plain": speedup}


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="batch 1 only (a smoke run)")
    args = parser.parse_args(argv)
    batches = (1,) if args.quick else (1, 16)
    start = time.perf_counter()
    load_start = os.getloadavg()[0]
    matmul = matmul_gflops()
    results = {name: bench_model(name, batches) for name in MODELS}
    emit({
        "benchmark": "pose_model",
        "weights": "random",
        "matmul_2048_gflops_per_s": round(matmul, 2),
        "models": results,
        "loadavg_1min": {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)},
        "seconds": round(time.perf_counter() - start, 1),
    })


if __name__ == "__main__":
    main()

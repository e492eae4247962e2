"""Speed of the HRNet pose networks on this machine: `python -m bench.pose_model [--quick]`.

Prints one JSON line: crops/s of W32-256x192 and W48-384x288 (random weights, fp32) at batch 1
and 16, for the plain network, BatchNorm folded, channels_last and both; with flip test (twice
the crops through the net) for the fastest variant; the GFLOP/s achieved (multiply-adds x 2 /
time); the GFLOP/s of a 2048x2048 fp32 matmul on the same threads; the paper's GFLOPs (MACs/2^30).
Variants are timed round-robin so that load from other processes hits them alike, and each figure
is the fastest of its timed calls. `--quick` times batch 1 only.
"""
from __future__ import annotations

import argparse
import copy
import os
import time

import torch
from torch import nn

from bench.machine import emit
from pose.config import load_model_config
from pose.flops import conv_multiply_adds, paper_gflops
from pose.hrnet import build_model, fold_batchnorm

MODELS = ("hrnet_w32_256x192", "hrnet_w48_384x288")
# Timed calls per variant for each (model, batch).
REPEATS = {("hrnet_w32_256x192", 1): 3, ("hrnet_w32_256x192", 16): 2,
           ("hrnet_w48_384x288", 1): 2, ("hrnet_w48_384x288", 16): 2}
# Batch 16 of W48 (1.1 TFLOP per call) is timed for the fastest variant only.
BATCH16_ALL_VARIANTS = {"hrnet_w32_256x192"}


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


def _variants(model: nn.Module) -> dict[str, nn.Module]:
    """The four ways to run `model`: as is, BN folded, channels_last, both (copies, `model` kept)."""
    folded = fold_batchnorm(model)
    return {
        "plain": model,
        "folded": folded,
        "channels_last": copy.deepcopy(model).to(memory_format=torch.channels_last),
        "folded_channels_last": copy.deepcopy(folded).to(memory_format=torch.channels_last),
    }


def _inputs(variant: str, batch: int, size_wh: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
    width, height = size_wh
    x = torch.randn(batch, 3, height, width, generator=generator)
    return x.contiguous(memory_format=torch.channels_last) if "channels_last" in variant else x


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
    """Crops/s and GFLOP/s per variant and batch, plus flip-test crops/s of the fastest variant."""
    config = load_model_config(name)
    with torch.device("meta"):
        macs = conv_multiply_adds(build_model(config).eval(), config.image_size)
    torch.manual_seed(0)
    variants = _variants(build_model(config).eval())
    crops, gflops, fastest = {}, {}, {}
    for batch in batches:
        chosen = variants
        if batch > 1 and name not in BATCH16_ALL_VARIANTS:
            chosen = {fastest[1]: variants[fastest[1]]}
        seconds = time_variants(chosen, batch, config.image_size, REPEATS.get((name, batch), 2))
        crops[f"batch{batch}"] = {v: round(batch / s, 3) for v, s in seconds.items()}
        gflops[f"batch{batch}"] = {v: round(2 * macs * batch / s / 1e9, 2) for v, s in seconds.items()}
        fastest[batch] = min(seconds, key=seconds.get)
    best = fastest[batches[-1]]
    flip = {}
    for batch in batches:
        # Flip test: every crop and its mirror image go through the network in one batch.
        seconds = time_variants({best: variants[best]}, 2 * batch, config.image_size,
                                repeats=1 if batch > 1 else 3)
        flip[f"batch{batch}"] = round(batch / seconds[best], 3)
    return {
        "conv_multiply_adds": macs,
        "paper_gflops": round(paper_gflops(macs), 2),
        "crops_per_s": crops,
        "gflops_per_s": gflops,
        "flip_variant": best,
        "flip_crops_per_s": flip,
    }


def _faster(results: dict, batch_key: str, with_: str, without: str) -> dict[str, float]:
    """Speed ratio with/without a change, per model, where both were timed."""
    ratios = {}
    for name, figures in results.items():
        row = figures["crops_per_s"].get(batch_key, {})
        if with_ in row and without in row:
            ratios[name] = round(row[with_] / row[without], 3)
    return ratios


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
    ratios = {}
    for batch in batches:
        key = f"batch{batch}"
        ratios[key] = {
            "folded_vs_plain": _faster(results, key, "folded", "plain"),
            "channels_last_vs_plain": _faster(results, key, "channels_last", "plain"),
            "folded_channels_last_vs_folded": _faster(results, key, "folded_channels_last", "folded"),
        }
    emit({
        "benchmark": "pose_model",
        "dtype": "float32",
        "weights": "random",
        "matmul_2048_gflops_per_s": round(matmul, 2),
        "models": results,
        "speedup": ratios,
        "loadavg_1min": {"start": round(load_start, 2), "end": round(os.getloadavg()[0], 2)},
        "seconds": round(time.perf_counter() - start, 1),
    })


if __name__ == "__main__":
    main()

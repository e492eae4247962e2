"""Counting a network's convolution multiply-adds, the way the HRNet paper reports "GFLOPs".

The paper's (and the official README's) GFLOPs are conv multiply-adds / 2**30: BN, ReLU, additions,
upsampling and conv bias adds are not counted.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["conv_multiply_adds", "paper_gflops"]


@torch.no_grad()
def conv_multiply_adds(model: nn.Module, image_size: tuple[int, int], batch: int = 1) -> int:
    """Multiply-adds of every Conv2d in one forward of a zero (batch,3,H,W) input.

    `image_size` is (width, height). Each conv counts weight.numel() x output H x W per sample
    (the official count). Runs on the model's device and dtype, in its current train/eval mode.
    """
    total = 0

    def count(module: nn.Conv2d, _inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        total += module.weight.numel() * output.shape[0] * output.shape[2] * output.shape[3]

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, nn.Conv2d)]
    try:
        parameter = next(model.parameters())
        width, height = image_size
        model(torch.zeros(batch, 3, height, width, dtype=parameter.dtype, device=parameter.device))
    finally:
        for hook in hooks:
            hook.remove()
    return total


def paper_gflops(multiply_adds: int) -> float:
    """Multiply-adds in the paper's GFLOPs unit (/ 2**30): 7.12 for W32-256x192."""
    return multiply_adds / 2 ** 30

"""A torchvision detector's backbone (body + FPN) run by OpenVINO on the CPU.

The backbone is most of a detector's time (ResNet-50-FPN: 2.4 of 4.7 s per 1280x720 frame in torch
fp32); the RPN and the RoI heads stay in torch. A model is converted and compiled per input size
(batch, padded height and width) when that size first comes, and cached on disk: a video's frames
all have one size, and a static model converts several times faster than one with free H and W
(MobileNet-v3-FPN: 31 s against 117 s on a loaded 2-core machine) and runs at least as fast.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from pose.runtime.openvino_model import OpenVINONetwork

__all__ = ["OpenVINOBackbone"]

SIZES_KEPT = 4
"""Compiled input sizes kept in memory (batch, height, width)."""
_EXAMPLE_SIZE = (64, 64)  # for reading the names of the features


class OpenVINOBackbone(nn.Module):
    """Drop-in for `model.backbone`: (B,3,H,W) normalised images -> the same OrderedDict of feature
    maps ("0", "1", ..., "pool") as the torch backbone, computed in `precision` (fp32 or bf16)."""

    def __init__(self, backbone: nn.Module, *, precision: str = "fp32", threads: int = 0) -> None:
        super().__init__()
        self.out_channels = backbone.out_channels  # what torchvision's heads read
        example = torch.zeros(1, 3, *_EXAMPLE_SIZE)
        with torch.no_grad():
            self.names = list(backbone.eval()(example))
        self.network = OpenVINONetwork(_AsTuple(backbone), example, precision=precision, threads=threads,
                                       shapes_kept=SIZES_KEPT)

    def forward(self, images: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        outputs = self.network.run(images.detach().float().contiguous().cpu().numpy())
        return OrderedDict((name, torch.from_numpy(output)) for name, output in zip(self.names, outputs))


class _AsTuple(nn.Module):
    """The backbone with its dict of features returned as a tuple, in the dict's order."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(self.backbone(images).values())

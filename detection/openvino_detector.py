"""A torchvision detector's networks run by OpenVINO on the CPU, the bookkeeping between them in torch.

Two compiled models replace the torch ones. The backbone, FPN and dense head (the RPN head, or
RetinaNet's head) form one model, converted per input size (batch, padded height and width) when
that size first comes: a video's frames all share one size, and a static model converts several
times faster than one with free H and W and runs at least as fast. The R-CNN box head is a second
model with the number of regions free. Anchors, proposal selection, RoIAlign and NMS stay in torch.

Measured on Faster R-CNN v2 at 1280x720 (2 cores, torch fp32): of 5.2 s per frame the backbone and
FPN took 2.4 s, the RPN head and the box head (four 3x3 convolutions on 1,000 regions) most of the
rest; hence both heads are compiled too.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.utils._pytree as pytree
from torch import nn

from pose.runtime.openvino_model import OpenVINONetwork

__all__ = ["OpenVINOBackbone", "OpenVINOBoxHead", "compile_for_openvino"]

SIZES_KEPT = 4
"""Compiled input sizes kept in memory (batch, height, width)."""
_EXAMPLE_SIZE = (64, 64)  # for reading the names and structure of the outputs


def compile_for_openvino(model: nn.Module, *, precision: str = "fp32", threads: int = 0) -> None:
    """Swap, in place, the networks of a torchvision R-CNN or RetinaNet for OpenVINO ones computing
    in `precision` ("fp32" or "bf16") on `threads` cores (0: every core)."""
    owner = model.get_submodule("rpn") if hasattr(model, "rpn") else model  # where the dense head lives
    backbone = OpenVINOBackbone(model.get_submodule("backbone"), owner.get_submodule("head"), precision=precision,
                                threads=threads)
    model.backbone = backbone
    owner.head = _HeadOutputs(backbone)
    if hasattr(model, "roi_heads"):
        roi_heads = model.get_submodule("roi_heads")
        pooled_size = roi_heads.get_submodule("box_roi_pool").output_size  # MultiScaleRoIAlign's (h, w)
        if not isinstance(pooled_size, (list, tuple)):
            raise TypeError(f"a torchvision box RoI pool has a list or tuple output_size, not {pooled_size!r}")
        roi_heads.box_head = OpenVINOBoxHead(roi_heads.get_submodule("box_head"), pooled_size,
                                             backbone.out_channels, precision=precision, threads=threads)


class OpenVINOBackbone(nn.Module):
    """Drop-in for `model.backbone`: (B,3,H,W) normalised images -> the same OrderedDict of feature
    maps ("0", "1", ..., "pool") as the torch backbone. The dense head's outputs for those features
    come from the same compiled call and wait for the head's drop-in (`head_outputs`)."""

    def __init__(self, backbone: nn.Module, head: nn.Module, *, precision: str = "fp32",
                 threads: int = 0) -> None:
        super().__init__()
        channels = backbone.out_channels  # what torchvision's heads read
        if not isinstance(channels, int):
            raise TypeError(f"a torchvision backbone has an int out_channels, not {channels!r}")
        self.out_channels = channels
        example = torch.zeros(1, 3, *_EXAMPLE_SIZE)
        with torch.no_grad():
            features = backbone.eval()(example)
            _, self.head_structure = pytree.tree_flatten(head.eval()(list(features.values())))
        self.names = list(features)
        self.network = OpenVINONetwork(_BackboneAndHead(backbone, head), example, precision=precision,
                                       threads=threads, shapes_kept=SIZES_KEPT)
        self._waiting: tuple[torch.Tensor, object] | None = None

    def forward(self, images: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        outputs = [torch.from_numpy(output) for output in
                   self.network.run(images.detach().float().contiguous().cpu().numpy())]
        features = OrderedDict(zip(self.names, outputs))
        head = pytree.tree_unflatten(outputs[len(self.names):], self.head_structure)
        self._waiting = (outputs[0], head)
        return features

    def head_outputs(self, features: list[torch.Tensor]) -> object:
        """The dense head's outputs for `features`, the maps this backbone returned last."""
        if self._waiting is None or features[0] is not self._waiting[0]:
            raise RuntimeError("the dense head was called on features the OpenVINO backbone did not make")
        head, self._waiting = self._waiting[1], None
        return head


class OpenVINOBoxHead(nn.Module):
    """Drop-in for an R-CNN `roi_heads.box_head`: (R, C, h, w) pooled regions -> (R, F) features,
    any number of regions R (none included)."""

    def __init__(self, box_head: nn.Module, pooled_size: list[int] | tuple[int, ...], channels: int, *,
                 precision: str = "fp32", threads: int = 0) -> None:
        super().__init__()
        example = torch.zeros(2, channels, *pooled_size)
        with torch.no_grad():
            self.out_features = box_head.eval()(example).shape[1]
        self.network = OpenVINONetwork(box_head, example, precision=precision, threads=threads)

    def forward(self, regions: torch.Tensor) -> torch.Tensor:
        if len(regions) == 0:
            return regions.new_zeros((0, self.out_features))
        return self.network(regions)


class _HeadOutputs(nn.Module):
    """Drop-in for the dense head: hands over what the OpenVINO backbone computed with the features."""

    def __init__(self, backbone: OpenVINOBackbone) -> None:
        super().__init__()
        self.take = backbone.head_outputs  # a bound method: the backbone is not a second submodule

    def forward(self, features: list[torch.Tensor]) -> object:
        return self.take(features)


class _BackboneAndHead(nn.Module):
    """Backbone and dense head as one network: images -> the feature maps, in the backbone's order,
    then the head's outputs flattened."""

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        features = list(self.backbone(images).values())
        return tuple(features) + tuple(pytree.tree_leaves(self.head(features)))

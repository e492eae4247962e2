"""A torchvision detector's networks run by OpenVINO on the CPU, the bookkeeping between them in torch.

Two compiled models replace the torch ones. The backbone, FPN and dense head (the RPN head, or
RetinaNet's head) form one model, converted per input size (batch, padded height and width) when
that size first comes: a video's frames all share one size, and a static model converts several
times faster than one with free H and W and runs at least as fast. The R-CNN box head is a second
model with the number of regions free. Anchors, proposal selection, RoIAlign and NMS stay in torch.

torchvision's forward asks for the feature maps and the dense head's outputs in two calls (backbone,
then head), while the compiled model gives both at once. So the compiled detector is a composed module
with its own inference forward, which feeds torchvision's own anchors, proposal selection, RoI heads
and post-processing from that one call.

Measured on Faster R-CNN v2 at 1280x720 (2 cores, torch fp32): of 5.2 s per frame the backbone and
FPN took 2.4 s, the RPN head and the box head (four 3x3 convolutions on 1,000 regions) most of the
rest; hence both heads are compiled too.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.retinanet import RetinaNet
from torchvision.models.detection.roi_heads import RoIHeads
from torchvision.models.detection.rpn import RegionProposalNetwork, concat_box_prediction_layers
from torchvision.models.detection.transform import GeneralizedRCNNTransform

from pose.runtime.openvino_model import OpenVINONetwork

__all__ = ["CompiledRCNN", "CompiledRetinaNet", "OpenVINOBoxHead", "OpenVINOFront", "compile_for_openvino"]

SIZES_KEPT = 4
"""Compiled input sizes kept in memory (batch, height, width)."""
_EXAMPLE_SIZE = (64, 64)  # for reading the names of the feature maps


def compile_for_openvino(model: nn.Module, *, precision: str = "fp32", threads: int = 0) -> nn.Module:
    """The inference of a torchvision R-CNN or RetinaNet (eval mode: a list of (3,H,W) images in [0, 1] ->
    a list of dicts of boxes, labels, scores) with its networks compiled by OpenVINO, computing in
    `precision` ("fp32" or "bf16") on `threads` cores (0: every core). `model`'s R-CNN box head is
    swapped in place for its compiled drop-in."""
    model.eval()
    if isinstance(model, RetinaNet):
        return CompiledRetinaNet(model, OpenVINOFront(model.backbone, model.head, precision=precision,
                                                      threads=threads))
    rpn, roi_heads, transform = (model.get_submodule(name) for name in ("rpn", "roi_heads", "transform"))
    if not (isinstance(rpn, RegionProposalNetwork) and isinstance(roi_heads, RoIHeads)
            and isinstance(transform, GeneralizedRCNNTransform)):
        raise TypeError(f"{type(model).__name__} is neither a torchvision R-CNN nor a RetinaNet")
    front = OpenVINOFront(model.get_submodule("backbone"), rpn.head, precision=precision, threads=threads)
    pooled_size = roi_heads.get_submodule("box_roi_pool").output_size  # MultiScaleRoIAlign's (h, w)
    if not isinstance(pooled_size, (list, tuple)):
        raise TypeError(f"a torchvision box RoI pool has a list or tuple output_size, not {pooled_size!r}")
    roi_heads.box_head = OpenVINOBoxHead(roi_heads.box_head, pooled_size, front.out_channels, precision=precision,
                                         threads=threads)
    return CompiledRCNN(transform, front, rpn, roi_heads)


class OpenVINOFront(nn.Module):
    """The backbone, FPN and dense head as one compiled call: (B,3,H,W) normalised images -> the feature
    maps (the backbone's OrderedDict: "0", "1", ..., "pool") and the head's outputs as a list of tensors
    (an RPN head: per level the objectness, then per level the box deltas; RetinaNet's head: the class
    logits, then the box regression)."""

    def __init__(self, backbone: nn.Module, head: nn.Module, *, precision: str = "fp32", threads: int = 0) -> None:
        super().__init__()
        channels = backbone.out_channels  # what torchvision's heads read
        if not isinstance(channels, int):
            raise TypeError(f"a torchvision backbone has an int out_channels, not {channels!r}")
        self.out_channels = channels
        example = torch.zeros(1, 3, *_EXAMPLE_SIZE)
        with torch.no_grad():
            self.names = list(backbone.eval()(example))
        self.network = OpenVINONetwork(_BackboneAndHead(backbone, head.eval()), example, precision=precision,
                                       threads=threads, shapes_kept=SIZES_KEPT)

    def forward(self, images: torch.Tensor) -> tuple[OrderedDict[str, torch.Tensor], list[torch.Tensor]]:
        outputs = [torch.from_numpy(output) for output in
                   self.network.run(images.detach().float().contiguous().cpu().numpy())]
        return OrderedDict(zip(self.names, outputs)), outputs[len(self.names):]


class _BackboneAndHead(nn.Module):
    """Backbone and dense head as one network: images -> the feature maps, in the backbone's order,
    then the head's outputs in `OpenVINOFront`'s order."""

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        features = list(self.backbone(images).values())
        outputs = self.head(features)
        if isinstance(outputs, dict):  # RetinaNet's head
            return (*features, outputs["cls_logits"], outputs["bbox_regression"])
        objectness, deltas = outputs  # an RPN head: two lists, one tensor per level
        return (*features, *objectness, *deltas)


# The two forwards below do at inference what torchvision's GeneralizedRCNN + RegionProposalNetwork and
# RetinaNet forwards do, calling the same methods of the same modules. Written against torchvision 0.29.1
# and checked against 0.28.0, whose detection modules (generalized_rcnn.py, rpn.py, retinanet.py,
# roi_heads.py, transform.py, anchor_utils.py) are identical; look again when the pin in setup.cfg moves.

class CompiledRCNN(nn.Module):
    """A Faster R-CNN's inference from `OpenVINOFront`: transform, the compiled backbone and RPN head,
    anchors and proposal selection (the `rpn`'s own), `roi_heads` (box head compiled), post-processing."""

    def __init__(self, transform: GeneralizedRCNNTransform, front: OpenVINOFront, rpn: RegionProposalNetwork,
                 roi_heads: RoIHeads) -> None:
        super().__init__()
        self.transform = transform
        self.front = front
        self.rpn = rpn
        self.roi_heads = roi_heads

    def forward(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        sizes = [(int(image.shape[-2]), int(image.shape[-1])) for image in images]
        batch, _ = self.transform(images)
        features, head = self.front(batch.tensors)
        levels = len(features)
        proposals = self._proposals(batch, list(features.values()), head[:levels], head[levels:])
        detections, _ = self.roi_heads(features, proposals, batch.image_sizes)
        return self.transform.postprocess(detections, batch.image_sizes, sizes)

    def _proposals(self, batch: ImageList, maps: list[torch.Tensor], objectness: list[torch.Tensor],
                   deltas: list[torch.Tensor]) -> list[torch.Tensor]:
        """The RPN's proposals per image from its head's outputs: anchors decoded, then selected."""
        anchors = self.rpn.anchor_generator(batch, maps)
        per_level = [int(scores[0].numel()) for scores in objectness]  # anchors x cells of each level
        scores, regression = concat_box_prediction_layers(objectness, deltas)
        proposals = self.rpn.box_coder.decode(regression, anchors).view(len(anchors), -1, 4)
        boxes, _ = self.rpn.filter_proposals(proposals, scores, batch.image_sizes, per_level)
        return boxes


class CompiledRetinaNet(nn.Module):
    """A RetinaNet's inference from `OpenVINOFront`: transform, the compiled backbone and head, then the
    `retinanet`'s own anchors, decoding and post-processing."""

    def __init__(self, retinanet: RetinaNet, front: OpenVINOFront) -> None:
        super().__init__()
        self.retinanet = retinanet
        self.front = front

    def forward(self, images: list[torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        net = self.retinanet
        sizes = [(int(image.shape[-2]), int(image.shape[-1])) for image in images]
        batch, _ = net.transform(images)
        features, (logits, regression) = self.front(batch.tensors)
        maps = list(features.values())
        anchors = net.anchor_generator(batch, maps)
        cells = [int(level.shape[2] * level.shape[3]) for level in maps]
        per_cell = logits.shape[1] // sum(cells)  # anchors per cell
        counts = [cell * per_cell for cell in cells]
        outputs = {"cls_logits": list(logits.split(counts, dim=1)),
                   "bbox_regression": list(regression.split(counts, dim=1))}
        detections = net.postprocess_detections(outputs, [list(a.split(counts)) for a in anchors], batch.image_sizes)
        return net.transform.postprocess(detections, batch.image_sizes, sizes)


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

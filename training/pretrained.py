"""Initialisation from an ImageNet-pretrained HRNet classification checkpoint.

The classification HRNet (`hrnet_w32-36af842e.pth` and its siblings) shares the stem, layer1, the
transitions and stages 2-4 with the pose network, key for key; its heads (`incre_modules`,
`downsamp_modules`, `final_layer`, `classifier`) do not fit. Strict loading is therefore loosened
on purpose here, and only here: a tensor is loaded when the pose model has the same key with the
same shape, and the counts say what happened.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
from torch import nn

from pose.state_dict import read_state_dict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InitReport:
    """Tensors copied from the checkpoint, checkpoint tensors left out, and model tensors not covered."""

    loaded: int
    skipped: int
    missing: int


def official_init(model: nn.Module, std: float = 0.001) -> None:
    """The official HRNet training init: convs N(0, std) with zero bias, BatchNorm weight 1 and bias 0."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


def load_matching(model: nn.Module, state_dict: dict[str, torch.Tensor]) -> InitReport:
    """Copy every tensor whose key and shape exist in `model`; the rest is counted, not loaded."""
    own = model.state_dict()
    matching = {key: value for key, value in state_dict.items()
                if key in own and tuple(own[key].shape) == tuple(value.shape)}
    model.load_state_dict(matching, strict=False)
    return InitReport(loaded=len(matching), skipped=len(state_dict) - len(matching),
                      missing=len(own) - len(matching))


def load_imagenet(model: nn.Module, path: str | os.PathLike) -> InitReport:
    """Initialise `model` from an ImageNet HRNet checkpoint file and log the counts."""
    report = load_matching(model, read_state_dict(path))
    log.info("ImageNet init from %s: loaded %d tensors, skipped %d of the checkpoint, "
             "%d model tensors keep their random init", path, report.loaded, report.skipped, report.missing)
    return report

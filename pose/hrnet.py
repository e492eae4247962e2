"""HRNet (Sun et al., CVPR 2019) for top-down pose estimation, laid out key for key like the
official checkpoints so that they load with `strict=True`.

The network: a stem of two stride-2 3x3 convs (64 channels), stage 1 of 4 bottlenecks (256
channels), then stages 2-4 of exchange modules over 2, 3 and 4 parallel branches (branch b at
1/(4*2**b) of the input), and a 1x1 conv from the highest-resolution branch to K heatmaps at 1/4
of the input. W32, W48 and small test models differ only in the constructor's numbers.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from itertools import pairwise
from typing import cast

import torch
from torch import nn

from pose.config import ConfigSource, load_model_config, make_stage
from pose.errors import PoseError

__all__ = ["HRNet", "build_model", "fold_batchnorm"]

STEM_CHANNELS = 64
LAYER1_BLOCKS = 4
BN_MOMENTUM = 0.1


def _conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def _conv1x1(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 1, bias=False)


def _with_gaps(units: list[nn.Module | None]) -> nn.ModuleList:
    """A ModuleList whose None entries are kept as gaps (torch allows them; typed as modules), so that
    parameter names keep the official checkpoints' indices."""
    return nn.ModuleList(cast("list[nn.Module]", units))


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, momentum=BN_MOMENTUM)


# Convention that `fold_batchnorm` relies on: every BatchNorm2d in this file is registered right
# after the Conv2d whose output it normalises, in the same parent module.


class BasicBlock(nn.Module):
    """Residual block of two 3x3 convs at constant width: relu(x + bn(conv(relu(bn(conv(x))))))."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = _conv3x3(channels, channels)
        self.bn1 = _bn(channels)
        self.conv2 = _conv3x3(channels, channels)
        self.bn2 = _bn(channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


class Bottleneck(nn.Module):
    """Residual 1x1-3x3-1x1 block widening `width` to 4*width; a 1x1 conv+BN shortcut when the
    input has another channel count."""

    expansion = 4

    def __init__(self, in_channels: int, width: int) -> None:
        super().__init__()
        out_channels = width * self.expansion
        self.conv1 = _conv1x1(in_channels, width)
        self.bn1 = _bn(width)
        self.conv2 = _conv3x3(width, width)
        self.bn2 = _bn(width)
        self.conv3 = _conv1x1(width, out_channels)
        self.bn3 = _bn(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if in_channels != out_channels:
            self.downsample = nn.Sequential(_conv1x1(in_channels, out_channels), _bn(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


def _downsampler(in_channels: int, out_channels: int, steps: int, last_relu: bool) -> nn.Sequential:
    """`steps` stride-2 3x3 conv+BN(+ReLU) steps, each a Sequential; channels change at the last.

    Exchange units put no ReLU after the last step (the module sums first); transitions do.
    """
    layers = []
    for step in range(steps):
        last = step == steps - 1
        out = out_channels if last else in_channels
        parts = [_conv3x3(in_channels, out, stride=2), _bn(out)]
        if not last or last_relu:
            parts.append(nn.ReLU(inplace=True))
        layers.append(nn.Sequential(*parts))
    return nn.Sequential(*layers)


class ExchangeModule(nn.Module):
    """One multi-resolution module: `num_blocks[b]` basic blocks on each branch b, then exchange
    units where output i sums every branch j brought to branch i's size and width, then ReLU.

    j > i: 1x1 conv + BN + nearest upsampling by 2**(j-i); j < i: (i-j) stride-2 3x3 convs;
    j == i: identity (a None entry, as in the official key layout). With `multi_scale_output`
    False only output 0 is computed (the last module of the network).
    """

    def __init__(self, channels: Sequence[int], num_blocks: Sequence[int], multi_scale_output: bool) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(*(BasicBlock(width) for _ in range(depth)))
            for width, depth in zip(channels, num_blocks))
        self.fuse_layers = None
        if len(channels) > 1:
            outputs = len(channels) if multi_scale_output else 1
            self.fuse_layers = nn.ModuleList(
                _with_gaps([self._exchange_unit(channels, j, i) for j in range(len(channels))])
                for i in range(outputs))
        self.relu = nn.ReLU(inplace=True)

    @staticmethod
    def _exchange_unit(channels: Sequence[int], source: int, target: int) -> nn.Module | None:
        if source == target:
            return None
        if source > target:
            return nn.Sequential(_conv1x1(channels[source], channels[target]), _bn(channels[target]),
                                 nn.Upsample(scale_factor=2 ** (source - target), mode="nearest"))
        return _downsampler(channels[source], channels[target], target - source, last_relu=False)

    def forward(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        """Branch tensors (N, C_b, H/2**b, W/2**b) in, the same (or only branch 0) out."""
        xs = [branch(x) for branch, x in zip(self.branches, inputs)]
        if self.fuse_layers is None:
            return xs
        outputs = []
        for units in self.fuse_layers:
            total = None
            for unit, x in zip(cast(nn.ModuleList, units), xs):
                term = x if unit is None else unit(x)
                total = term if total is None else total + term
            outputs.append(self.relu(total))
        return outputs


class HRNet(nn.Module):
    """HRNet pose network: (N,3,H,W) normalised RGB float -> (N,num_joints,H/4,W/4) heatmaps.

    `num_modules[s]`, `num_blocks[s]` and `num_channels[s]` describe stages 2, 3, 4 (s = 0, 1, 2):
    modules per stage, basic blocks per branch, channels per branch. H and W must be multiples of
    4 * 2**(branches - 1) (32 for the standard 4 branches). Parameter names, shapes and order equal
    the official `PoseHighResolutionNet`.
    """

    def __init__(self, *, num_joints: int, num_modules: Sequence[int],
                 num_blocks: Sequence[Sequence[int]], num_channels: Sequence[Sequence[int]]) -> None:
        super().__init__()
        if not len(num_modules) == len(num_blocks) == len(num_channels) == 3:
            raise PoseError(f"HRNet takes 3 stages: got {len(num_modules)} module counts, "
                            f"{len(num_blocks)} block lists and {len(num_channels)} channel lists")
        stages = [make_stage(f"stage {index + 2}", modules, blocks, channels)
                  for index, (modules, blocks, channels)
                  in enumerate(zip(num_modules, num_blocks, num_channels))]
        self.num_joints = num_joints
        self.conv1 = nn.Conv2d(3, STEM_CHANNELS, 3, stride=2, padding=1, bias=False)
        self.bn1 = _bn(STEM_CHANNELS)
        self.conv2 = nn.Conv2d(STEM_CHANNELS, STEM_CHANNELS, 3, stride=2, padding=1, bias=False)
        self.bn2 = _bn(STEM_CHANNELS)
        self.relu = nn.ReLU(inplace=True)
        layer1_channels = STEM_CHANNELS * Bottleneck.expansion
        self.layer1 = nn.Sequential(*(
            Bottleneck(STEM_CHANNELS if index == 0 else layer1_channels, STEM_CHANNELS)
            for index in range(LAYER1_BLOCKS)))
        previous = [layer1_channels]
        for number, stage in enumerate(stages, start=2):
            channels = list(stage.num_channels)
            self.add_module(f"transition{number - 1}", self._transition(previous, channels))
            last = number == 4
            self.add_module(f"stage{number}", nn.Sequential(*(
                ExchangeModule(channels, stage.num_blocks,
                               multi_scale_output=not (last and index == stage.num_modules - 1))
                for index in range(stage.num_modules))))
            previous = channels
        self.final_layer = nn.Conv2d(previous[0], num_joints, 1)

    @staticmethod
    def _transition(previous: list[int], current: list[int]) -> nn.ModuleList:
        """Per branch of the next stage: None (same width), conv3x3+BN+ReLU (new width), or for a
        new branch a chain of stride-2 steps from the previous stage's last branch."""
        units: list[nn.Module | None] = []
        for index, width in enumerate(current):
            if index < len(previous):
                units.append(None if width == previous[index] else nn.Sequential(
                    _conv3x3(previous[index], width), _bn(width), nn.ReLU(inplace=True)))
            else:
                steps = index + 1 - len(previous)
                units.append(_downsampler(previous[-1], width, steps, last_relu=True))
        return _with_gaps(units)

    def forward_features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """All intermediate outputs by name: "stem", "layer1", "stage{2,3,4}_{branch}" and
        "heatmaps" (the output of `forward`)."""
        features = {}
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        features["stem"] = x
        x = self.layer1(x)
        features["layer1"] = x
        branches = [x]
        for number in (2, 3, 4):
            transition = getattr(self, f"transition{number - 1}")
            inputs = []
            for index, unit in enumerate(transition):
                # A new branch grows from the lowest-resolution branch of the stage before. (The
                # official code feeds that branch to every transition unit; existing branches with
                # a width change after stage 2 never occur in its configs, where both agree.)
                source = branches[index] if index < len(branches) else branches[-1]
                inputs.append(source if unit is None else unit(source))
            branches = getattr(self, f"stage{number}")(inputs)
            for index, branch in enumerate(branches):
                features[f"stage{number}_{index}"] = branch
        features["heatmaps"] = self.final_layer(branches[0])
        return features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N,3,H,W) float -> (N,num_joints,H/4,W/4) heatmaps, same dtype and device."""
        return self.forward_features(x)["heatmaps"]


def build_model(source: ConfigSource) -> HRNet:
    """An HRNet with fresh (PyTorch default) weights for a model config: a YAML path, a shipped
    config name, a mapping in our or the official layout, or a ModelConfig."""
    config = load_model_config(source)
    return HRNet(num_joints=config.num_joints,
                 num_modules=[stage.num_modules for stage in config.stages],
                 num_blocks=[stage.num_blocks for stage in config.stages],
                 num_channels=[stage.num_channels for stage in config.stages])


@torch.no_grad()
def fold_batchnorm(model: HRNet) -> HRNet:
    """An eval-mode copy of `model` with every BatchNorm folded into the conv before it.

    Each conv gets weight * gamma/sqrt(var+eps) and a bias, each BN becomes an Identity, so the
    copy computes the same function (to float rounding) with fewer passes over memory. Uses the
    BN running statistics; the original model is left unchanged.
    """
    if not isinstance(model, HRNet):
        raise PoseError(f"fold_batchnorm takes an HRNet, got {type(model).__name__}")
    folded = copy.deepcopy(model).eval()
    for parent in list(folded.modules()):
        children = list(parent.named_children())
        for (_, conv), (bn_name, bn) in pairwise(children):
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                _fold_into(conv, bn)
                setattr(parent, bn_name, nn.Identity())
    return folded


def _fold_into(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    """Rewrite `conv` in place so that conv(x) equals the old bn(conv(x)) in eval mode."""
    if bn.weight is None or bn.bias is None or bn.running_mean is None or bn.running_var is None:
        raise PoseError("fold_batchnorm needs BatchNorm layers with affine parameters and running statistics.")
    factor = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
    bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(factor)
    weight = conv.weight.double() * factor.reshape(-1, 1, 1, 1)
    conv.weight.copy_(weight.to(conv.weight.dtype))
    new_bias = bn.bias.double() + (bias - bn.running_mean.double()) * factor
    conv.bias = nn.Parameter(new_bias.to(conv.weight.dtype), requires_grad=conv.weight.requires_grad)

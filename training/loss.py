"""The heatmap loss of the official HRNet training (JointsMSELoss, optionally with OHKM)."""
from __future__ import annotations

import torch
from torch import nn

from training.errors import TrainingError


class JointsMSELoss(nn.Module):
    """Half the mean squared error between predicted and target heatmaps (N,K,H,W).

    With `use_target_weight`, both maps of joint k are multiplied by its weight (N,K,1) first, so
    unlabelled joints contribute nothing. Without OHKM the result equals the official per-joint
    sum of 0.5 * MSE divided by K. With `ohkm`, each sample keeps only its `topk` largest
    per-joint losses (online hard keypoint mining), averaged over them and over the batch.
    """

    def __init__(self, use_target_weight: bool = True, ohkm: bool = False, topk: int = 8) -> None:
        super().__init__()
        if ohkm and topk < 1:
            raise TrainingError(f"loss.topk must be at least 1 with OHKM, got {topk}.")
        self.use_target_weight = use_target_weight
        self.ohkm = ohkm
        self.topk = topk

    def forward(self, output: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor) -> torch.Tensor:
        """Scalar loss from output and target (N,K,H,W) and target_weight (N,K,1)."""
        if output.shape != target.shape:
            raise TrainingError(f"heatmaps of shape {tuple(output.shape)} cannot be compared with targets "
                            f"of shape {tuple(target.shape)}; check the model's num_joints and heatmap_size.")
        difference = (output.float() - target.float()).flatten(2)
        if self.use_target_weight:
            difference = difference * target_weight.float()
        per_joint = 0.5 * difference.pow(2).mean(dim=2)  # (N,K)
        if not self.ohkm:
            return per_joint.mean()
        hardest = per_joint.topk(min(self.topk, per_joint.shape[1]), dim=1).values
        return hardest.mean()

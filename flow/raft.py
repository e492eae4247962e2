"""torchvision's RAFT (Teed and Deng, ECCV 2020), small and large, on CPU or CUDA."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torchvision.models import WeightsEnum

from common.torchvision_weights import load_torchvision_weights
from flow.errors import FlowError
from flow.frames import check_pair, field_from_tensor, padded_batch

MULTIPLE = 8
"""RAFT works at 1/8 resolution: inputs are padded to multiples of 8 and the field cropped back."""
MINIMUM = 128
"""torchvision's correlation pyramid needs feature maps of 16 or more: inputs of 128 or more."""


class RaftFlow:
    """RAFT flow with `iterations` refinement steps.

    `builder`, `weights_enum`: torchvision's `raft_small`/`raft_large` and its weights enum.
    `weights`: a member name of that enum ("DEFAULT", "C_T_V2", ...), loaded from torchvision's
    cache (`$TORCH_HOME/hub/checkpoints`) with its hash checked, or None for random weights (tests
    and benchmarks only).
    """

    def __init__(self, builder: Callable[..., nn.Module], weights_enum: type[WeightsEnum], *,
                 weights: str | None = "DEFAULT", iterations: int = 12,
                 device: str | torch.device = "cpu") -> None:
        if iterations < 1:
            raise FlowError(f"RAFT needs at least 1 iteration, not {iterations}.")
        model = builder(weights=None)
        if weights is not None:
            load_torchvision_weights(model, weights_enum, weights, FlowError)
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        self.iterations = int(iterations)

    @torch.inference_mode()
    def flow(self, prev_rgb: np.ndarray, cur_rgb: np.ndarray) -> np.ndarray:
        """RGB uint8 HxWx3 pair -> (H,W,2) float32 (dx, dy) moving pixels of prev to cur."""
        check_pair(prev_rgb, cur_rgb)
        batch, size_hw = padded_batch([prev_rgb, cur_rgb], MULTIPLE, self.device, MINIMUM)
        batch = batch * 2.0 - 1.0  # RAFT takes inputs in [-1, 1]
        # Full precision on every device: the correlation lookups lose sub-pixel detail in fp16.
        predictions = self.model(batch[:1], batch[1:], num_flow_updates=self.iterations)
        return field_from_tensor(predictions[-1], size_hw)

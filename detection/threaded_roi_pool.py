"""RoIAlign of an R-CNN on several cores: torchvision's CPU kernel runs on one core.

Once a detector's networks are compiled, pooling its 1,000 proposals is the largest part left in
torch (MobileNet-v3 Faster R-CNN at 1280x720 on 2 cores: 0.13 of 0.26 s per frame). The kernel
releases the GIL, so the regions are cut into one contiguous share per thread and pooled at once;
the result is the same tensor, in the same order, as one call.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import torch
from torch import nn

__all__ = ["ThreadedRoIPool"]

MIN_REGIONS_PER_THREAD = 64
"""Fewer regions than this per thread are pooled in one call: threads would cost more than they save."""


class ThreadedRoIPool(nn.Module):
    """Drop-in for an R-CNN's `roi_heads.box_roi_pool` (torchvision's MultiScaleRoIAlign) that pools
    on `threads` threads (0: torch's intra-op thread count at each call)."""

    def __init__(self, pool: nn.Module, threads: int = 0) -> None:
        super().__init__()
        self.pool = pool
        self.threads = threads
        self.output_size = pool.output_size  # read by code that sizes the box head's input

    def forward(self, features: dict[str, torch.Tensor], boxes: list[torch.Tensor],
                image_shapes: list[tuple[int, int]]) -> torch.Tensor:
        threads = min(self.threads or torch.get_num_threads(),
                      sum(len(image_boxes) for image_boxes in boxes) // MIN_REGIONS_PER_THREAD)
        if threads < 2 or self.pool.scales is None:  # the first call sets the pool's level scales
            return self.pool(features, boxes, image_shapes)
        shares = [image_boxes.tensor_split(threads) for image_boxes in boxes]  # per image, per thread
        inference, grad = torch.is_inference_mode_enabled(), torch.is_grad_enabled()

        def pool_share(share: int) -> torch.Tensor:
            with torch.inference_mode(inference), torch.set_grad_enabled(grad):  # thread-local modes
                return self.pool(features, [parts[share] for parts in shares], image_shapes)

        with ThreadPoolExecutor(threads - 1) as executor:
            others = [executor.submit(pool_share, share) for share in range(1, threads)]
            pooled = [pool_share(0), *(future.result() for future in others)]
        # each share holds its part of every image in image order; put them back image by image
        by_share = [share.split([len(parts[index]) for parts in shares])
                    for index, share in enumerate(pooled)]
        return torch.cat([by_share[index][image] for image in range(len(boxes)) for index in range(threads)])

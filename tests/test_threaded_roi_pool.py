"""RoIAlign on several threads gives the very tensor of one call, for any split of the regions."""
from __future__ import annotations

import threading

import pytest
import torch
from torchvision.ops import MultiScaleRoIAlign

from detection.threaded_roi_pool import MIN_REGIONS_PER_THREAD, ThreadedRoIPool


class _CountingPool(MultiScaleRoIAlign):
    """The torchvision pool, remembering the threads that called it."""

    def __init__(self) -> None:
        super().__init__(["0", "1", "2", "3"], 7, 2)
        self.callers: list[int] = []

    def forward(self, *args):
        self.callers.append(threading.get_ident())
        return super().forward(*args)


def _boxes(generator: torch.Generator, count: int, size: int) -> torch.Tensor:
    corners = torch.rand(count, 2, generator=generator) * size * 0.8
    sides = torch.rand(count, 2, generator=generator) * size * 0.5 + 1
    return torch.cat([corners, (corners + sides).clamp(max=size - 1)], dim=1)


@pytest.mark.parametrize("threads, counts", [(2, [700, 0, 301]), (3, [1000]), (2, [5, 900]), (2, [40])])
def test_same_tensor_as_one_call(threads, counts):
    generator = torch.Generator().manual_seed(0)
    images = len(counts)
    features = {name: torch.randn(images, 8, 256 // stride, 256 // stride, generator=generator)
                for name, stride in (("0", 4), ("1", 8), ("2", 16), ("3", 32))}
    boxes = [_boxes(generator, count, 256) for count in counts]
    shapes = [(256, 256)] * images
    reference = MultiScaleRoIAlign(["0", "1", "2", "3"], 7, 2)
    counting = _CountingPool()
    threaded = ThreadedRoIPool(counting, threads)
    with torch.inference_mode():
        expected = reference(features, boxes, shapes)
        first, second = threaded(features, boxes, shapes), threaded(features, boxes, shapes)  # first sets scales
    assert expected.shape == (sum(counts), 8, 7, 7)
    assert torch.equal(first, expected) and torch.equal(second, expected)
    assert threaded.output_size == reference.output_size
    split = sum(counts) >= 2 * MIN_REGIONS_PER_THREAD  # all cases but the last
    # the first call sets the scales; then one call per share, share 0 on the calling thread and the
    # others on the pool's threads (which pool thread takes which share is the scheduler's choice)
    calls = counting.callers[1:]
    assert len(calls) == (threads if split else 1)
    assert calls.count(threading.get_ident()) == 1

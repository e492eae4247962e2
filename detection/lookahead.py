"""Detection that looks ahead: the frames the tracker will ask boxes for next are detected in one batch.

Detections do not depend on earlier frames, so a detector may run the frames ahead of the one asked for
together. `LookAhead.watch` passes the video's frames through while keeping a bounded window of the next
decoded ones in view (the decoding thread has them ready anyway); asked for one frame, `LookAhead.boxes`
detects it together with the next frames due in that window (every `every`-th frame that decoded, as the
tracker asks for them) up to the detector's batch size, and hands their boxes out when they are asked
for. Each frame's boxes are the detector's for that image, as if it ran alone (the batch pads images of
one size to that size); a frame asked for that was not foreseen is detected on its own.

Batching is the throughput lever on a GPU. It pays on a CPU too: `bench.pipeline`'s look_ahead_fast run
(the fast preset, MobileNet on OpenVINO, 2-core AMD EPYC under load) gave 1.28 times the frames/s of
detecting frame by frame with batches of 4.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeVar

import numpy as np

from detection.protocol import FrameKey, ImageBoxSource

__all__ = ["BatchDetector", "LookAhead"]

Frame = TypeVar("Frame")


class BatchDetector(Protocol):
    """A detector that takes several images at once (`TorchvisionDetector`)."""

    batch_size: int

    def detect(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        """(N,5) boxes of each RGB uint8 HxWx3 image."""
        ...


class LookAhead(ImageBoxSource):
    """A `BoxSource` running `detector` on the frame asked for and the next due ones of the frames `watch`
    keeps in view (at most `window` ahead), `detector.batch_size` frames per call; like the detector, the
    same for every video (`ImageBoxSource`)."""

    def __init__(self, detector: BatchDetector, every: int = 1, window: int = 8) -> None:
        self.detector = detector
        self.every = max(1, int(every))
        self.window = max(1, int(window))
        self._ahead: deque[tuple[FrameKey, np.ndarray | None]] = deque()
        self._found: dict[FrameKey, np.ndarray] = {}

    def watch(self, frames: Iterator[Frame], key: Callable[[Frame], tuple[FrameKey, np.ndarray | None]]
              ) -> Iterator[Frame]:
        """`frames` in order, each yielded once the next `window` ones are decoded and in view; `key` gives a
        frame's key and image (None: it did not decode)."""
        pending: deque[Frame] = deque()
        self._ahead.clear()
        self._found.clear()
        for frame in frames:
            pending.append(frame)
            self._ahead.append(key(frame))
            if len(pending) > self.window:
                yield self._next(pending)
        while pending:
            yield self._next(pending)

    def _next(self, pending: deque[Frame]) -> Frame:
        self._ahead.popleft()  # the frame handed out is no longer ahead
        return pending.popleft()

    def boxes(self, frame: FrameKey, image: np.ndarray) -> np.ndarray:
        """The `BoxSource` call: person boxes (N,5) of one frame, detected with the next due ones."""
        found = self._found.pop(frame, None)
        if found is not None:
            return found
        self._found = {}  # the guesses did not come true: forget them
        batch = [(frame, image), *self._due()]
        results = self.detector.detect([picture for _, picture in batch])
        self._found = {key: boxes for (key, _), boxes in zip(batch[1:], results[1:])}
        return results[0]

    def _due(self) -> Sequence[tuple[FrameKey, np.ndarray]]:
        """The frames in view the tracker will ask for next: every `every`-th one that decoded."""
        decoded = [(key, image) for key, image in self._ahead if image is not None]
        return decoded[self.every - 1::self.every][:self.detector.batch_size - 1]

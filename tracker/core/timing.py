"""Wall time per pipeline stage, for the run summary and the benchmark."""
from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Iterator


class StageTimer:
    """Wall seconds spent per named stage, summed over frames."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - start

"""What every box source gives the tracker: person boxes for one frame, asked by `FrameKey`.

Detectors look at the image; precomputed detections look the frame up by its image id, file name or
index. The per-frame step needs `boxes` only (`FrameBoxes`); the runner also binds a source to each video
(`BoxSource.for_video`) and asks the bound one how the frames matched (`VideoBoxSource.report_matches`), so
it never needs to know which it has.
A detector gets both from `ImageBoxSource`: it is the same for every video and has nothing to report.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class FrameKey:
    """Which frame boxes are asked for.

    `index`: the frame's index in its video or folder (0-based, before any stride). `file_name`: the
    image's file name for frames read from a folder, None for video files.
    """

    index: int
    file_name: str | None = None


@runtime_checkable
class FrameBoxes(Protocol):
    """Person boxes of one frame: (N,5) float32 x1, y1, x2, y2, score in that frame's pixels."""

    def boxes(self, frame: FrameKey, image: np.ndarray) -> np.ndarray:
        """Boxes of the frame `frame` whose RGB uint8 HxWx3 pixels are `image`."""
        ...


@runtime_checkable
class VideoBoxSource(FrameBoxes, Protocol):
    """A box source bound to one video, which can say how its frames matched."""

    def report_matches(self) -> tuple[int, int] | None:
        """Log how many frames asked since the last report had boxes, where the source matches frames
        (returns frames with boxes, frames asked); None when it looks at the images."""
        ...


@runtime_checkable
class BoxSource(FrameBoxes, Protocol):
    """A box source as the runner uses it: bound to each video before its frames are asked."""

    def for_video(self, source: str | os.PathLike, image_ids: Sequence[object] | None = None,
                  image_paths: Sequence[str] | None = None) -> VideoBoxSource:
        """The boxes of one video's frames; `image_ids`, `image_paths`: its ground truth's ids and file names,
        frame by frame (a PoseTrack sequence), else None."""
        ...


S = TypeVar("S", bound="ImageBoxSource")


class ImageBoxSource:
    """The binding and report of a box source that looks at each image: the same for every video, nothing to
    report. Detectors inherit it and give `boxes`."""

    def for_video(self: S, source: str | os.PathLike, image_ids: Sequence[object] | None = None,
                  image_paths: Sequence[str] | None = None) -> S:
        """Itself: the image alone decides the boxes."""
        return self

    def report_matches(self) -> None:
        """Nothing to report."""

"""PoseTrack sequences in memory: Person, Frame, Sequence and the rules every reader and writer shares.

One file holds one video (a *sequence*). In memory every person carries its keypoints in the 17
PoseTrack18 slots of ``pose.skeleton.POSETRACK18`` whatever the file format; a joint is absent
exactly when its triplet is (0, 0, 0), the rule poseval applies to 2018 files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pose.skeleton import POSETRACK18, POSETRACK18_TO_POSEVAL

NUM_SLOTS = POSETRACK18.num_joints
# poseval keeps track ids of different sequences apart by adding multiples of this; ids must stay below.
MAX_TRACK_ID = 10000
# poseval's score for predicted joints without one (Q5); kept when a 2017 file omits some scores.
MISSING_SCORE = -9999.0
# poseval joint id (0-14) -> PoseTrack18 slot.
POSEVAL_TO_SLOT = np.array([int(np.flatnonzero(POSETRACK18_TO_POSEVAL == i)[0]) for i in range(15)])


@dataclass
class Person:
    """One person in one frame.

    keypoints: (17, 3) float64, x, y, visibility in image pixels, PoseTrack18 slot order;
    (0, 0, 0) marks an absent joint. scores: (17,) float64 per-joint confidence or None (poseval
    then scores every joint -9999). head_box and box: x1, y1, x2, y2 in pixels or None.
    """

    track_id: int | None
    keypoints: np.ndarray
    scores: np.ndarray | None = None
    head_box: tuple[float, float, float, float] | None = None
    box: tuple[float, float, float, float] | None = None
    score: float | None = None

    def pose(self) -> np.ndarray:
        """(17,3) float64 x, y, score: the file's per-joint score where it has one, else the visibility flag;
        absent joints as the file gives them (`present_mask` tells which)."""
        keypoints = np.asarray(self.keypoints, np.float64)
        scores = keypoints[:, 2] if self.scores is None or len(self.scores) == 0 else np.asarray(self.scores)
        return np.column_stack([keypoints[:, :2], scores]).astype(np.float64)


@dataclass
class Frame:
    """One image of a sequence with its persons and ignore polygons ((P, 2) float64 x, y each)."""

    file_name: str
    image_id: int | None
    persons: list[Person] = field(default_factory=list)
    ignore_regions: list[np.ndarray] = field(default_factory=list)
    frame_id: int | None = None
    is_labeled: bool | None = None
    width: int | None = None
    height: int | None = None


@dataclass
class Sequence:
    """One video: its name (file name without extension), frames in file order, and where it came
    from (``source``) with the problems the reader met (one sentence each). ``malformed``: those of
    them, and stricter ones, that leave an image or annotation unreadable as written (a wrong number
    of keypoints or scores, an unknown image id, a track id that is not an integer), which the
    PoseTrack21 kit crashes on and ``eval posetrack21`` refuses."""

    name: str
    frames: list[Frame]
    source: str | None = None
    problems: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)


def sequence_name(path: str | os.PathLike) -> str:
    """The sequence name poseval uses for a file: its base name up to the first dot."""
    return Path(path).name.split(".")[0]


def present_mask(keypoints: np.ndarray) -> np.ndarray:
    """Which joints of (..., 17, 3) keypoints exist: every triplet except (0, 0, 0) (poseval's Q4)."""
    return np.any(keypoints != 0, axis=-1)

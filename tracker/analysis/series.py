"""A PoseTrack sequence as per-track arrays over time, the form every analysis step works on.

Frames are counted in file order (frame 0 is the sequence's first image). A track's arrays span
its first to last frame; a joint not seen in a frame (absent from the file, scoring at or below
the threshold, or with an infinite or NaN value, which a warning counts) is NaN in x, y and score.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from eval.posetrack.types import Person, Sequence, present_mask
from pose.boxes import joint_extents
from pose.skeleton import POSETRACK18

log = logging.getLogger(__name__)


@dataclass
class TrackSeries:
    """One track: `first` frame index, poses (T,17,3) float64 x, y, score in pixels (PoseTrack18
    slots, NaN where unseen), boxes (T,4) x1, y1, x2, y2 (NaN where the track is absent)."""

    track_id: int
    first: int
    poses: np.ndarray
    boxes: np.ndarray

    @property
    def frames(self) -> np.ndarray:
        """Frame indices (T,) of the rows."""
        return np.arange(self.first, self.first + len(self.poses))

    @property
    def present(self) -> np.ndarray:
        """(T,) bool: the track has a person in that frame."""
        return ~np.isnan(self.boxes).all(axis=1)


def track_series(sequence: Sequence, min_score: float = 0.0) -> dict[int, TrackSeries]:
    """Every track of `sequence` by id, in id order; persons without a track id are left out.

    Joints scoring at or below `min_score` count as unseen. A person without a box gets the box
    around its seen joints, so presence does not depend on the file having boxes.
    """
    rows: dict[int, list[tuple[int, np.ndarray, np.ndarray]]] = {}
    non_finite = 0
    for index, frame in enumerate(sequence.frames):
        for person in frame.persons:
            if person.track_id is None:
                continue
            pose = person_pose(person, min_score)
            non_finite += _non_finite_joints(person)
            box = np.array(person.box, np.float64) if person.box is not None else np.full(4, np.nan)
            if not np.isfinite(box).all():
                box = _joint_box(pose)
            rows.setdefault(int(person.track_id), []).append((index, pose, box))
    if non_finite:
        log.warning("%s: %d joint(s) with an infinite or NaN coordinate or score are treated as unseen",
                    sequence.name, non_finite)
    tracks = {}
    for track_id in sorted(rows):
        entries = rows[track_id]
        first, last = entries[0][0], entries[-1][0]
        poses = np.full((last - first + 1, POSETRACK18.num_joints, 3), np.nan)
        boxes = np.full((last - first + 1, 4), np.nan)
        for index, pose, box in entries:  # a second person of the same id in a frame: the first stays
            if np.isnan(boxes[index - first]).all():
                poses[index - first], boxes[index - first] = pose, box
        tracks[track_id] = TrackSeries(track_id, first, poses, boxes)
    return tracks


def person_pose(person: Person, min_score: float = 0.0) -> np.ndarray:
    """(17,3) float64 x, y, score of a person; NaN rows for absent joints and those scoring <= min_score.

    The score is the file's per-joint score where it has one, else the visibility flag (1 = present).
    """
    pose = person.pose()
    absent = ~present_mask(np.asarray(person.keypoints)) | ~np.isfinite(pose).all(axis=1)
    pose[absent | (pose[:, 2] <= min_score)] = np.nan
    return pose


def _non_finite_joints(person: Person) -> int:
    """How many of a person's joints have an infinite or NaN coordinate or score in the file."""
    return int((~np.isfinite(person.pose()).all(axis=1)).sum())


def _joint_box(pose: np.ndarray) -> np.ndarray:
    return joint_extents(pose[None, :, :2], ~np.isnan(pose[None, :, 0]))[0]

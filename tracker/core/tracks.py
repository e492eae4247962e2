"""Tracks: ids that are never reused, the last pose of each track carried along by flow, and ages."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Track:
    """One person over time.

    `pose` (K,3) float32 is the track's pose as it would look in the current frame: its last
    matched pose, moved by the flow of every frame since (FlowTrack's multi-frame comparison).
    Joints that were not visible in the last match keep their earlier position and score.
    `unseen` counts the processed frames since the last match.
    """

    id: int
    pose: np.ndarray
    unseen: int = 0


@dataclass(frozen=True)
class TrackSetState:
    """The live tracks (ids, poses (T,K,3) float32, frames unseen) and the next id, for `--resume`."""

    next_id: int
    ids: tuple[int, ...]
    poses: np.ndarray
    unseen: tuple[int, ...]

    def to_data(self) -> dict[str, Any]:
        """Plain data for the resume file; float32 poses survive the round trip through JSON exactly."""
        return {"next_id": self.next_id, "live": [{"id": track_id, "pose": pose.tolist(), "unseen": unseen}
                                                  for track_id, pose, unseen in zip(self.ids, self.poses, self.unseen)]}

    @classmethod
    def from_data(cls, data: dict[str, Any], joints: int) -> TrackSetState:
        """The state `to_data` gave, for poses of `joints` joints."""
        live = data["live"]
        return cls(int(data["next_id"]), tuple(int(track["id"]) for track in live),
                   np.asarray([track["pose"] for track in live], np.float32).reshape(-1, joints, 3),
                   tuple(int(track["unseen"]) for track in live))


class TrackSet:
    """The live tracks of one video; a track unseen for `max_age` processed frames ends."""

    def __init__(self, max_age: int, keypoint_threshold: float):
        self.max_age = max_age
        self.keypoint_threshold = keypoint_threshold
        self.live: list[Track] = []
        self.next_id = 0

    def poses(self) -> np.ndarray:
        """The live tracks' poses stacked as (T,K,3) float32 (T may be 0)."""
        if not self.live:
            return np.zeros((0, 0, 3), np.float32)
        return np.stack([track.pose for track in self.live])

    def propagate(self, move: Callable[[np.ndarray], np.ndarray] | None) -> None:
        """Carry every live track's pose into the next frame with `move` ((T,K,3) -> (T,K,3))."""
        if move is None or not self.live:
            return
        moved = move(self.poses())
        for track, pose in zip(self.live, moved):
            track.pose = np.asarray(pose, np.float32)

    def update(self, poses: np.ndarray, matches: list[tuple[int, int]]) -> np.ndarray:
        """Apply one frame's matches (track index, pose index); unmatched poses start new tracks.

        Returns the track id of every pose, int64 (N,). A pose with no joint above the keypoint
        threshold cannot be matched later, so it gets an id of its own but starts no live track:
        every written person carries an id (PoseTrack's MOT drops a sequence with a person
        lacking one). Tracks unmatched this frame age by one and end when `unseen` reaches `max_age`.
        """
        ids = np.full(len(poses), -1, np.int64)
        matched_tracks = set()
        for track_index, pose_index in matches:
            track = self.live[track_index]
            visible = poses[pose_index, :, 2:3] > self.keypoint_threshold
            track.pose = np.where(visible, poses[pose_index], track.pose).astype(np.float32)
            track.unseen = 0
            ids[pose_index] = track.id
            matched_tracks.add(track_index)
        for index, track in enumerate(self.live):
            if index not in matched_tracks:
                track.unseen += 1
        self.live = [track for track in self.live if track.unseen < self.max_age]
        trackable = np.any(poses[:, :, 2] > self.keypoint_threshold, axis=1)
        for new_index in np.flatnonzero(ids < 0):
            if trackable[new_index]:
                self.live.append(Track(self.next_id, np.asarray(poses[new_index], np.float32).copy()))
            ids[new_index] = self.next_id
            self.next_id += 1
        return ids

    def state(self) -> TrackSetState:
        """The live tracks and the next id, as they are now."""
        poses = np.array([track.pose for track in self.live], np.float32)
        return TrackSetState(self.next_id, tuple(track.id for track in self.live), poses,
                             tuple(track.unseen for track in self.live))

    def restore(self, state: TrackSetState) -> None:
        """Continue from `state()`."""
        self.next_id = state.next_id
        self.live = [Track(track_id, pose.copy(), unseen)
                     for track_id, pose, unseen in zip(state.ids, state.poses, state.unseen)]

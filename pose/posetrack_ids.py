"""PoseTrack's image ids: the digit 1, the 6-digit video number and the 4-digit frame number
(`10000000000 + video * 10000 + frame` for frames below 10,000), as the dataset's files number their images."""
from __future__ import annotations

__all__ = ["FIRST_ID", "frame_number", "image_id", "is_posetrack_id", "video_number"]

FIRST_ID = 10**10
"""The smallest PoseTrack image id (video 0, frame 0)."""


def image_id(video: int, frame: int) -> int:
    """The PoseTrack image id of frame `frame` of video `video`."""
    return int(f"1{video:06d}{frame:04d}")


def is_posetrack_id(value: object) -> bool:
    """Whether `value` is an integer in PoseTrack's scheme."""
    return isinstance(value, int) and value >= FIRST_ID


def video_number(image: int) -> int:
    """The video number of a PoseTrack image id."""
    return image // 10000 % 10**6


def frame_number(image: int) -> int:
    """The frame number of a PoseTrack image id."""
    return image % 10000

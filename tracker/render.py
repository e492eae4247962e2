"""Drawing tracked poses on a frame: skeleton, box and id, in a colour that stays with the id."""
from __future__ import annotations

import colorsys

import cv2
import numpy as np

from pose.skeleton import KeypointSet

_GOLDEN = 0.618033988749895
UNTRACKED = (200, 200, 200)


def track_colour(track_id: int) -> tuple[int, int, int]:
    """RGB colour of a track id: hues spaced by the golden ratio, so near ids look different."""
    if track_id < 0:
        return UNTRACKED
    red, green, blue = colorsys.hsv_to_rgb((track_id * _GOLDEN) % 1.0, 0.85, 1.0)
    return int(red * 255), int(green * 255), int(blue * 255)


def draw_tracks(image_rgb: np.ndarray, poses: np.ndarray, boxes: np.ndarray, ids: np.ndarray,
                keypoint_set: KeypointSet, keypoint_threshold: float) -> np.ndarray:
    """A copy of the uint8 RGB image with each pose (N,K,3), box (N,4+) and id (N,) drawn.

    Joints at or below `keypoint_threshold` and limbs touching them are not drawn.
    """
    canvas = np.ascontiguousarray(image_rgb).copy()
    thickness = max(1, round(min(canvas.shape[:2]) / 360))
    for pose, box, track_id in zip(poses, boxes, np.asarray(ids).tolist()):
        colour = track_colour(track_id)
        visible = pose[:, 2] > keypoint_threshold
        points = np.round(pose[:, :2]).astype(np.int32)
        for first, second in keypoint_set.limbs:
            if visible[first] and visible[second]:
                cv2.line(canvas, tuple(points[first].tolist()), tuple(points[second].tolist()), colour, thickness + 1,
                         cv2.LINE_AA)
        for point in points[visible]:
            cv2.circle(canvas, tuple(point.tolist()), thickness + 2, colour, -1, cv2.LINE_AA)
        x1, y1, x2, y2 = (int(round(v)) for v in box[:4])
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, thickness)
        if track_id >= 0:
            cv2.putText(canvas, str(track_id), (x1 + 2, max(y1 - 4, 12)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.5 * thickness + 0.2, colour, thickness, cv2.LINE_AA)
    return canvas

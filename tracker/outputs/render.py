"""Drawing tracked poses on a frame: skeleton, box, id and trail, in a colour that stays with the id.

Left limbs and joints are drawn in a lighter shade of the track's colour, right ones in a darker
shade, the rest (head, shoulder and hip lines) in the colour itself. Labels stay inside the frame.
`Renderer` adds what needs memory across frames: trails and the frame/time overlay.
"""
from __future__ import annotations

import colorsys
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from common.config import check_ranges, within
from pose.skeleton import KeypointSet
from tracker.errors import TrackerError

_GOLDEN = 0.618033988749895
UNTRACKED = (200, 200, 200)
_FONT = cv2.FONT_HERSHEY_SIMPLEX
HIP_MIDPOINT = "hip_midpoint"
MAX_PIXELS = 100  # line width and joint radius: 7 px is what a 4K frame gets by default; OpenCV crashes on huge ones
MAX_TRAIL = 100_000  # positions kept per track: about an hour at 30 frames/s


@dataclass(frozen=True)
class RenderOptions:
    """How frames are drawn. line_width and radius 0: chosen from the frame size (as before these options).

    trail: how many past positions of `trail_joint` (a joint name, or the hip midpoint) to draw per track.
    """

    line_width: int = field(default=0, metadata=within(0, MAX_PIXELS, flag="--line-width"))
    radius: int = field(default=0, metadata=within(0, MAX_PIXELS, flag="--radius"))
    boxes: bool = True
    scores: bool = False
    trail: int = field(default=0, metadata=within(0, MAX_TRAIL, flag="--trail"))
    trail_joint: str = HIP_MIDPOINT
    overlay: bool = True

    def __post_init__(self) -> None:  # built from the command line before any model loads: its ranges checked
        check_ranges(self, TrackerError)


def track_colour(track_id: int) -> tuple[int, int, int]:
    """RGB colour of a track id: hues spaced by the golden ratio, so near ids look different."""
    if track_id < 0:
        return UNTRACKED
    red, green, blue = colorsys.hsv_to_rgb((track_id * _GOLDEN) % 1.0, 0.85, 1.0)
    return int(red * 255), int(green * 255), int(blue * 255)


def side_shades(colour: tuple[int, int, int]) -> dict[str, tuple[int, int, int]]:
    """The colour for each body side: "left" 45% of the way to white, "right" at 60% brightness, "centre" as is."""
    base = np.array(colour, np.float64)
    return {"left": _rgb(np.round(base + (255 - base) * 0.45)), "right": _rgb(np.round(base * 0.6)), "centre": colour}


def _rgb(values: np.ndarray) -> tuple[int, int, int]:
    red, green, blue = (int(v) for v in values)
    return red, green, blue


def joint_sides(keypoint_set: KeypointSet) -> list[str]:
    """"left", "right" or "centre" per joint, from its name."""
    return ["left" if name.startswith("left_") else "right" if name.startswith("right_") else "centre"
            for name in keypoint_set.joints]


def limb_side(sides: list[str], first: int, second: int) -> str:
    """A limb's side: that of its joints when they agree or one is central (nose to left eye), else centre."""
    pair = {sides[first], sides[second]} - {"centre"}
    return pair.pop() if len(pair) == 1 else "centre"


def _sizes(shape: tuple[int, ...], options: RenderOptions) -> tuple[int, int]:
    thickness = max(1, round(min(shape[:2]) / 360))
    return options.line_width or thickness + 1, options.radius or thickness + 2


def put_label(canvas: np.ndarray, text: str, anchor: tuple[int, int], colour: tuple[int, int, int],
              scale: float, thickness: int) -> None:
    """Text with its bottom-left at `anchor`, moved the least needed to lie wholly inside the frame."""
    (width, height), baseline = cv2.getTextSize(text, _FONT, scale, thickness)
    x = int(np.clip(anchor[0], 0, max(canvas.shape[1] - width, 0)))
    y = int(np.clip(anchor[1], height, max(canvas.shape[0] - baseline, height)))
    cv2.putText(canvas, text, (x, y), _FONT, scale, colour, thickness, cv2.LINE_AA)


def draw_tracks(image_rgb: np.ndarray, poses: np.ndarray, boxes: np.ndarray, ids: np.ndarray,
                keypoint_set: KeypointSet, keypoint_threshold: float,
                options: RenderOptions = RenderOptions()) -> np.ndarray:
    """A copy of the uint8 RGB image with each pose (N,K,3), box (N,4+) and id (N,) drawn.

    Joints at or below `keypoint_threshold` and limbs touching them are not drawn. With
    `options.scores` the label adds the box score (column 4 of `boxes`) when there is one.
    """
    canvas = np.ascontiguousarray(image_rgb).copy()
    line, radius = _sizes(canvas.shape, options)
    text_thickness = max(1, line - 1)
    sides = joint_sides(keypoint_set)
    for pose, box, track_id in zip(poses, boxes, np.asarray(ids).tolist()):
        shades = side_shades(track_colour(track_id))
        visible = pose[:, 2] > keypoint_threshold
        points = np.round(pose[:, :2]).astype(np.int32)
        for first, second in keypoint_set.limbs:
            if visible[first] and visible[second]:
                cv2.line(canvas, tuple(points[first].tolist()), tuple(points[second].tolist()),
                         shades[limb_side(sides, first, second)], line, cv2.LINE_AA)
        for joint in np.flatnonzero(visible):
            cv2.circle(canvas, tuple(points[joint].tolist()), radius, shades[sides[joint]], -1, cv2.LINE_AA)
        x1, y1, x2, y2 = (int(round(v)) for v in box[:4])
        if options.boxes:
            cv2.rectangle(canvas, (x1, y1), (x2, y2), shades["centre"], max(1, line - 1))
        label = str(track_id) if track_id >= 0 else ""
        if options.scores and len(box) > 4:
            label = f"{label} {float(box[4]):.2f}".strip()
        if label:
            put_label(canvas, label, (x1 + 2, y1 - 4), shades["centre"], 0.4 * text_thickness + 0.3, text_thickness)
    return canvas


class Renderer:
    """Draws frames in order: draw_tracks plus each track's trail and the frame/time overlay.

    A trail holds the last `options.trail` positions of the chosen point of a track, seen in the
    frames drawn so far; a track's trail is forgotten once it has not been seen for that many frames.
    """

    def __init__(self, keypoint_set: KeypointSet, keypoint_threshold: float, options: RenderOptions = RenderOptions()):
        self.keypoint_set = keypoint_set
        self.keypoint_threshold = keypoint_threshold
        self.options = options
        self._trails: dict[int, deque] = {}
        self._last_seen: dict[int, int] = {}
        self._frames = 0
        if options.trail_joint == HIP_MIDPOINT:
            self._trail_joints = [keypoint_set.index("left_hip"), keypoint_set.index("right_hip")]
        elif options.trail_joint in keypoint_set.joints:
            self._trail_joints = [keypoint_set.index(options.trail_joint)]
        else:
            raise TrackerError(f"--trail-joint {options.trail_joint} is not a joint of the {keypoint_set.name} "
                               f"model; choose {HIP_MIDPOINT} or one of {', '.join(keypoint_set.joints)}.")

    def draw(self, image_rgb: np.ndarray, poses: np.ndarray, boxes: np.ndarray, ids: np.ndarray,
             index: int, time: float) -> np.ndarray:
        """The drawn frame `index` at `time` seconds (uint8 RGB, a copy)."""
        self._frames += 1
        canvas = draw_tracks(image_rgb, poses, boxes, ids, self.keypoint_set, self.keypoint_threshold, self.options)
        line, _ = _sizes(canvas.shape, self.options)
        if self.options.trail > 0:
            self._remember(poses, ids)
            for track_id, trail in self._trails.items():
                points = np.array(trail, np.int32)
                if len(points) > 1:
                    cv2.polylines(canvas, [points.reshape(-1, 1, 2)], False, track_colour(track_id), line,
                                  cv2.LINE_AA)
        if self.options.overlay:
            text = f"frame {index}  {time:.2f} s"
            scale = 0.5 * max(1, line - 1) + 0.2
            (width, height), baseline = cv2.getTextSize(text, _FONT, scale, max(1, line - 1))
            cv2.rectangle(canvas, (0, 0), (width + 12, height + baseline + 12), (0, 0, 0), -1)
            cv2.putText(canvas, text, (6, height + 6), _FONT, scale, (255, 255, 255), max(1, line - 1), cv2.LINE_AA)
        return canvas

    def _remember(self, poses: np.ndarray, ids: np.ndarray) -> None:
        for pose, track_id in zip(poses, np.asarray(ids).tolist()):
            chosen = pose[self._trail_joints]
            if track_id < 0 or not (chosen[:, 2] > self.keypoint_threshold).all():
                continue
            point = np.round(chosen[:, :2].mean(axis=0)).astype(int)
            self._trails.setdefault(track_id, deque(maxlen=self.options.trail)).append(tuple(point.tolist()))
            self._last_seen[track_id] = self._frames
        for track_id in [t for t, seen in self._last_seen.items() if self._frames - seen >= self.options.trail]:
            del self._trails[track_id], self._last_seen[track_id]

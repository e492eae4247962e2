"""Drawing tracked poses on a frame: skeleton, box, id and trail, in a colour that stays with the id.

Left limbs and joints are drawn in a lighter shade of the track's colour, right ones in a darker
shade, the rest (head, shoulder and hip lines) in the colour itself. Id labels are text on a box
filled with the track's colour, in black or white, whichever contrasts more; they stay inside the
frame and move aside so as not to cover each other where there is room. `Renderer` adds what needs
memory across frames: trails and the frame/time overlay, in a corner of the frame (`overlay_corner`;
by default top-right, away from the scoreboard broadcasts put top-left).
"""
from __future__ import annotations

import colorsys
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from common.config import check_ranges, within
from pose.skeleton import KeypointSet
from tracker.config import OVERLAY_CORNERS as CORNERS
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
    overlay_corner: str = field(default=CORNERS[0], metadata=within(choices=CORNERS, flag="--overlay-corner"))

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


def text_colour(fill: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on `fill` (RGB): black on fills of luma (Rec. 601) above 140."""
    luma = 0.299 * fill[0] + 0.587 * fill[1] + 0.114 * fill[2]
    return (0, 0, 0) if luma > 140 else (255, 255, 255)


Rect = tuple[int, int, int, int]  # x1, y1, x2, y2 in pixels, x2 and y2 excluded


def _overlaps(first: Rect, second: Rect) -> bool:
    return first[0] < second[2] and second[0] < first[2] and first[1] < second[3] and second[1] < first[3]


def _inside(rect: Rect, shape: tuple[int, ...]) -> Rect:
    """`rect` moved the least needed to lie inside an image of `shape` (where it fits)."""
    width, height = rect[2] - rect[0], rect[3] - rect[1]
    x = int(np.clip(rect[0], 0, max(shape[1] - width, 0)))
    y = int(np.clip(rect[1], 0, max(shape[0] - height, 0)))
    return x, y, x + width, y + height


def label_size(text: str, scale: float, thickness: int) -> tuple[int, int, int]:
    """(width, height, baseline) of a label's box: the text and a margin of `thickness` + 2 pixels."""
    (width, height), baseline = cv2.getTextSize(text, _FONT, scale, thickness)
    pad = thickness + 2
    return width + 2 * pad, height + baseline + 2 * pad, baseline


def place_label(size: tuple[int, int], box: Rect, shape: tuple[int, ...], taken: list[Rect]) -> Rect:
    """Where a label of `size` (width, height) goes for a person's `box`: above its top-left corner, else inside
    the top, else below it, else stacked above; each kept inside the frame. The first that covers none of the
    labels `taken` wins (the first of all when every one does)."""
    width, height = size
    x1, y1, _, y2 = box
    candidates = [(x1, y1 - height), (x1, y1), (x1, y2), *((x1, y1 - height * (k + 2)) for k in range(3))]
    rects = [_inside((x, y, x + width, y + height), shape) for x, y in candidates]
    return next((rect for rect in rects if not any(_overlaps(rect, other) for other in taken)), rects[0])


def put_label(canvas: np.ndarray, text: str, rect: Rect, fill: tuple[int, int, int], scale: float,
              thickness: int) -> None:
    """`text` on a box filled with `fill` covering `rect` (from place_label), in the contrasting text colour."""
    pad = thickness + 2
    _, _, baseline = label_size(text, scale, thickness)
    cv2.rectangle(canvas, rect[:2], (rect[2] - 1, rect[3] - 1), fill, -1)
    cv2.putText(canvas, text, (rect[0] + pad, rect[3] - pad - baseline), _FONT, scale, text_colour(fill), thickness,
                cv2.LINE_AA)


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
    labels = []
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
            labels.append((label, (x1, y1, x2, y2), shades["centre"]))
    scale = 0.4 * text_thickness + 0.3
    taken: list[Rect] = []
    for label, box, colour in labels:  # after every skeleton, so no limb covers a label
        width, height, _ = label_size(label, scale, text_thickness)
        taken.append(place_label((width, height), box, canvas.shape, taken))
        put_label(canvas, label, taken[-1], colour, scale, text_thickness)
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
            text, thickness = f"frame {index}  {time:.2f} s", max(1, line - 1)
            scale = 0.5 * thickness + 0.2
            width, height, _ = label_size(text, scale, thickness)
            corner = self.options.overlay_corner
            right, bottom = corner.endswith("right"), corner.startswith("bottom")
            x = canvas.shape[1] - width if right else 0
            y = canvas.shape[0] - height if bottom else 0
            put_label(canvas, text, _inside((x, y, x + width, y + height), canvas.shape), (0, 0, 0), scale, thickness)
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

"""selected.mp4: the analysed tracks drawn over their video, as filtered skeletons with a one-second hip trail.

The video's frames must be the JSON's frames in order (the clip tracker.run read, with the same
--start and --stride, or the NAME.mp4 it wrote); frames beyond the JSON are copied undrawn.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pose.skeleton import POSETRACK18
from tracker.analysis.process import TrackAnalysis
from tracker.io.video import VideoSource
from tracker.io.video_writer import VideoWriter
from tracker.outputs.render import Renderer, RenderOptions


def frame_poses(tracks: list[TrackAnalysis], index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(poses (N,17,3), boxes (N,4), ids (N,)) of the tracks' filtered positions in frame `index`.

    A joint scores 1 where it has a filtered position and 0 where not; the box spans those joints.
    """
    poses, boxes, ids = [], [], []
    for track in tracks:
        row = index - track.series.first
        if not 0 <= row < len(track.positions):
            continue
        xy = track.positions[row]
        known = np.isfinite(xy).all(axis=1)
        if not known.any():
            continue
        poses.append(np.column_stack([np.where(known[:, None], xy, 0.0), known.astype(np.float64)]))
        boxes.append(np.concatenate([xy[known].min(axis=0), xy[known].max(axis=0)]))
        ids.append(track.series.track_id)
    if not poses:
        return np.zeros((0, POSETRACK18.num_joints, 3)), np.zeros((0, 4)), np.zeros(0, np.int64)
    return np.array(poses), np.array(boxes), np.array(ids, np.int64)


def draw_video(path: Path, video: Path, tracks: list[TrackAnalysis], fps: float) -> None:
    """Write `path` (MP4, atomically): every frame of `video` with the tracks of that frame drawn."""
    source = VideoSource(video)
    renderer = Renderer(POSETRACK18, 0.5, RenderOptions(trail=max(2, round(fps))))
    info = source.info
    with VideoWriter(path, fps, info.width, info.height) as writer:
        last = np.zeros((info.height, info.width, 3), np.uint8)
        for frame in source:
            if frame.image is not None:
                last = frame.image
            poses, boxes, ids = frame_poses(tracks, frame.index)
            writer.write(renderer.draw(last, poses, boxes, ids, frame.index, frame.index / fps))

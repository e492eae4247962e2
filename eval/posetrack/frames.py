"""One frame as poseval sees it: persons in its 15-joint order, ignore regions applied, and the
head-normalised distances and per-frame assignment that both AP and MOT start from (README §4.1-4.2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eval.posetrack.types import MISSING_SCORE, NUM_SLOTS, POSEVAL_TO_SLOT, Person, present_mask

NUM_JOINTS = len(POSEVAL_TO_SLOT)
# A predicted joint is correct when its distance to the GT joint is at most this many head sizes.
PCKH_THRESHOLD = 0.5
# Head size = this factor x the diagonal of the GT head box (poseval's, and MPII's, convention).
HEAD_SIZE_FACTOR = 0.6
_NO_SCORES = np.full(NUM_SLOTS, MISSING_SCORE)


@dataclass
class People:
    """The persons of one frame: xy (N,15,2) float64 pixels, has (N,15) bool joint present,
    scores (N,15) float64, track_ids (N,) int64 (-1 when missing), head_sizes (N,) float64 (GT only)."""

    xy: np.ndarray
    has: np.ndarray
    scores: np.ndarray
    track_ids: np.ndarray
    head_sizes: np.ndarray

    def __len__(self) -> int:
        return len(self.track_ids)

    def select(self, keep: np.ndarray) -> People:
        """The persons where the boolean mask ``keep`` (N,) is true."""
        return People(self.xy[keep], self.has[keep], self.scores[keep], self.track_ids[keep],
                      self.head_sizes[keep])


def people(persons: list[Person], ignore_regions: list[np.ndarray]) -> People:
    """Convert persons to poseval's joints and apply the ignore regions (Q4, Q5, Q6).

    Joints strictly inside an ignore polygon are deleted; when the frame has ignore regions,
    persons left without any joint are removed (also those that had none to begin with).
    """
    return frame_people(persons, None, ignore_regions)[0]


def frame_people(gt_persons: list[Person], pred_persons: list[Person] | None,
                 ignore_regions: list[np.ndarray]) -> tuple[People, People | None]:
    """``people`` for the GT and (when given) the predictions of one frame, testing all their
    joints against the frame's ignore regions in one go."""
    groups = [_convert(gt_persons)] + ([] if pred_persons is None else [_convert(pred_persons)])
    if ignore_regions:
        points = np.concatenate([group.xy.reshape(-1, 2) for group in groups])
        inside = inside_polygons(points, ignore_regions)
        start = 0
        for index, group in enumerate(groups):
            stop = start + group.has.size
            group.has = group.has & ~inside[start:stop].reshape(group.has.shape)
            groups[index] = group.select(np.any(group.has, axis=1))
            start = stop
    return groups[0], (groups[1] if pred_persons is not None else None)


def _convert(persons: list[Person]) -> People:
    if not persons:
        return People(np.zeros((0, NUM_JOINTS, 2)), np.zeros((0, NUM_JOINTS), bool),
                      np.zeros((0, NUM_JOINTS)), np.zeros(0, np.int64), np.zeros(0))
    keypoints = np.stack([p.keypoints for p in persons])[:, POSEVAL_TO_SLOT]
    scores = np.stack([_NO_SCORES if p.scores is None else p.scores for p in persons])[:, POSEVAL_TO_SLOT]
    track_ids = np.array([-1 if p.track_id is None else p.track_id for p in persons], dtype=np.int64)
    boxes = np.array([(np.nan,) * 4 if p.head_box is None else p.head_box for p in persons], dtype=np.float64)
    head_sizes = HEAD_SIZE_FACTOR * np.hypot(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    return People(keypoints[..., :2].astype(np.float64), present_mask(keypoints), scores.astype(np.float64),
                  track_ids, head_sizes)


def inside_polygons(points: np.ndarray, polygons: list[np.ndarray]) -> np.ndarray:
    """(M,) bool: which points (M,2) lie strictly inside at least one polygon ((V,2) each).

    Each polygon is tested on its own with the even-odd rule; points on an edge are outside,
    as shapely's ``Polygon.contains`` (what poseval calls) decides.
    """
    return inside_polygons_grouped(points, np.zeros(len(points), np.int64), [polygons])


def inside_polygons_grouped(points: np.ndarray, groups: np.ndarray, polygons: list[list[np.ndarray]]) -> np.ndarray:
    """``inside_polygons`` for many frames at once: point i (of (M,2)) is tested against the polygons
    ``polygons[groups[i]]``. Polygons of fewer than 3 points are skipped; only points within a
    polygon's bounding box are tested against its edges, all of them in one vectorised pass."""
    result = np.zeros(len(points), dtype=bool)
    usable = [(group, polygon) for group, frame in enumerate(polygons) for polygon in frame if len(polygon) >= 3]
    if not usable or not len(points):
        return result
    polygon_group = np.array([group for group, _ in usable])
    sizes = np.array([len(polygon) for _, polygon in usable])
    vertices = np.concatenate([polygon for _, polygon in usable])
    first_vertex = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    low, high = np.minimum.reduceat(vertices, first_vertex), np.maximum.reduceat(vertices, first_vertex)
    # (point, polygon) pairs of the same group whose point lies strictly within the polygon's bounding box
    by_group = np.argsort(groups, kind="stable")
    group_start = np.searchsorted(groups[by_group], np.arange(len(polygons) + 1))
    per_polygon = group_start[polygon_group + 1] - group_start[polygon_group]
    pair_polygon = np.repeat(np.arange(len(usable)), per_polygon)
    offset = np.arange(len(pair_polygon)) - np.repeat(np.cumsum(per_polygon) - per_polygon, per_polygon)
    pair_point = by_group[group_start[polygon_group[pair_polygon]] + offset]
    in_box = np.all((points[pair_point] > low[pair_polygon]) & (points[pair_point] < high[pair_polygon]), axis=1)
    pair_point, pair_polygon = pair_point[in_box], pair_polygon[in_box]
    # the edges of each pair's polygon that span the point's y (only they can cross its ray or hold it)
    start = np.repeat(first_vertex, sizes)
    corner = np.arange(len(vertices)) - start
    following = vertices[start + (corner + 1) % np.repeat(sizes, sizes)]
    edge_low = np.minimum(vertices[:, 1], following[:, 1])
    edge_high = np.maximum(vertices[:, 1], following[:, 1])
    edges = sizes[pair_polygon]
    edge_pair = np.repeat(np.arange(len(pair_point)), edges)
    edge = np.repeat(first_vertex[pair_polygon], edges) + np.arange(len(edge_pair)) \
        - np.repeat(np.cumsum(edges) - edges, edges)
    py = points[pair_point[edge_pair], 1]
    spans = (edge_low[edge] <= py) & (py <= edge_high[edge])
    edge_pair, edge, py = edge_pair[spans], edge[spans], py[spans]
    px = points[pair_point[edge_pair], 0]
    ax, ay, bx, by = vertices[edge, 0], vertices[edge, 1], following[edge, 0], following[edge, 1]
    cross = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
    on_edge = ((cross == 0) & (px >= np.minimum(ax, bx)) & (px <= np.maximum(ax, bx))
               & (py >= np.minimum(ay, by)) & (py <= np.maximum(ay, by)))
    straddles = (ay > py) != (by > py)
    rise = np.where(by != ay, by - ay, 1.0)
    x_cross = ax + (py - ay) * (bx - ax) / rise
    crossings = np.bincount(edge_pair, straddles & (px < x_cross), minlength=len(pair_point))
    touching = np.bincount(edge_pair, on_edge, minlength=len(pair_point)) > 0
    result[pair_point[(crossings % 2 == 1) & ~touching]] = True
    return result


def kept_joints(pred: People, thresholds: np.ndarray) -> np.ndarray:
    """(T,N,15) bool: the joints of ``pred`` present with a score of at least each of the (T,)
    thresholds; a joint under the threshold is scored as if it were absent."""
    return pred.has[None] & (pred.scores[None] >= thresholds[:, None, None])


@dataclass
class FrameMatch:
    """Distances and AP labels of one frame with GT and predictions, at T joint-score thresholds.

    distance: (P,G,15) head-normalised distance, inf where either joint is absent (shared by all
    thresholds); within: (T,P,G,15) distance <= PCKH_THRESHOLD with the predicted joint kept at
    threshold t; true_positive: (T,P,15) AP label of each predicted joint at each threshold.
    """

    distance: np.ndarray
    within: np.ndarray
    true_positive: np.ndarray


def match_frame(gt: People, pred: People, kept: np.ndarray) -> FrameMatch:
    """poseval's one-shot person assignment of a frame (Q8), vectorised over thresholds x persons x
    persons x joints; ``kept`` (T,P,15) says which predicted joints count at each threshold.

    Each prediction keeps only its best GT by PCKh fraction; each GT takes the best of the
    predictions that kept it (first listed on ties); joints of unchosen predictions are all false.
    """
    num_thresholds, num_pred, num_gt = len(kept), len(pred), len(gt)
    if num_pred == 0 or num_gt == 0:
        empty = np.zeros((num_thresholds, num_pred, num_gt, NUM_JOINTS), bool)
        return FrameMatch(np.full((num_pred, num_gt, NUM_JOINTS), np.inf), empty,
                          np.zeros((num_thresholds, num_pred, NUM_JOINTS), bool))
    offsets = pred.xy[:, None] - gt.xy[None]
    distance = np.sqrt((offsets ** 2).sum(axis=-1)) / gt.head_sizes[None, :, None]
    distance[~(pred.has[:, None] & gt.has[None])] = np.inf
    within = (distance <= PCKH_THRESHOLD)[None] & kept[:, :, None, :]
    annotated = gt.has.sum(axis=1)
    pck = within.sum(axis=3).astype(np.float64)
    pck = np.where(annotated > 0, pck / np.maximum(annotated, 1), pck)
    best_gt = pck.argmax(axis=2)[..., None]
    kept_pck = np.zeros_like(pck)
    np.put_along_axis(kept_pck, best_gt, np.take_along_axis(pck, best_gt, axis=2), axis=2)
    chosen = kept_pck.argmax(axis=1)
    threshold_index, gt_index = np.nonzero(kept_pck.max(axis=1) > 0)
    assigned = np.full((num_thresholds, num_pred), -1)
    assigned[threshold_index, chosen[threshold_index, gt_index]] = gt_index
    true_positive = np.zeros((num_thresholds, num_pred, NUM_JOINTS), bool)
    threshold_index, pred_index = np.nonzero(assigned >= 0)
    true_positive[threshold_index, pred_index] = within[threshold_index, pred_index,
                                                        assigned[threshold_index, pred_index]]
    return FrameMatch(distance, within, true_positive)

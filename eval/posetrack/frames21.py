"""PoseTrack21 frames as the kit sees them: the 15 joints, ignore regions, keypoint similarities and the
per-frame, per-joint assignment, for a whole sequence at once (README §5.1-5.3 of
``../shared/reference/posetrack21``).

Everything that does not depend on a joint-score threshold is done once (``prepare``); ``score`` then
applies a threshold (a joint under it is scored as if the file had (0, 0, 0) there, what ``eval prune``
writes) and assigns. Frames are paired by position; only labelled frames count; a joint exists iff
x > 0 and y > 0; scores and visibility flags are not read otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eval.posetrack.frames import HEAD_SIZE_FACTOR, inside_polygons_grouped
from eval.posetrack.hota import NUM_JOINTS, SequenceMatches
from eval.posetrack.types import MISSING_SCORE, Person, Sequence
from pose.skeleton import POSETRACK18, POSETRACK21_JOINTS

KIT_SLOTS = np.array([POSETRACK18.index(name) for _, name in POSETRACK21_JOINTS])
# Similarity of two joints falls linearly from 1 to 0 at this distance in GT head sizes (the kit's 0.5001).
SIMILARITY_RANGE = 0.5001


@dataclass
class _Persons:
    """Persons of all evaluated frames of a sequence: frame index (N,), track id (N,), xy (N,15,2)
    pixels as written, inside (N,15) strictly inside an ignore polygon of their frame, polygons (N,)
    their frame has ignore polygons, origin_inside (N,) (0, 0) lies inside one, scores (N,15)."""

    frame: np.ndarray
    track_id: np.ndarray
    xy: np.ndarray
    inside: np.ndarray
    polygons: np.ndarray
    origin_inside: np.ndarray
    scores: np.ndarray
    head_size: np.ndarray

    def joints(self, pruned: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(kept (N,), has (N,15)): the persons the ignore rule keeps and their existing joints, with the
        ``pruned`` joints (N,15) first written as (0, 0)."""
        inside, xy = self.inside, self.xy
        if pruned is not None:
            inside = np.where(pruned, self.origin_inside[:, None], inside)
            xy = np.where(pruned[..., None], 0.0, xy)
        xy = np.where(inside[..., None], 0.0, xy)
        has = (xy > 0).all(axis=-1)
        dropped = self.polygons & (np.all(inside, axis=1) | np.all(xy <= 0, axis=(1, 2)))
        return ~dropped, has & ~dropped[:, None]


@dataclass
class Prepared:
    """One sequence's evaluated frames, shared by every threshold: GT persons after the ignore rule,
    predicted persons as written, and every same-frame (GT, prediction) pair's similarity per joint
    (N pairs, 15), computed at the predicted joint's written place; the labelled frames whose GT persons
    the ignore rule removed, all of them (the kit crashes there)."""

    name: str
    frame_names: list[str]
    gt_frame: np.ndarray
    gt_id: np.ndarray
    gt_has: np.ndarray
    pred: _Persons
    pred_id: np.ndarray
    pair_gt: np.ndarray
    pair_pred: np.ndarray
    pair_frame: np.ndarray
    pair_sim: np.ndarray
    ground_truth_only: bool
    ignored_frames: list[str]

    @property
    def num_frames(self) -> int:
        return len(self.frame_names)


@dataclass
class Scored:
    """A sequence at one threshold: its matches for HOTA, the Count row, and its labelled frames without
    any predicted person (Q6), by name."""

    matches: SequenceMatches
    count: dict[str, int]
    empty_frames: list[str]


def prepare(gt: Sequence, pred: Sequence | None) -> Prepared:
    """The labelled frames of ``gt`` with the predictions at the same positions (None: no prediction file)."""
    labelled = [index for index, frame in enumerate(gt.frames) if frame.is_labeled]
    names = [gt.frames[index].file_name for index in labelled]
    gt_persons = _persons(gt, labelled, [gt.frames[index].persons for index in labelled])
    pred_lists = [[] if pred is None else pred.frames[index].persons for index in labelled]
    preds = _persons(gt, labelled, pred_lists)
    kept, gt_has = gt_persons.joints()
    emptied = (np.bincount(gt_persons.frame, minlength=len(labelled)) > 0) \
        & (np.bincount(gt_persons.frame[kept], minlength=len(labelled)) == 0)
    gt_frame, gt_has, head = gt_persons.frame[kept], gt_has[kept], gt_persons.head_size[kept]
    gt_xy = gt_persons.xy[kept]
    pair_gt, pair_pred = _pairs(gt_frame, preds.frame, len(labelled))
    offsets = gt_xy[pair_gt] - preds.xy[pair_pred]
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = np.sqrt((offsets ** 2).sum(axis=-1)) / head[pair_gt, None]
        similarity = np.maximum(-1 / SIMILARITY_RANGE * distance + 1, 0)
    similarity[~gt_has[pair_gt] | ~np.isfinite(similarity)] = 0.0
    return Prepared(gt.name, names, gt_frame, _dense(gt_persons.track_id[kept]), gt_has, preds,
                    _dense(preds.track_id), pair_gt, pair_pred, gt_frame[pair_gt], similarity, pred is None,
                    [names[index] for index in np.flatnonzero(emptied)])


def _persons(gt: Sequence, labelled: list[int], persons: list[list[Person]]) -> _Persons:
    """The persons of the labelled frames as arrays, their joints tested against the GT frame's polygons."""
    counts = [len(frame) for frame in persons]
    flat = [person for frame in persons for person in frame]
    frame = np.repeat(np.arange(len(labelled)), counts)
    if flat:
        keypoints = np.stack([person.keypoints for person in flat])[:, KIT_SLOTS]
        scores = np.stack([np.full(len(POSETRACK18.joints), MISSING_SCORE) if p.scores is None else p.scores
                           for p in flat])[:, KIT_SLOTS]
        boxes = np.array([(np.nan,) * 4 if p.head_box is None else p.head_box for p in flat], dtype=np.float64)
    else:
        keypoints, scores, boxes = np.zeros((0, NUM_JOINTS, 3)), np.zeros((0, NUM_JOINTS)), np.zeros((0, 4))
    xy = keypoints[..., :2].astype(np.float64)
    regions = [gt.frames[index].ignore_regions for index in labelled]
    polygons = np.array([bool(frame) for frame in regions], bool)
    # every joint position, then (0, 0) once per frame, each against its frame's polygons
    points = np.concatenate([xy.reshape(-1, 2), np.zeros((len(labelled), 2))])
    groups = np.concatenate([np.repeat(frame, NUM_JOINTS), np.arange(len(labelled))])
    tested = inside_polygons_grouped(points, groups, regions)
    inside = tested[:xy.size // 2].reshape(-1, NUM_JOINTS)
    origin = tested[xy.size // 2:]
    head = HEAD_SIZE_FACTOR * np.hypot(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    track_id = np.array([-1 if p.track_id is None else p.track_id for p in flat], dtype=np.int64)
    return _Persons(frame, track_id, xy, inside, polygons[frame], origin[frame], scores, head)


def _pairs(gt_frame: np.ndarray, pred_frame: np.ndarray, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(GT index, prediction index) of every pair of persons in the same frame, frame by frame."""
    gt_counts = np.bincount(gt_frame, minlength=num_frames)
    pred_counts = np.bincount(pred_frame, minlength=num_frames)
    gt_start = np.concatenate([[0], np.cumsum(gt_counts)])
    pred_start = np.concatenate([[0], np.cumsum(pred_counts)])
    sizes = gt_counts * pred_counts
    frame = np.repeat(np.arange(num_frames), sizes)
    offset = np.arange(sizes.sum()) - np.repeat(np.concatenate([[0], np.cumsum(sizes)])[:-1], sizes)
    columns = pred_counts[frame]
    safe = np.maximum(columns, 1)
    return gt_start[frame] + offset // safe, pred_start[frame] + offset % safe


def _dense(ids: np.ndarray) -> np.ndarray:
    """Track ids renumbered 0..n-1 within the sequence (the kit's remapping)."""
    return np.unique(ids, return_inverse=True)[1].reshape(-1).astype(np.int64)


def score(prepared: Prepared, threshold: float | None = None) -> Scored:
    """Assign and count one sequence; predicted joints scoring under ``threshold`` count as absent."""
    pruned = None if threshold is None else prepared.pred.scores < threshold
    kept, has = prepared.pred.joints(pruned)
    similarity = prepared.pair_sim * has[prepared.pair_pred]
    pair, joint = _assign(prepared, similarity)
    order = np.argsort(prepared.pair_frame[pair], kind="stable")
    pair, joint = pair[order], joint[order]
    num_gt = int(prepared.gt_id.max()) + 1 if len(prepared.gt_id) else 0
    num_pred = int(prepared.pred_id.max()) + 1 if len(prepared.pred_id) else 0
    gt_frames = _per_person(prepared.gt_id, prepared.gt_has, num_gt).astype(np.float64)
    pred_frames = _per_person(prepared.pred_id, has, num_pred).astype(np.float64)
    gt_joints = prepared.gt_has.sum(axis=0).astype(np.float64)
    predicted_in = np.bincount(prepared.pred.frame[kept], minlength=prepared.num_frames)
    empty = predicted_in == 0
    if not kept.any():
        missed = gt_joints  # Q7: the kit returns early, every GT joint missed once
    else:  # Q6: an empty labelled frame counts the whole sequence's GT joints as missed
        missed = prepared.gt_has[~empty[prepared.gt_frame]].sum(axis=0) + empty.sum() * gt_joints
    matches = SequenceMatches(joint, prepared.gt_id[prepared.pair_gt[pair]], prepared.pred_id[prepared.pair_pred[pair]],
                              similarity[pair, joint], gt_frames, pred_frames, missed.astype(np.float64),
                              has.sum(axis=0).astype(np.float64))
    count = {"Dets": int(kept.sum()), "GT_Dets": len(prepared.gt_id),
             "IDs": len(np.unique(prepared.pred_id[kept])), "GT_IDs": len(np.unique(prepared.gt_id)),
             "Frames": prepared.num_frames}
    names = [prepared.frame_names[index] for index in np.flatnonzero(empty)] if kept.any() else []
    return Scored(matches, count, names)


def _assign(prepared: Prepared, similarity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pair, joint) of the pairs each frame's per-joint Hungarian assignment matches with a positive
    similarity. A pair alone in its GT person's row and its prediction's column is matched as it is, a
    GT person or a prediction alone against several takes the most similar one; the rest go, per frame
    and joint, to scipy's linear_sum_assignment."""
    positive = similarity > 0
    per_gt = _per_person(prepared.pair_gt, positive, len(prepared.gt_id))
    per_pred = _per_person(prepared.pair_pred, positive, len(prepared.pred_id))
    alone = positive & (per_gt[prepared.pair_gt] == 1) & (per_pred[prepared.pair_pred] == 1)
    pair, joint = np.nonzero(alone)
    shared_pair, shared_joint = np.nonzero(positive & ~alone)
    if not len(shared_pair):
        return pair, joint
    group = prepared.pair_frame[shared_pair] * NUM_JOINTS + shared_joint
    gt, pred = prepared.pair_gt[shared_pair], prepared.pair_pred[shared_pair]
    order = np.lexsort((-similarity[shared_pair, shared_joint], group))  # by group, most similar first
    shared_pair, shared_joint, group, gt, pred = (values[order] for values in (shared_pair, shared_joint, group,
                                                                                 gt, pred))
    starts = np.flatnonzero(np.diff(group, prepend=-1))
    bounds = np.append(starts, len(group))
    single = (_distinct_per_group(group, gt, starts) == 1) | (_distinct_per_group(group, pred, starts) == 1)
    found_pair, found_joint = [pair, shared_pair[starts[single]]], [joint, shared_joint[starts[single]]]
    from scipy.optimize import linear_sum_assignment  # loaded when the work needs it
    for index in np.flatnonzero(~single):
        members = slice(bounds[index], bounds[index + 1])
        rows, row_of = np.unique(gt[members], return_inverse=True)
        columns, column_of = np.unique(pred[members], return_inverse=True)
        matrix = np.zeros((len(rows), len(columns)))
        matrix[row_of, column_of] = similarity[shared_pair[members], shared_joint[members]]
        place = np.full(matrix.shape, -1)
        place[row_of, column_of] = np.arange(bounds[index], bounds[index + 1])
        chosen_rows, chosen_columns = linear_sum_assignment(matrix, maximize=True)
        chosen = place[chosen_rows, chosen_columns]
        chosen = chosen[chosen >= 0]
        found_pair.append(shared_pair[chosen])
        found_joint.append(shared_joint[chosen])
    return np.concatenate(found_pair), np.concatenate(found_joint)


def _per_person(person: np.ndarray, positive: np.ndarray, count: int) -> np.ndarray:
    """(count, 15): how many positive similarities each person has per joint, over its pairs."""
    flat = person[:, None] * NUM_JOINTS + np.arange(NUM_JOINTS)
    return np.bincount(flat.ravel(), positive.ravel(), minlength=count * NUM_JOINTS).reshape(count, NUM_JOINTS)


def _distinct_per_group(group: np.ndarray, person: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """How many distinct persons each group (sorted, starting at ``starts``) holds."""
    order = np.lexsort((person, group))
    first = np.ones(len(group), bool)
    first[1:] = (group[order][1:] != group[order][:-1]) | (person[order][1:] != person[order][:-1])
    return np.add.reduceat(first.astype(np.int64), starts) if len(starts) else np.zeros(0, np.int64)

"""Object keypoint similarity (OKS) between pose sets, and OKS-based non-maximum suppression.

Semantics follow the official HRNet code (`oks_iou` / `oks_nms`), which the tracker uses to
associate poses and the COCO evaluation uses to suppress duplicate detections. Everything is
vectorised over keypoints and over pose pairs; only the NMS loop over kept poses is in Python.
"""
from __future__ import annotations

import numpy as np

from pose.errors import PoseError
from pose.skeleton import COCO

__all__ = ["oks_matrix", "oks_nms"]

# Added to the object scale so that two zero-area poses do not divide by zero (official value).
_EPS = np.spacing(1)


def _poses(name: str, poses: np.ndarray, num_joints: int | None = None) -> np.ndarray:
    array = np.asarray(poses, dtype=np.float64)
    if array.ndim != 3 or array.shape[2] != 3:
        raise PoseError(f"{name} must have shape (N, K, 3) (x, y, score), got {array.shape}")
    if num_joints is not None and array.shape[1] != num_joints:
        raise PoseError(f"{name} have {array.shape[1]} joints but the sigmas give {num_joints}")
    return array


def _vector(name: str, values: np.ndarray, length: int) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (length,):
        raise PoseError(f"{name} must have shape ({length},), got {array.shape}")
    return array


def oks_matrix(
    reference: np.ndarray,
    candidates: np.ndarray,
    reference_areas: np.ndarray,
    candidate_areas: np.ndarray,
    sigmas: np.ndarray = COCO.sigmas,
    keypoint_threshold: float | None = None,
) -> np.ndarray:
    """OKS of every reference pose (N,K,3) with every candidate pose (M,K,3) -> (N,M) float64.

    Per joint, e = d^2 / (2 sigma)^2 / ((area_ref + area_cand) / 2 + eps) / 2 with d in pixels,
    areas in pixels^2 and eps = np.spacing(1); the OKS is the mean of exp(-e) over the selected
    joints, and 0.0 when no joint is selected. Without `keypoint_threshold` all K joints are selected.
    With it, a joint is selected when the CANDIDATE's score is > keypoint_threshold; the reference's
    scores are ignored. That is the official `oks_iou` behaviour: it writes the selection as
    `list(ref > t) and list(cand > t)`, and Python's `and` returns the second list whenever the
    first is non-empty. pycocotools' OKS (COCOeval.computeOks, detections x ground truths) equals
    this with detections as the reference (areas 0), ground truths as the candidates (areas twice
    the GT area, visibility flags as scores) and keypoint_threshold=0, for ground truths with at least
    one labelled joint (pycocotools scores unlabelled ones by their distance to the box).
    """
    sigmas = np.asarray(sigmas, dtype=np.float64)
    num_joints = sigmas.shape[0]
    ref = _poses("reference poses", reference, num_joints)
    cand = _poses("candidate poses", candidates, num_joints)
    ref_areas = _vector("reference_areas", reference_areas, ref.shape[0])
    cand_areas = _vector("candidate_areas", candidate_areas, cand.shape[0])
    if num_joints == 0:
        return np.zeros((ref.shape[0], cand.shape[0]))

    delta = cand[None, :, :, :2] - ref[:, None, :, :2]  # (N, M, K, 2)
    squared = delta[..., 0] ** 2 + delta[..., 1] ** 2  # (N, M, K)
    variances = (2.0 * sigmas) ** 2  # (K,)
    scale = (ref_areas[:, None] + cand_areas[None, :]) / 2.0 + _EPS  # (N, M)
    similarity = np.exp(-(squared / variances / scale[:, :, None] / 2.0))
    if keypoint_threshold is None:
        return similarity.mean(axis=2)
    selected = cand[:, :, 2] > keypoint_threshold  # (M, K): by the candidate's score only
    counts = selected.sum(axis=1)  # (M,)
    totals = np.where(selected[None], similarity, 0.0).sum(axis=2)
    return np.where(counts > 0, totals / np.maximum(counts, 1), 0.0)


def oks_nms(
    poses: np.ndarray,
    scores: np.ndarray,
    areas: np.ndarray,
    threshold: float = 0.9,
    sigmas: np.ndarray = COCO.sigmas,
    keypoint_threshold: float | None = None,
) -> list[int]:
    """Greedy OKS-NMS over poses (N,K,3) with scores (N,) and areas (N,) -> kept indices, best first.

    Repeatedly keeps the highest-scoring remaining pose and drops every remaining pose whose OKS
    to it (kept pose as reference) is > threshold; OKS <= threshold survives. The order is
    `np.argsort(scores)` reversed, as the official code sorts, so tied scores come out in the
    reverse of numpy's default (unstable) sort order.
    """
    poses = _poses("poses", poses)
    scores = _vector("scores", scores, poses.shape[0])
    areas = _vector("areas", areas, poses.shape[0])
    if not np.all(np.isfinite(scores)):
        raise PoseError("oks_nms got a NaN or infinite score; scores must be finite to rank poses")
    order = np.argsort(scores)[::-1]
    keep: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        if rest.size == 0:
            break
        overlap = oks_matrix(poses[best:best + 1], poses[rest], areas[best:best + 1], areas[rest],
                             sigmas, keypoint_threshold)[0]
        order = rest[overlap <= threshold]
    return keep


def rescore(poses: np.ndarray, box_scores: np.ndarray, keypoint_threshold: float) -> np.ndarray:
    """The official test's pose score: box score x mean of the joint scores above the threshold -> (N,) float64.

    A pose with no joint above the threshold scores 0. The mean is taken in float32, adding joint
    scores left to right as the official loop does (a sequential float32 cumsum repeats it bit for bit).
    """
    joint_scores = np.asarray(poses)[:, :, 2].astype(np.float32)
    confident = joint_scores > keypoint_threshold
    count = confident.sum(axis=1)
    totals = np.cumsum(np.where(confident, joint_scores, np.float32(0.0)), axis=1)[:, -1]
    mean = totals / np.maximum(count, 1).astype(np.float32)
    return np.asarray(box_scores, np.float64) * np.where(count > 0, mean, np.float32(0.0)).astype(np.float64)

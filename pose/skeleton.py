"""Keypoint sets as data: names, flip pairs, OKS sigmas, limbs, and the mappings between sets.

Every other module asks this one for joint order and joint constants, so that no list of joints
is written twice. Arrays are read-only so that a caller cannot change them for everyone.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _frozen(values, dtype) -> np.ndarray:
    array = np.asarray(values, dtype=dtype)
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class KeypointSet:
    """A keypoint layout: joint names in model order, left/right pairs, OKS sigmas and limbs."""

    name: str
    joints: tuple[str, ...]
    flip_pairs: tuple[tuple[int, int], ...]
    sigmas: np.ndarray  # (K,) float64, per-joint OKS sigma (COCO's values / 10)
    limbs: tuple[tuple[int, int], ...]  # joint index pairs to draw

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        """Position of a joint by name; raises KeyError naming the set when it is not there."""
        try:
            return self.joints.index(joint)
        except ValueError:
            raise KeyError(f"joint {joint!r} is not in the {self.name} keypoint set") from None

    def flip_permutation(self) -> np.ndarray:
        """Index array that swaps every left joint with its right twin (an involution)."""
        perm = np.arange(self.num_joints)
        for left, right in self.flip_pairs:
            perm[left], perm[right] = right, left
        return perm


_COCO_JOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
_COCO_FLIP_PAIRS = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))
# COCO keypoint sigmas (cocoapi Params.kpt_oks_sigmas), already divided by 10.
_COCO_SIGMAS = _frozen(
    [.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89], np.float64
) / 10.0
_COCO_SIGMAS.setflags(write=False)
_BODY_LIMBS = (
    (5, 7), (7, 9), (6, 8), (8, 10), (5, 6), (5, 11), (6, 12), (11, 12),
    (11, 13), (13, 15), (12, 14), (14, 16),
)

COCO = KeypointSet(
    name="coco",
    joints=_COCO_JOINTS,
    flip_pairs=_COCO_FLIP_PAIRS,
    sigmas=_COCO_SIGMAS,
    limbs=_BODY_LIMBS + ((0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6)),
)

# PoseTrack 2018 files use COCO's 17 slots, with head_bottom and head_top where COCO has the eyes.
POSETRACK18 = KeypointSet(
    name="posetrack18",
    joints=("nose", "head_bottom", "head_top") + _COCO_JOINTS[3:],
    flip_pairs=((3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    sigmas=_COCO_SIGMAS,
    limbs=_BODY_LIMBS + ((0, 1), (0, 2), (1, 5), (1, 6)),
)

# MPII's 16 joints in the order of the official HRNet release (annotation index order).
MPII = KeypointSet(
    name="mpii",
    joints=(
        "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
        "pelvis", "thorax", "upper_neck", "head_top",
        "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
    ),
    flip_pairs=((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13)),
    sigmas=_frozen(np.full(16, 0.1), np.float64),
    limbs=((0, 1), (1, 2), (2, 6), (3, 6), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9),
           (10, 11), (11, 12), (12, 7), (13, 7), (13, 14), (14, 15)),
)

KEYPOINT_SETS = {s.name: s for s in (COCO, POSETRACK18, MPII)}

# The 15 joints poseval scores, in its id order (array positions 0-14; position 15 is the total).
POSEVAL_JOINTS = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
    "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
    "neck", "nose", "head_top",
)
# For each PoseTrack18 slot, its poseval id; -1 for the ears, which poseval drops.
POSETRACK18_TO_POSEVAL = _frozen([13, 12, 14, -1, -1, 9, 8, 10, 7, 11, 6, 3, 2, 4, 1, 5, 0], np.int64)
# The 15 joints the PoseTrack21 evaluation kit scores, in its column order, with its column names:
# PoseTrack18's keypoints without the ears.
POSETRACK21_JOINTS = (
    ("Nose", "nose"), ("Neck", "head_bottom"), ("Head", "head_top"), ("LS", "left_shoulder"),
    ("RS", "right_shoulder"), ("LE", "left_elbow"), ("RE", "right_elbow"), ("LW", "left_wrist"),
    ("RW", "right_wrist"), ("LH", "left_hip"), ("RH", "right_hip"), ("LK", "left_knee"), ("RK", "right_knee"),
    ("LA", "left_ankle"), ("RA", "right_ankle"),
)
# Column groups of the poseval table and of the HRNet paper's Tables 8 and 9.
POSEVAL_GROUPS = (
    ("Head", ("head_top", "neck", "nose")),
    ("Sho.", ("right_shoulder", "left_shoulder")),
    ("Elb.", ("right_elbow", "left_elbow")),
    ("Wri.", ("right_wrist", "left_wrist")),
    ("Hip", ("right_hip", "left_hip")),
    ("Knee", ("right_knee", "left_knee")),
    ("Ank.", ("right_ankle", "left_ankle")),
)

# Column groups of the MPII PCKh table (the official HRNet evaluation; "Head" is head_top only).
MPII_GROUPS = (
    ("Head", ("head_top",)),
    ("Shoulder", ("left_shoulder", "right_shoulder")),
    ("Elbow", ("left_elbow", "right_elbow")),
    ("Wrist", ("left_wrist", "right_wrist")),
    ("Hip", ("left_hip", "right_hip")),
    ("Knee", ("left_knee", "right_knee")),
    ("Ankle", ("left_ankle", "right_ankle")),
)

# How far above the nose the top of the head lies, as a fraction of the neck-to-nose vector.
# Adult head geometry: nose to crown is about half of shoulder-centre to nose.
HEAD_TOP_EXTENSION = 0.5


def coco_to_posetrack18(poses: np.ndarray) -> np.ndarray:
    """Map COCO-17 poses (N,17,3: x, y, score) to PoseTrack18's 17 slots.

    COCO has no head_bottom or head_top, so they are derived:
    head_bottom is the midpoint of the shoulders (PoseTrack's "neck");
    head_top is the nose moved away from head_bottom by HEAD_TOP_EXTENSION of their distance.
    Each derived joint's score is the smallest score of the joints it is built from, so a
    derived joint is never more confident than its sources. All other slots are copied.
    """
    poses = np.asarray(poses, dtype=np.float32)
    if poses.ndim != 3 or poses.shape[1:] != (COCO.num_joints, 3):
        raise ValueError(f"expected COCO poses of shape (N, 17, 3), got {poses.shape}")
    out = poses.copy()
    nose = poses[:, COCO.index("nose")]
    left_shoulder = poses[:, COCO.index("left_shoulder")]
    right_shoulder = poses[:, COCO.index("right_shoulder")]
    neck_xy = (left_shoulder[:, :2] + right_shoulder[:, :2]) / 2.0
    neck_score = np.minimum(left_shoulder[:, 2], right_shoulder[:, 2])
    top_xy = nose[:, :2] + HEAD_TOP_EXTENSION * (nose[:, :2] - neck_xy)
    top_score = np.minimum(nose[:, 2], neck_score)
    out[:, POSETRACK18.index("head_bottom"), :2] = neck_xy
    out[:, POSETRACK18.index("head_bottom"), 2] = neck_score
    out[:, POSETRACK18.index("head_top"), :2] = top_xy
    out[:, POSETRACK18.index("head_top"), 2] = top_score
    return out

"""Validation during training: predict on the validation persons with `pose.estimator` (flip test,
official decoding) and score with the project's evaluators.

COCO: the official test post-processing (`eval.coco.rescore_and_nms`: box score x mean confident
joint score, OKS-NMS 0.9 per image) and pycocotools AP (`eval.coco.evaluate_keypoints`).
MPII: PCKh@0.5 (`eval.mpii.evaluate`); the head boxes come from a `headbox` [x1,y1,x2,y2] field in
each validation record (the official release keeps them in gt_valid.mat instead).
"""
from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from torch import nn

from common.jsonio import read_json
from eval.coco import evaluate_keypoints, rescore_and_nms
from pose.config import ModelConfig
from pose.crops import PIXEL_STD
from pose.datasets.dataset import read_rgb
from pose.datasets.records import PersonRecord
from pose.estimator import PoseEstimator
from training.errors import TrainingError

log = logging.getLogger(__name__)


def predict(model: nn.Module, config: ModelConfig, records: Sequence[PersonRecord], *,
            flip: bool = True, device: str = "cpu", batch_size: int = 32, engine: str = "torch",
            precision: str = "auto") -> np.ndarray:
    """Poses (N,K,3) float32 x,y,score in image pixels for every record's box, image by image;
    `engine` and `precision` as in PoseEstimator (torch fp32 by default: exact).

    The model is not changed (the estimator works on a BatchNorm-folded copy in eval mode).
    """
    estimator = PoseEstimator(model, config, flip=flip, device=device, batch_size=batch_size,
                              engine=engine, precision=precision)
    poses = np.zeros((len(records), config.num_joints, 3), np.float32)
    by_image: dict[Path, list[int]] = {}
    for index, record in enumerate(records):
        by_image.setdefault(record.image_path, []).append(index)
    for members in by_image.values():
        image = read_rgb(records[members[0]])
        boxes = np.stack([records[i].box for i in members])
        poses[members] = estimator.estimate(image, boxes)
    return poses


def coco_results(records: Sequence[PersonRecord], poses: np.ndarray) -> list[dict]:
    """COCO keypoint results after the official rescoring and OKS-NMS (areas of the padded crops)."""
    centers = np.stack([r.center for r in records])
    scales = np.stack([r.scale for r in records])
    areas = np.prod(scales * PIXEL_STD, axis=1)
    return rescore_and_nms(poses, np.array([r.score for r in records]), areas,
                           np.array([r.image_id for r in records]), centers=centers, scales=scales)


def predict_coco(model: nn.Module, config: ModelConfig, records: Sequence[PersonRecord],
                 annotation_file: str | os.PathLike, **predict_options) -> list[dict]:
    """The COCO keypoint results of the model on the persons' boxes (GT or detections), after the
    official rescoring and OKS-NMS; TrainingError when there are none."""
    results = coco_results(records, predict(model, config, records, **predict_options))
    if not results:
        raise TrainingError(f"no poses were predicted for {annotation_file}; check the person boxes.")
    return results


def validate_coco(model: nn.Module, config: ModelConfig, records: Sequence[PersonRecord],
                  annotation_file: str | os.PathLike, **predict_options) -> dict[str, float]:
    """COCO AP/AR (fractions) of the model on the validation persons (GT or detection boxes)."""
    return evaluate_keypoints(annotation_file, predict_coco(model, config, records, annotation_file,
                                                            **predict_options))


def mpii_head_boxes(annotation_file: str | os.PathLike) -> np.ndarray:
    """Head boxes (N,4) of an MPII JSON whose records carry `headbox`; TrainingError naming the first without."""
    data = read_json(annotation_file, "MPII annotation", error=TrainingError)
    boxes = []
    for number, entry in enumerate(data):
        if "headbox" not in entry:
            raise TrainingError(f"record {number} in {annotation_file} has no 'headbox' [x1, y1, x2, y2]; "
                            "PCKh validation needs one per record (or set val.every: 0).")
        boxes.append(np.asarray(entry["headbox"], np.float64))
    return np.stack(boxes)


def validate_mpii(model: nn.Module, config: ModelConfig, records: Sequence[PersonRecord],
                  annotation_file: str | os.PathLike, **predict_options) -> dict[str, float]:
    """PCKh@0.5 per group (percent) of the model on the MPII validation records (0-based pixels)."""
    from eval.mpii import evaluate

    poses = predict(model, config, records, **predict_options)
    table = evaluate(poses[:, :, :2], np.stack([r.joints for r in records]),
                     np.stack([r.visibility for r in records]), mpii_head_boxes(annotation_file))
    return dict(table["PCKh@0.5"]["groups"])

"""From a training config to dataset records and the training Dataset."""
from __future__ import annotations

from pose.datasets.augment import AugmentConfig
from pose.datasets.coco import load_coco_detections, load_coco_persons
from pose.datasets.dataset import KeypointDataset
from pose.datasets.mpii import load_mpii
from pose.datasets.posetrack import load_posetrack18
from pose.datasets.records import PersonRecord
from pose.skeleton import KEYPOINT_SETS
from training.config import TrainConfig
from training.errors import TrainingError


def _check_keypoint_set(config: TrainConfig) -> None:
    expected = {"coco": "coco", "mpii": "mpii", "posetrack18": "posetrack18"}[config.data.dataset]
    if config.model.keypoint_set != expected:
        raise TrainingError(f"the {config.data.dataset} data have {expected} joints but the model predicts "
                        f"{config.model.keypoint_set} joints; set model.keypoint_set: {expected}.")


def load_records(config: TrainConfig, split: str) -> list[PersonRecord]:
    """The persons of the `train` or `val` split named by the config's data section.

    COCO validation uses `val_detections` boxes when given, else ground-truth boxes.
    """
    _check_keypoint_set(config)
    data = config.data
    annotations = data.train_annotations if split == "train" else data.val_annotations
    images = data.train_images if split == "train" else data.val_images
    if not annotations:
        raise TrainingError(f"data.{split}_annotations is not set in the training config.")
    aspect_ratio = config.model.aspect_ratio
    if data.dataset == "coco":
        if split == "val" and data.val_detections:
            return load_coco_detections(data.val_detections, annotations, images, aspect_ratio,
                                        data.det_score_threshold, config.model.num_joints)
        return load_coco_persons(annotations, images, aspect_ratio, KEYPOINT_SETS["coco"])
    if data.dataset == "mpii":
        return load_mpii(annotations, images)
    return load_posetrack18(annotations, images, aspect_ratio)


def make_dataset(config: TrainConfig, records: list[PersonRecord],
                 augment: AugmentConfig | None = None) -> KeypointDataset:
    """The training Dataset for `records` with the model's geometry and the config's augmentation."""
    model = config.model
    return KeypointDataset(records, KEYPOINT_SETS[model.keypoint_set], model.image_size,
                           model.heatmap_size, model.sigma, model.mean, model.std,
                           augment=config.augment if augment is None else augment, seed=config.seed)

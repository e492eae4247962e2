"""The torch Dataset that turns `PersonRecord`s into network inputs and heatmap targets."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from pose.datasets.augment import AugmentConfig, CropParams, crop_sample, sample_crop
from pose.datasets.records import PersonRecord
from pose.errors import PoseError
from pose.heatmaps import HeatmapCodec
from pose.skeleton import KeypointSet


def read_rgb(record: PersonRecord) -> np.ndarray:
    """The record's image as uint8 HxWx3 RGB (OpenCV reads BGR); PoseError naming the record if unreadable."""
    image = cv2.imread(str(record.image_path), cv2.IMREAD_COLOR)
    if image is None:
        raise PoseError(f"image {record.image_path} of record {record.record_id} could not be read.")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class KeypointDataset(Dataset):
    """Crops, targets and weights for single-person heatmap training.

    Item `i` is a dict: `image` float32 (3,H,W) normalised with the model's mean/std, `target`
    float32 (K,h,w) Gaussian heatmaps, `target_weight` float32 (K,1), `index` int.
    Random choices come from `np.random.default_rng((seed, epoch, i))`, so an item depends only on
    the seed, the epoch (`set_epoch`) and its index, never on the worker that builds it.
    """

    def __init__(self, records: Sequence[PersonRecord], keypoint_set: KeypointSet,
                 image_size: tuple[int, int], heatmap_size: tuple[int, int], sigma: float,
                 mean: Sequence[float], std: Sequence[float],
                 augment: AugmentConfig = AugmentConfig(), seed: int = 0) -> None:
        self.records = list(records)
        self.keypoint_set = keypoint_set
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.codec = HeatmapCodec(self.image_size, heatmap_size, sigma)
        self.mean = np.asarray(mean, np.float32) * 255.0
        self.std = np.asarray(std, np.float32) * 255.0
        self.augment = augment
        self.seed = int(seed)
        self.epoch = 0
        self._flip_permutation = keypoint_set.flip_permutation()

    def __len__(self) -> int:
        return len(self.records)

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose random draws the next items use."""
        self.epoch = int(epoch)

    def crop_params(self, index: int, image_width: int) -> CropParams:
        """The crop of item `index` in the current epoch (deterministic)."""
        record = self.records[index]
        rng = np.random.default_rng((self.seed, self.epoch, index))
        aspect_ratio = self.image_size[0] / self.image_size[1]
        return sample_crop(record.center, record.scale, record.joints, record.visibility, image_width,
                           self.augment, self.keypoint_set, aspect_ratio, rng)

    def __getitem__(self, index: int) -> dict:
        record = self.records[index]
        image = read_rgb(record)
        params = self.crop_params(index, image.shape[1])
        crop, joints, visibility = crop_sample(image, record.joints, record.visibility, params,
                                               self.image_size, self._flip_permutation)
        target, weight = self.codec.encode(joints, visibility)
        pixels = (crop.astype(np.float32) - self.mean) / self.std
        return {
            "image": torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1))),
            "target": torch.from_numpy(np.asarray(target, np.float32)),
            "target_weight": torch.from_numpy(np.asarray(weight, np.float32).reshape(-1, 1)),
            "index": index,
        }

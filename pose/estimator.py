"""Top-down pose estimation: person boxes in an image -> keypoints, with the official flip test.

``PoseEstimator.estimate`` crops every box (``pose.crops``), runs all crops of the image and their
mirror images through HRNet as one batch, averages each crop's heatmaps with its flipped-back
twin, decodes them (``pose.heatmaps``) and maps the keypoints back to image pixels.
"""
from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from common.runtime import Runtime
from pose.config import ConfigSource, ModelConfig, load_model_config
from pose.crops import box_to_center_scale, crops_to_tensor, heatmap_to_image, warp_crop
from pose.errors import PoseError
from pose.heatmaps import HeatmapCodec, flip_average
from pose.hrnet import HRNet, build_model, fold_batchnorm
from pose.skeleton import KEYPOINT_SETS, KeypointSet
from pose.state_dict import load_checkpoint
from pose.weights import resolve_weights
from pose.weights_registry import with_keypoint_set_of

__all__ = ["PoseEstimator", "load_network"]


def load_network(config_source: ConfigSource, weights: str | os.PathLike | None = None
                 ) -> tuple[HRNet, ModelConfig]:
    """The HRNet of a model config with `weights` (a path or a registry name) loaded strictly when
    given, and the config with the keypoint set those weights were trained for."""
    config = load_model_config(config_source)
    weights_path = None if weights is None else resolve_weights(weights)  # fail before building
    config = with_keypoint_set_of(config, weights)
    model = build_model(config)
    if weights_path is not None:
        load_checkpoint(model, weights_path)
    return model, config


class PoseEstimator:
    """HRNet keypoints for person boxes, the way the official test computes them.

    ``model`` maps (B,3,H,W) normalised RGB crops to (B,K,H/4,W/4) heatmaps. An ``HRNet`` is
    copied with BatchNorm folded into its convolutions (the caller's module is left as it is);
    any other module is used as given. Either is moved to the runtime's device and put in eval mode.
    ``flip`` adds the horizontally mirrored crops (twice the work, official test setting).
    ``batch_size`` caps the network inputs per forward pass, flipped crops included.

    ``runtime`` (``common.runtime.Runtime``) says where and how the network runs: engine "torch"
    (exact, nothing converted) or "openvino" (compiled for the CPU, converted once and cached under
    ``$HRTRACK_HOME/openvino``), in precision "fp32", "bf16" (OpenVINO on a CPU with AMX or AVX-512
    bf16, or CUDA autocast), "fp16" (CUDA autocast) or "fp64" (torch, for exact checks), on
    ``runtime.threads`` OpenVINO threads (0: every core; torch's count is the process's). Without
    it, ``device``, ``engine``, ``precision`` and ``threads`` are resolved into one
    (``Runtime.resolve``, where "auto" is explained); the default is torch fp32 on the CPU.
    """

    def __init__(self, model: nn.Module, config: ModelConfig, *, flip: bool = True, batch_size: int = 32,
                 runtime: Runtime | None = None, device: torch.device | str = "cpu", engine: str = "torch",
                 precision: str = "auto", threads: int = 0) -> None:
        self.config = config
        self.runtime = Runtime.given(runtime, device=device, engine=engine, precision=precision, threads=threads,
                                     error=PoseError)
        self.device = self.runtime.torch_device()
        if not isinstance(batch_size, int) or batch_size < 1:
            raise PoseError(f"batch_size must be a positive integer, got {batch_size!r}.")
        self.flip = flip
        self.batch_size = batch_size
        self._input_dtype = self.runtime.tensor_dtype()
        if isinstance(model, HRNet):
            model = fold_batchnorm(model)
        # channels_last measured faster in float32 (tiny and W32 HRNet, 2-core CPU), not in float64.
        self._memory_format = (torch.channels_last if self._input_dtype == torch.float32
                               and self.runtime.engine == "torch" else torch.contiguous_format)
        # torch's typed overloads of Module.to omit memory_format, which Module.to accepts
        model = model.eval().to(self.device, self._input_dtype, memory_format=self._memory_format)  # type: ignore[call-overload]
        self.model = model if self.runtime.engine == "torch" else self._compiled(model)
        self.codec = HeatmapCodec(config.image_size, config.heatmap_size, config.sigma)
        self._flip_permutation = self.keypoint_set.flip_permutation()

    @classmethod
    def from_config(cls, config_source: ConfigSource, weights: str | os.PathLike | None = None,
                    **kwargs) -> PoseEstimator:
        """Build the HRNet of a model config and, when ``weights`` (a path or a registry name) is
        given, load it strictly; keyword arguments go to the constructor."""
        return cls(*load_network(config_source, weights), **kwargs)

    def _compiled(self, model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
        """`model` converted and compiled by OpenVINO for any batch of this config's input size."""
        from pose.runtime.openvino_model import OpenVINONetwork

        width, height = self.config.image_size
        return OpenVINONetwork(model, torch.zeros(1, 3, height, width), precision=self.runtime.precision,
                               threads=self.runtime.threads)

    @property
    def keypoint_set(self) -> KeypointSet:
        """The ``pose.skeleton`` keypoint set (joint order, flip pairs) the model predicts."""
        return KEYPOINT_SETS[self.config.keypoint_set]

    def estimate(self, image_rgb: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Poses (N,K,3) float32 x, y, score for boxes (N,4 or 5) x1,y1,x2,y2[,score] in a uint8
        HxWx3 RGB image; x, y in image pixels, score = the (flip-averaged) heatmap peak.

        Boxes may reach outside the image (outside pixels are black) and may have zero size.
        """
        image = self._check_image(image_rgb)
        boxes = self._check_boxes(boxes)
        if len(boxes) == 0:
            return np.zeros((0, self.config.num_joints, 3), dtype=np.float32)
        centers, scales = box_to_center_scale(boxes, self.config.aspect_ratio)
        crops = np.stack([warp_crop(image, center, scale, self.config.image_size)
                          for center, scale in zip(centers, scales)])
        inputs = crops_to_tensor(crops, self.config.mean, self.config.std, self.device, self._input_dtype)
        coords, maxvals = self.codec.decode(self.heatmaps(inputs))
        points = heatmap_to_image(coords, centers, scales, self.config.heatmap_size)
        return np.concatenate([points, maxvals], axis=2).astype(np.float32)

    def heatmaps(self, inputs: torch.Tensor) -> np.ndarray:
        """Heatmaps (N,K,H/4,W/4) float32 for normalised network inputs (N,3,H,W) (see
        ``pose.crops.crops_to_tensor``); with ``flip`` the official flip-test average."""
        count = len(inputs)
        with torch.inference_mode():
            inputs = inputs.to(self.device, self._input_dtype, memory_format=self._memory_format)
            if self.flip:
                inputs = torch.cat([inputs, inputs.flip(3)])
            with self.runtime.autocast():
                heatmaps = torch.cat([self.model(chunk) for chunk in inputs.split(self.batch_size)])
            heatmaps = heatmaps.to(self._input_dtype)
            if self.flip:
                heatmaps = flip_average(heatmaps[:count], heatmaps[count:], self._flip_permutation)
            return heatmaps.float().contiguous().cpu().numpy()

    @staticmethod
    def _check_image(image: np.ndarray) -> np.ndarray:
        if (not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3
                or image.dtype != np.uint8 or image.size == 0):
            described = (f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray)
                         else type(image).__name__)
            raise PoseError("the image must be a non-empty uint8 RGB array of shape (H, W, 3), "
                            f"got a {described}.")
        return image

    @staticmethod
    def _check_boxes(boxes: np.ndarray) -> np.ndarray:
        boxes = np.asarray(boxes, dtype=np.float64)
        if boxes.size == 0:
            return boxes.reshape(0, 4)
        if boxes.ndim != 2 or boxes.shape[1] not in (4, 5):
            raise PoseError(f"boxes must be an (N, 4) or (N, 5) array of x1, y1, x2, y2[, score], "
                            f"got shape {boxes.shape}.")
        if not np.isfinite(boxes[:, :4]).all():
            raise PoseError("boxes contain NaN or infinite coordinates; pass finite x1, y1, x2, y2.")
        if (boxes[:, 2] < boxes[:, 0]).any() or (boxes[:, 3] < boxes[:, 1]).any():
            raise PoseError("boxes must have x2 >= x1 and y2 >= y1 (corners, not x, y, width, height).")
        return boxes

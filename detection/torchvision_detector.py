"""Person boxes from torchvision's COCO detectors (Faster R-CNN, RetinaNet, Keypoint R-CNN)."""
from __future__ import annotations

import contextlib
from typing import Callable

import numpy as np
import torch
from torch import nn
from torchvision.models import WeightsEnum

from detection.errors import DetectionError
from detection.protocol import FrameKey, ImageBoxSource
from detection.threaded_roi_pool import ThreadedRoIPool
from common.torchvision_weights import load_torchvision_weights
from pose.errors import PoseError
from pose.runtime.choice import resolve_precision, resolve_runtime

_AUTOCAST_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}

PERSON_LABEL = 1
"""Label of "person" in torchvision's COCO category list (and in Keypoint R-CNN's two classes)."""


def person_boxes(output: dict[str, torch.Tensor], score_threshold: float,
                 min_box_size: float) -> np.ndarray:
    """One torchvision detection output -> (N,5) float32 x1,y1,x2,y2,score of persons only.

    Keeps label 1 with score >= `score_threshold` and both sides >= `min_box_size` pixels.
    """
    boxes = output["boxes"].float().cpu().numpy().reshape(-1, 4)
    scores = output["scores"].float().cpu().numpy().reshape(-1)
    labels = output["labels"].cpu().numpy().reshape(-1)
    sides = boxes[:, 2:4] - boxes[:, 0:2]
    keep = ((labels == PERSON_LABEL) & (scores >= score_threshold)
            & (sides.min(axis=1, initial=np.inf) >= min_box_size))
    return np.concatenate([boxes[keep], scores[keep, None]], axis=1).astype(np.float32)


def _drop_keypoint_branch(model: nn.Module) -> None:
    """Keypoint R-CNN serves boxes only here: its keypoint branch, which runs on every detection
    and changes no box, is switched off (torchvision skips it when its parts are None)."""
    roi_heads = getattr(model, "roi_heads", None)
    if roi_heads is not None and roi_heads.has_keypoint():
        roi_heads.keypoint_roi_pool = roi_heads.keypoint_head = roi_heads.keypoint_predictor = None


class TorchvisionDetector(ImageBoxSource):
    """A torchvision COCO detector used for person boxes; see `detect`.

    `builder`, `weights_enum`: a torchvision detection builder and its weights enum
    (`fasterrcnn_resnet50_fpn_v2`, `FasterRCNN_ResNet50_FPN_V2_Weights`). `weights`: a member name
    of that enum ("DEFAULT", "COCO_V1", ...), loaded from torchvision's cache
    (`$TORCH_HOME/hub/checkpoints`) with its hash checked, or None for random weights (benchmarks
    and tests). `min_size`/`max_size` override torchvision's input resizing (default: shorter side
    800, longer at most 1333). `min_box_size`: shortest accepted box side, in pixels.

    `runtime` "torch" (default), "openvino" (backbone, FPN, dense head and box head compiled for
    the CPU, `detection.openvino_detector`) or "auto" (OpenVINO on a CPU);
    `precision` "auto" (bf16 on OpenVINO where the CPU has it; fp16 autocast on CUDA, fp32 on a
    CPU with torch), "fp32", "bf16" or "fp16"; `threads` OpenVINO's thread count and, on a CPU, the
    threads pooling the R-CNN regions (`detection.threaded_roi_pool`; 0: every core).
    """

    def __init__(self, builder: Callable[..., nn.Module], weights_enum: type[WeightsEnum], *,
                 weights: str | None = "DEFAULT", device: str | torch.device = "cpu",
                 score_threshold: float = 0.5, min_box_size: float = 8.0, batch_size: int = 4,
                 min_size: int | None = None, max_size: int | None = None, runtime: str = "torch",
                 precision: str = "auto", threads: int = 0) -> None:
        if batch_size < 1:
            raise DetectionError(f"batch_size must be at least 1, not {batch_size}.")
        sizes = {key: value for key, value in (("min_size", min_size), ("max_size", max_size))
                 if value is not None}
        num_classes = len(weights_enum.DEFAULT.meta["categories"])
        model = builder(weights=None, weights_backbone=None, num_classes=num_classes, **sizes)
        if weights is not None:
            load_torchvision_weights(model, weights_enum, weights, DetectionError)
        self.name = builder.__name__
        self.device = torch.device(device)
        try:
            self.runtime = resolve_runtime(runtime, self.device.type)
            self.precision = resolve_precision(precision, self.runtime, self.device.type,
                                               torch_default="fp16" if self.device.type == "cuda" else "fp32")
        except PoseError as error:
            raise DetectionError(str(error)) from None
        self.model = model.eval().to(self.device)
        _drop_keypoint_branch(self.model)
        if self.runtime == "openvino":
            from detection.openvino_detector import compile_for_openvino

            compile_for_openvino(self.model, precision=self.precision, threads=threads)
        if self.device.type == "cpu" and hasattr(self.model, "roi_heads"):
            self.model.roi_heads.box_roi_pool = ThreadedRoIPool(self.model.roi_heads.box_roi_pool, threads)
        self.score_threshold = float(score_threshold)
        self.min_box_size = float(min_box_size)
        self.batch_size = int(batch_size)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.device.type == "cuda" and self.precision != "fp32":
            return torch.autocast("cuda", dtype=_AUTOCAST_DTYPES[self.precision])
        return contextlib.nullcontext()

    def boxes(self, frame: FrameKey, image: np.ndarray) -> np.ndarray:
        """The `BoxSource` call: person boxes (N,5) of one RGB frame (the key is not needed)."""
        return self.detect([image])[0]

    @torch.inference_mode()
    def detect(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        """RGB uint8 HxWx3 frames -> per frame (N,5) float32 person boxes in that frame's pixels."""
        results: list[np.ndarray] = []
        for start in range(0, len(frames), self.batch_size):
            batch = []
            for frame in frames[start:start + self.batch_size]:
                if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
                    raise DetectionError(f"the detector takes RGB uint8 HxWx3 images, not "
                                         f"{frame.dtype} of shape {frame.shape}.")
                tensor = torch.from_numpy(np.ascontiguousarray(frame)).to(self.device)
                batch.append(tensor.permute(2, 0, 1).float().div_(255.0))
            with self._autocast():
                outputs = self.model(batch)
            results.extend(person_boxes(output, self.score_threshold, self.min_box_size)
                           for output in outputs)
        return results

"""Person boxes from torchvision's COCO detectors (Faster R-CNN, RetinaNet, Keypoint R-CNN)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torchvision.models import WeightsEnum

from common.runtime import Runtime
from common.torchvision_weights import load_torchvision_weights
from detection.errors import DetectionError
from detection.protocol import FrameKey, ImageBoxSource
from detection.threaded_roi_pool import ThreadedRoIPool

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
    800, longer at most 1333). `min_box_size`: shortest accepted box side, in pixels. `batch_size`:
    frames per forward pass of `detect`, and how many frames the tracker detects together
    (`detection.lookahead`).

    `runtime` (`common.runtime.Runtime`): engine "torch" or "openvino" (backbone, FPN, dense head and
    box head compiled for the CPU, `detection.openvino_detector`), precision "fp32", "bf16" or "fp16"
    (autocast on CUDA), and `threads`: OpenVINO's thread count and, on a CPU, the threads pooling the
    R-CNN regions (`detection.threaded_roi_pool`; 0: every core). Without it, `device`, `engine`,
    `precision` and `threads` are resolved into one (`Runtime.resolve`); the default is torch fp32 on the CPU.
    """

    def __init__(self, builder: Callable[..., nn.Module], weights_enum: type[WeightsEnum], *,
                 weights: str | None = "DEFAULT", score_threshold: float = 0.5, min_box_size: float = 8.0,
                 batch_size: int = 4, min_size: int | None = None, max_size: int | None = None,
                 runtime: Runtime | None = None, device: str | torch.device = "cpu", engine: str = "torch",
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
        self.runtime = Runtime.given(runtime, device=device, engine=engine, precision=precision, threads=threads,
                                     error=DetectionError)
        if self.runtime.precision == "fp64":
            raise DetectionError("the detectors run in fp32, bf16 or fp16, not fp64.")
        self.device = self.runtime.torch_device()
        self.model = model.eval().to(self.device)
        _drop_keypoint_branch(self.model)
        if self.runtime.engine == "openvino":
            from detection.openvino_detector import compile_for_openvino

            self.model = compile_for_openvino(self.model, precision=self.runtime.precision,
                                              threads=self.runtime.threads)
        if self.device.type == "cpu" and hasattr(self.model, "roi_heads"):
            roi_heads = self.model.get_submodule("roi_heads")
            roi_heads.box_roi_pool = ThreadedRoIPool(roi_heads.get_submodule("box_roi_pool"), self.runtime.threads)
        self.score_threshold = float(score_threshold)
        self.min_box_size = float(min_box_size)
        self.batch_size = int(batch_size)

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
            with self.runtime.autocast():
                outputs = self.model(batch)
            results.extend(person_boxes(output, self.score_threshold, self.min_box_size)
                           for output in outputs)
        return results

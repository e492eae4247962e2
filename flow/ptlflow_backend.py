"""Flow models of the ptlflow package (FlowNet2 as in the HRNet paper, RAFT, ~90 others).

ptlflow is optional (`pip install "ptlflow>=0.4"`, after hrtrack: see the README); it is imported only when chosen.
"""
from __future__ import annotations

import importlib
import urllib.error
from pathlib import Path

import numpy as np
import torch

from flow.errors import FlowError
from flow.frames import check_pair, field_from_tensor, padded_batch

INSTALL = 'pip install "ptlflow>=0.4"'


def _import_ptlflow():
    try:
        return importlib.import_module("ptlflow")
    except ImportError as exc:
        raise FlowError(f"the flow backend ptlflow is not installed ({exc}); install it with "
                        f"`{INSTALL}` (it replaces OpenCV 5.0 with 4.13; see the README).") from exc


class PtlflowFlow:
    """A ptlflow model `model` (e.g. "flownet2", "raft") with checkpoint `checkpoint`.

    `checkpoint`: a ptlflow checkpoint name ("things", "sintel", ...; default: the model's first
    one) fetched into torch's cache (`$TORCH_HOME/hub/checkpoints`), or a path to a file.
    """

    def __init__(self, model: str, *, checkpoint: str | None = None,
                 device: str | torch.device = "cpu") -> None:
        ptlflow = _import_ptlflow()
        if model not in ptlflow.get_model_names():
            raise FlowError(f"ptlflow has no model {model!r}; `python -c \"import ptlflow; "
                            f"print(ptlflow.get_model_names())\"` lists them.")
        known = getattr(ptlflow.get_model_reference(model), "pretrained_checkpoints", {}) or {}
        if checkpoint is None:
            if not known:
                raise FlowError(f"ptlflow's {model} has no published checkpoint; pass a file as "
                                f"checkpoint=PATH.")
            checkpoint = next(iter(known))
        url = known.get(checkpoint)
        folder = Path(torch.hub.get_dir()) / "checkpoints"
        try:
            network = ptlflow.get_model(model, ckpt_path=checkpoint)
        except (OSError, urllib.error.URLError) as exc:
            where = (f"download {url} and put it in {folder}" if url else
                     f"check the path {checkpoint}")
            raise FlowError(f"the checkpoint {checkpoint!r} of ptlflow's {model} could not be "
                            f"loaded ({exc}); {where}.") from exc
        except ValueError as exc:  # ptlflow's way of saying the checkpoint name is unknown
            raise FlowError(f"ptlflow's {model} has no checkpoint {checkpoint!r} ({exc}); "
                            f"choose one of {', '.join(known) or 'none'} or pass a file.") from exc
        self.device = torch.device(device)
        self.model = network.eval().to(self.device)
        self.name = model

    @torch.inference_mode()
    def flow(self, prev_rgb: np.ndarray, cur_rgb: np.ndarray) -> np.ndarray:
        """RGB uint8 HxWx3 pair -> (H,W,2) float32 (dx, dy) moving pixels of prev to cur."""
        check_pair(prev_rgb, cur_rgb)
        # ptlflow models pad to their own stride and crop back themselves; they read BGR in [0,1].
        batch, size_hw = padded_batch([prev_rgb[..., ::-1], cur_rgb[..., ::-1]], 1, self.device)
        output = self.model({"images": batch[None]})
        return field_from_tensor(output["flows"][:, 0], size_hw)

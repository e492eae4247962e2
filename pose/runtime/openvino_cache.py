"""Converted OpenVINO models on disk: `$HRTRACK_HOME/openvino/<key>/` holds model.xml, model.bin and
a manifest with their sha256, so a second run skips the slow conversion.

The key hashes the module's structure and weights, the input shape, the precision and the OpenVINO
version. An entry is used only when its files match the manifest and OpenVINO reads them; any other
entry is converted again and replaced. Entries appear whole: written in a temporary folder, renamed.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import openvino
import torch
from torch import nn

from common.download import cache_dir

__all__ = ["cache_key", "load_entry", "openvino_cache_dir", "save_entry"]

LOG = logging.getLogger(__name__)

MANIFEST = "manifest.json"
_FILES = ("model.xml", "model.bin")
_CHUNK_BYTES = 1 << 22


def openvino_cache_dir() -> Path:
    """Where converted models live: `$HRTRACK_HOME/openvino` (default ~/.cache/hrtrack/openvino)."""
    return cache_dir() / "openvino"


def cache_key(module: nn.Module, input_shape: str, precision: str) -> str:
    """sha256 (hex) of the module's layout (its repr), every state-dict entry's name, dtype, shape
    and bytes, the input shape, the precision and the OpenVINO version."""
    digest = hashlib.sha256()
    for part in (type(module).__qualname__, repr(module), input_shape, precision, openvino.get_version()):
        digest.update(part.encode() + b"\0")
    for name, parameter in module.state_dict().items():
        tensor = parameter.detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def load_entry(folder: Path) -> openvino.Model | None:
    """The model stored in `folder`, or None when there is none or it cannot be trusted (logged)."""
    if not folder.exists():
        return None
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        for name in _FILES:
            if _file_sha256(folder / name) != manifest["sha256"][name]:
                raise ValueError(f"{name} does not match its sha256")
        return openvino.Core().read_model(str(folder / "model.xml"))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
        LOG.warning("cached OpenVINO model %s cannot be read (%s); converting again", folder, error)
        return None


def save_entry(folder: Path, model: openvino.Model) -> None:
    """Store `model` (fp32 weights kept as they are) in `folder`, replacing what is there."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".part", dir=folder.parent))
    try:
        openvino.save_model(model, str(staging / "model.xml"), compress_to_fp16=False)
        sums = {name: _file_sha256(staging / name) for name in _FILES}
        (staging / MANIFEST).write_text(json.dumps({"sha256": sums, "openvino": openvino.get_version()}))
        if folder.exists():
            shutil.rmtree(folder)
        try:
            os.replace(staging, folder)
        except OSError:
            if not folder.is_dir():  # else another process stored the same entry first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone after the rename; left over on failure

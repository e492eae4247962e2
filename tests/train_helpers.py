"""Helpers shared by the training tests (a plain module, not a test file)."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import torch

from training.config import TrainConfig, load_train_config

ROOT = Path(__file__).resolve().parents[1]


def tiny_config(reference_dir: Path, tmp_path: Path, *overrides: str) -> TrainConfig:
    """The tiny training config on the reference COCO sample, writing into tmp_path."""
    coco = reference_dir / "coco"
    return load_train_config(ROOT / "configs" / "train_tiny.yaml", [
        f"data.train_annotations={coco / 'test_coco.json'}", f"data.train_images={coco}",
        f"data.val_annotations={coco / 'test_coco.json'}", f"data.val_images={coco}",
        f"output_dir={tmp_path}", *overrides])


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block on `count` torch threads, then restore the previous count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)

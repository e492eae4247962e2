"""Training throughput on this CPU: the data pipeline alone (0 and 2 loader workers) and full
HRNet-W32 256x192 training steps, with the share of a step spent waiting for data.

Data: the COCO sample of `../shared/reference/coco/` (12 persons, full official augmentation).
Run from the repo root: `python -m bench.train_step` (a few minutes on 2 busy cores).
"""
from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from bench.machine import emit
from training.config import load_train_config
from training.data import load_records, make_dataset
from training.distributed import Process
from training.trainer import Trainer

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "coco"


def _config(output_dir: str, batch_size: int, workers: int, steps: int):
    annotations = REFERENCE / "test_coco.json"
    return load_train_config(Path(__file__).resolve().parents[1] / "configs" / "train_coco_w32_256x192.yaml", [
        f"data.train_annotations={annotations}", f"data.train_images={REFERENCE}",
        "data.val_annotations=", "val.every=0", "pretrained=null", "device=cpu", "amp=false",
        f"optim.batch_size={batch_size}", f"optim.max_steps={steps}", f"workers={workers}",
        f"output_dir={output_dir}",
    ])


def data_samples_per_s(config, workers: int, repeats: int, batch_size: int) -> float:
    """Samples/s of loading, augmenting, cropping and encoding targets, without the network."""
    dataset = make_dataset(config, load_records(config, "train") * repeats)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers,
                        generator=torch.Generator().manual_seed(0))
    started = time.perf_counter()
    count = sum(len(batch["image"]) for batch in loader)
    return count / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    """Measure and print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=2, help="training batch (default 2)")
    parser.add_argument("--steps", type=int, default=2, help="measured training steps (default 2)")
    parser.add_argument("--repeats", type=int, default=8, help="passes over the 12 persons for the data figure")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own choice); "
                        "on a busy machine 1 is far faster than 2 contending ones")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as output_dir:
        config = _config(output_dir, args.batch_size, workers=2, steps=args.steps)
        figures = {f"data_samples_per_s_{w}_workers": round(data_samples_per_s(config, w, args.repeats, 8), 2)
                   for w in (0, 2)}
        trainer = Trainer(config, Process(0, 1, torch.device("cpu")), quiet=True)
        trainer.train_epoch(0)  # warm-up (as many steps): first-touch allocations, worker start
        measured = trainer.train_epoch(1)
    figures.update({
        "model": config.model.name,
        "train_batch_size": args.batch_size,
        "train_steps": len(measured.losses),
        "train_samples_per_s": round(measured.samples_per_s, 3),
        "train_step_s": round(args.batch_size / measured.samples_per_s, 3),
        "data_wait_share": round(measured.data_wait_share, 4),
        "loader_workers": config.workers,
        "augmentation": dataclasses.asdict(config.augment)["enabled"],
    })
    emit(figures)


if __name__ == "__main__":
    main()

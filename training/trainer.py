"""The training loop: epochs of Adam (or SGD) steps on the heatmap loss, validation, checkpoints.

One process or many under `torchrun` (DistributedDataParallel with a DistributedSampler). Every
rank computes the same things; only rank 0 writes checkpoints and shows progress. A run is
reproducible: the model init comes from `seed`, the sample order from (seed, epoch) and every
sample's augmentation from (seed, epoch, index), so `--resume` continues exactly.
"""
from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler
from tqdm import tqdm

from pose.hrnet import build_model
from pose.state_dict import load_checkpoint
from pose.weights import resolve_weights
from training.config import TrainConfig, config_to_dict
from training.data import load_records, make_dataset
from training.distributed import Process, gather_strings, mean_over_ranks, weight_digest
from training.errors import TrainingError
from training.loss import JointsMSELoss
from training.pretrained import load_imagenet, official_init
from training.state import read_training_checkpoint, restore_scheduler, scheduler_state, write_training_checkpoint
from training.validate import validate_coco, validate_mpii

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
BEST_NAME = "best.pt"
# The validation number that picks the best model, per dataset (higher is better).
MAIN_METRIC = {"coco": "AP", "mpii": "Mean"}


@dataclass
class EpochLog:
    """What one epoch did: mean loss over ranks, this rank's step losses, speed, validation."""

    epoch: int
    lr: float
    loss: float
    losses: list[float]
    samples_per_s: float
    data_wait_share: float
    metrics: dict[str, float] = field(default_factory=dict)
    weight_digests: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the checkpoint's history."""
        return dict(self.__dict__)


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam (official: no weight decay unless set) or SGD with momentum, from `config.optim`."""
    optim = config.optim
    if optim.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=optim.lr, weight_decay=optim.weight_decay)
    if optim.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=optim.lr, momentum=optim.momentum,
                               weight_decay=optim.weight_decay, nesterov=optim.nesterov)
    raise TrainingError(f"optim.optimizer {optim.optimizer!r} is unknown; choose adam or sgd.")


class Trainer:
    """Holds the model, optimizer, scheduler and data of one run; `fit()` runs the remaining epochs."""

    def __init__(self, config: TrainConfig, process: Process, *, quiet: bool = False) -> None:
        self.config = config
        self.process = process
        self.output_dir = Path(config.output_dir)
        self.quiet = quiet
        torch.manual_seed(config.seed)
        model = build_model(config.model)
        official_init(model)
        if config.init_weights:
            load_checkpoint(model, resolve_weights(config.init_weights, option="--set init_weights=PATH"))
            log.info("initialised from %s", config.init_weights)
        elif config.pretrained:
            load_imagenet(model, resolve_weights(config.pretrained, option="--pretrained PATH"))
        self.model = model.to(process.device)
        self.net: nn.Module = (DistributedDataParallel(self.model) if process.world_size > 1 else self.model)
        self.optimizer = make_optimizer(self.model, config)
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(
            self.optimizer, list(config.optim.lr_steps), config.optim.lr_factor)
        self.amp = config.amp and process.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.criterion = JointsMSELoss(config.loss.use_target_weight, config.loss.ohkm, config.loss.topk)
        self.train_set = make_dataset(config, load_records(config, "train"))
        self.sampler: DistributedSampler = DistributedSampler(
            self.train_set, num_replicas=process.world_size, rank=process.rank, shuffle=True, seed=config.seed)
        self.val_records = None
        if config.val.every > 0 and config.data.val_annotations:
            if config.data.dataset not in MAIN_METRIC:
                raise TrainingError(f"validation on {config.data.dataset} is not available; set val.every: 0 "
                                "and evaluate the saved model with the tracker and `python -m eval`.")
            self.val_records = load_records(config, "val")
        self.start_epoch = 0
        self.best_score: float | None = None
        self.history: list[dict[str, Any]] = []

    def resume(self, path: str | Path) -> None:
        """Continue from a checkpoint: weights, optimizer, scheduler, scaler, RNG, epoch, best, history."""
        state = read_training_checkpoint(path)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        restore_scheduler(self.scheduler, state["scheduler"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["torch_rng"])
        self.start_epoch = int(state["epoch"])
        self.best_score = state["best_score"]
        self.history = list(state["history"])
        log.info("resumed from %s at epoch %d", path, self.start_epoch)

    def _loader(self, epoch: int) -> DataLoader:
        self.sampler.set_epoch(epoch)
        self.train_set.set_epoch(epoch)
        return DataLoader(self.train_set, batch_size=self.config.optim.batch_size, sampler=self.sampler,
                          num_workers=self.config.workers, pin_memory=self.process.device.type == "cuda",
                          drop_last=False)

    def train_epoch(self, epoch: int) -> EpochLog:
        """One pass over this rank's share of the training set (at most `optim.max_steps` steps)."""
        self.net.train()
        loader = self._loader(epoch)
        steps = len(loader) if self.config.optim.max_steps is None else min(len(loader), self.config.optim.max_steps)
        show = self.process.is_main and not self.quiet and sys.stderr.isatty()
        bar = tqdm(total=steps, desc=f"epoch {epoch}", disable=not show, leave=False)
        device = self.process.device
        losses: list[float] = []
        samples, waited = 0, 0.0
        started = tick = time.perf_counter()
        for step, batch in enumerate(loader):
            if step >= steps:
                break
            waited += time.perf_counter() - tick
            images = batch["image"].to(device, non_blocking=True)
            target = batch["target"].to(device, non_blocking=True)
            weight = batch["target_weight"].to(device, non_blocking=True)
            autocast = torch.autocast("cuda", dtype=torch.float16) if self.amp else contextlib.nullcontext()
            with autocast:
                loss = self.criterion(self.net(images), target, weight)
            if not math.isfinite(loss.item()):
                raise TrainingError(f"the loss became {loss.item()} at epoch {epoch}, step {step}; "
                                "lower optim.lr or check the data.")
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            losses.append(loss.item())
            samples += len(images) * self.process.world_size
            elapsed = time.perf_counter() - started
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.3e}", samples_s=f"{samples / elapsed:.1f}")
            tick = time.perf_counter()
        bar.close()
        elapsed = max(time.perf_counter() - started, 1e-9)
        local_mean = sum(losses) / max(len(losses), 1)
        return EpochLog(epoch=epoch, lr=self.optimizer.param_groups[0]["lr"],
                        loss=mean_over_ranks(local_mean, self.process), losses=losses,
                        samples_per_s=samples / elapsed, data_wait_share=waited / elapsed)

    def validate(self) -> dict[str, float]:
        """Validation metrics of the current model (computed on rank 0; empty on other ranks and without a
        validation set)."""
        if not self.process.is_main or self.val_records is None:
            return {}
        options = {"flip": self.config.val.flip, "device": str(self.process.device),
                   "batch_size": self.config.val.batch_size}
        data = self.config.data
        if data.dataset == "coco":
            return validate_coco(self.model, self.config.model, self.val_records, data.val_annotations, **options)
        return validate_mpii(self.model, self.config.model, self.val_records, data.val_annotations, **options)

    def _save(self, entry: EpochLog) -> None:
        payload = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": scheduler_state(self.scheduler),
            "scaler": self.scaler.state_dict() if self.amp else {},
            "torch_rng": torch.get_rng_state(),
            "epoch": entry.epoch + 1,
            "best_score": self.best_score,
            "history": self.history,
            "config": config_to_dict(self.config),
        }
        self.output_dir.mkdir(parents=True, exist_ok=True)
        write_training_checkpoint(self.output_dir / CHECKPOINT_NAME, payload)

    def _save_best(self, entry: EpochLog, score: float) -> None:
        write_training_checkpoint(self.output_dir / BEST_NAME, {
            "model": self.model.state_dict(), "epoch": entry.epoch, "score": score,
            "metrics": entry.metrics, "config": config_to_dict(self.config)})

    def fit(self) -> list[dict[str, Any]]:
        """Train from `start_epoch` to `optim.epochs`; returns the whole history (one dict per epoch)."""
        last = self.config.optim.epochs - 1
        for epoch in range(self.start_epoch, self.config.optim.epochs):
            entry = self.train_epoch(epoch)
            self.scheduler.step()
            entry.weight_digests = gather_strings(weight_digest(self.model), self.process)
            every = self.config.val.every
            if self.val_records is not None and ((epoch + 1) % every == 0 or epoch == last):
                entry.metrics = self.validate()
            improved = False
            if self.process.is_main and entry.metrics:
                score = entry.metrics[MAIN_METRIC[self.config.data.dataset]]
                improved = self.best_score is None or score > self.best_score
                if improved:
                    self.best_score = score
            self.history.append(entry.as_dict())
            log.info("epoch %d: loss %.4e, lr %.1e, %.1f samples/s, data wait %.0f%%%s", epoch, entry.loss,
                     entry.lr, entry.samples_per_s, 100 * entry.data_wait_share,
                     "".join(f", {k} {v:.4f}" for k, v in entry.metrics.items()))
            if self.process.is_main:
                self._save(entry)
                if improved:
                    self._save_best(entry, score)
            if self.process.world_size > 1:
                dist.barrier()
        return self.history

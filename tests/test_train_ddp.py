"""Two processes under torchrun (gloo on CPU) train in lockstep and end with identical weights."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from training.state import read_training_checkpoint
from training.trainer import CHECKPOINT_NAME

ROOT = Path(__file__).resolve().parents[1]


def test_torchrun_two_ranks_end_with_identical_weights(reference_dir, tmp_path):
    coco = reference_dir / "coco"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "training.train", "--config", "configs/train_tiny.yaml", "--quiet",
        "--output-dir", str(tmp_path), "--epochs", "2", "--batch-size", "2", "--workers", "0",
        "--set", "model.image_size=[96,128]", "--set", "model.heatmap_size=[24,32]", "--set", "optim.max_steps=2",
        "--set", "val.every=0", "--set", "augment.enabled=true",
        "--set", f"data.train_annotations={coco / 'test_coco.json'}", "--set", f"data.train_images={coco}",
    ]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    finished = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=400,
                              check=False)
    assert finished.returncode == 0, finished.stderr[-2000:]
    payload = read_training_checkpoint(tmp_path / CHECKPOINT_NAME)
    assert payload["epoch"] == 2
    for epoch in payload["history"]:
        digests = epoch["weight_digests"]
        assert len(digests) == 2 and digests[0] == digests[1]
        assert len(epoch["losses"]) == 2  # 12 persons / 2 ranks / batch 2, cut to 2 steps
    assert payload["history"][0]["weight_digests"] != payload["history"][1]["weight_digests"]
    assert (tmp_path / "train.log").is_file()

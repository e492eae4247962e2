"""Training pieces: loss, config, ImageNet init, checkpoints and exact resume, CLI errors."""
from __future__ import annotations

import pytest
import torch
from train_helpers import tiny_config, torch_threads  # tests/train_helpers.py

from pose.hrnet import build_model
from training.config import config_from_dict, config_to_dict, load_train_config
from training.distributed import Process
from training.errors import TrainingError
from training.loss import JointsMSELoss
from training.pretrained import load_imagenet
from training.state import read_training_checkpoint
from training.train import main
from training.trainer import CHECKPOINT_NAME, Trainer

SMALL_INPUT = ("model.image_size=[96,128]", "model.heatmap_size=[24,32]")  # the fixture's size, for speed
CONFIGS = ("train_coco_w32_256x192", "train_coco_w48_384x288", "train_mpii_w32_256x256",
           "train_posetrack18_w48_384x288", "train_tiny")


@pytest.fixture
def one_thread():
    """Run a training test on one torch thread: its tensors are small, and on a busy 2-core
    machine two threads contend so badly that a step takes several times longer."""
    with torch_threads(1):
        yield


def test_loss_is_the_official_joints_mse():
    generator = torch.Generator().manual_seed(0)
    output, target = torch.rand(3, 5, 8, 6, generator=generator), torch.rand(3, 5, 8, 6, generator=generator)
    weight = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0]).view(1, 5, 1).repeat(3, 1, 1)
    official = sum(0.5 * torch.nn.functional.mse_loss(output[:, k] * weight[:, k, None],
                                                      target[:, k] * weight[:, k, None]) for k in range(5)) / 5
    torch.testing.assert_close(JointsMSELoss()(output, target, weight), official)
    per_joint = 0.5 * ((output - target) * weight[..., None]).pow(2).mean(dim=(2, 3))
    hardest = per_joint.topk(2, dim=1).values.mean()
    torch.testing.assert_close(JointsMSELoss(ohkm=True, topk=2)(output, target, weight), hardest)


@pytest.mark.parametrize("name", CONFIGS)
def test_shipped_configs_load_and_round_trip(name):
    config = load_train_config(f"configs/{name}.yaml")
    assert config_from_dict(config_to_dict(config)) == config


def test_overrides_and_unknown_keys(tmp_path):
    config = load_train_config("configs/train_coco_w32_256x192.yaml", ["optim.lr=0.01", "augment.flip=false"])
    assert config.optim.lr == 0.01 and config.augment.flip is False
    assert config.optim.lr_steps == (170, 200) and config.optim.epochs == 210
    fine_tune = load_train_config("configs/train_posetrack18_w48_384x288.yaml")
    assert (fine_tune.optim.lr, fine_tune.optim.lr_steps, fine_tune.optim.epochs) == (1e-4, (10, 15), 20)
    with pytest.raises(TrainingError, match=r"unknown key optim.learning_rate"):
        load_train_config("configs/train_tiny.yaml", ["optim.learning_rate=1"])


def test_imagenet_init_loads_matching_layers(tmp_path):
    config = load_train_config("configs/train_tiny.yaml")
    source = build_model(config.model)
    fake = {key: value + 1.0 if value.is_floating_point() else value for key, value in source.state_dict().items()
            if not key.startswith("final_layer")}
    fake["incre_modules.0.0.conv1.weight"] = torch.zeros(32, 8, 1, 1)  # classification-only heads
    fake["classifier.weight"] = torch.zeros(1000, 2048)
    fake["final_layer.0.weight"] = torch.zeros(2048, 1024, 1, 1)
    fake["final_layer.weight"] = torch.zeros(2048, 1024, 1, 1)  # same key as ours, other shape
    path = tmp_path / "hrnet_fake_imagenet.pth"
    torch.save(fake, path)
    model = build_model(config.model)
    report = load_imagenet(model, path)
    assert (report.loaded, report.skipped) == (len(fake) - 4, 4)
    assert report.missing == 2  # final_layer.weight and .bias keep their init
    torch.testing.assert_close(model.state_dict()["conv1.weight"], fake["conv1.weight"])


def _plain_data(value) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, (str, int)) and _plain_data(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_plain_data(v) for v in value)
    return value is None or isinstance(value, (torch.Tensor, int, float, str, bool))


def test_resume_repeats_the_uninterrupted_run(reference_dir, tmp_path, one_thread):
    settings = ["augment.enabled=true", "optim.batch_size=4", "optim.max_steps=2", "val.every=0",
                "optim.lr=0.002", "optim.lr_steps=[1]", *SMALL_INPUT]
    cpu = Process(0, 1, torch.device("cpu"))
    straight = Trainer(tiny_config(reference_dir, tmp_path / "a", *settings, "optim.epochs=2"), cpu, quiet=True)
    expected = straight.fit()
    # Interrupted after one epoch (with 2 loader workers: per-sample seeds make that irrelevant).
    config = tiny_config(reference_dir, tmp_path / "b", *settings, "optim.epochs=1", "workers=2")
    first = Trainer(config, cpu, quiet=True)
    first.fit()
    resumed = Trainer(tiny_config(reference_dir, tmp_path / "b", *settings, "optim.epochs=2"), cpu, quiet=True)
    resumed.resume(tmp_path / "b" / CHECKPOINT_NAME)
    history = resumed.fit()
    assert [e["lr"] for e in history] == pytest.approx([0.002, 0.0002])
    for got, want in zip(history, expected):
        assert got["losses"] == pytest.approx(want["losses"], rel=1e-5)
    for key, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value, rtol=1e-5, atol=1e-6)
    payload = read_training_checkpoint(tmp_path / "b" / CHECKPOINT_NAME)
    assert payload["epoch"] == 2 and _plain_data(payload)
    assert config_from_dict(payload["config"]) == resumed.config


def test_cli_errors_are_one_sentence(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "missing.yaml")]) == 1
    message = capsys.readouterr().err.strip()
    assert message.startswith("error: training config file") and message.endswith("does not exist.")
    assert "\n" not in message
    assert main(["--config", "configs/train_tiny.yaml", "--resume", str(tmp_path / "none.pt"),
                 "--output-dir", str(tmp_path / "run"),
                 "--set", f"data.train_annotations={tmp_path / 'none.json'}"]) == 1
    assert "none.json does not exist" in capsys.readouterr().err

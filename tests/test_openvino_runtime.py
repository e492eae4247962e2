"""The OpenVINO runtime: HRNet fp32 equal to torch on the official tiny arrays, any batch, the
converted-model cache (reused, rebuilt when damaged) and the runtime/precision choice."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
import yaml

import common.runtime as choice
from common.runtime import Runtime
from pose.errors import PoseError
from pose.estimator import PoseEstimator
from pose.runtime.openvino_model import OpenVINONetwork

CONVERTING = " for OpenVINO (took "  # the one line a conversion logs


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """One $HRTRACK_HOME for every OpenVINO test of the session (conversions are shared)."""
    folder = tmp_path_factory.getbasetemp() / "openvino_home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HRTRACK_HOME", str(folder))
        yield folder


@pytest.fixture(scope="module")
def tiny(reference_dir):
    text = json.loads((reference_dir / "hrnet" / "tiny_config.json").read_text())["tiny_overrides_yaml"]
    return yaml.safe_load(text), reference_dir / "hrnet" / "tiny_state_dict.pt"


@pytest.fixture(scope="module")
def tiny_io(reference_dir):
    return dict(np.load(reference_dir / "hrnet" / "tiny_io.npz"))


@pytest.fixture(scope="module")
def openvino_fp32(home, tiny):
    return PoseEstimator.from_config(*tiny, engine="openvino", precision="fp32")


def test_openvino_fp32_equals_official_tiny_outputs_with_and_without_flip(openvino_fp32, tiny, tiny_io):
    assert (openvino_fp32.runtime.engine, openvino_fp32.runtime.precision) == ("openvino", "fp32")
    inputs = torch.from_numpy(tiny_io["input"])
    np.testing.assert_allclose(openvino_fp32.heatmaps(inputs), tiny_io["flip_avg"], atol=1e-4, rtol=1e-4)
    no_flip = PoseEstimator.from_config(*tiny, engine="openvino", precision="fp32", flip=False)  # cached
    np.testing.assert_allclose(no_flip.heatmaps(inputs), tiny_io["output"], atol=1e-4, rtol=1e-4)


def test_any_number_of_crops_runs_and_matches_torch(openvino_fp32, tiny):
    reference = PoseEstimator.from_config(*tiny, engine="torch")
    inputs = torch.randn(7, 3, 128, 96, generator=torch.Generator().manual_seed(0))
    for count in (1, 7, 3):  # flip doubles each: 2, 14, 6 crops per pass
        np.testing.assert_allclose(openvino_fp32.heatmaps(inputs[:count]), reference.heatmaps(inputs[:count]),
                                   atol=1e-4)


def _small_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 2, 1))


def test_second_build_reads_the_cache_and_a_damaged_entry_is_rebuilt(home, caplog):
    net, example = _small_net(), torch.randn(2, 3, 8, 8)
    expected = net(example).detach().numpy()
    with caplog.at_level(logging.INFO, logger="pose.runtime"):
        OpenVINONetwork(net, example)
        converted = [r.getMessage() for r in caplog.records if CONVERTING in r.getMessage()]
        assert len(converted) == 1 and converted[0].startswith("converting Sequential"), converted
        entry = home / "openvino" / converted[0].split("cached in ")[1].split("/")[-1]
        assert (entry / "model.bin").is_file() and (entry / "manifest.json").is_file()
        caplog.clear()
        np.testing.assert_allclose(OpenVINONetwork(net, example)(example).numpy(), expected, atol=1e-5)
        assert not any(CONVERTING in r.getMessage() for r in caplog.records)
        data = bytearray((entry / "model.bin").read_bytes())
        data[len(data) // 2] ^= 0xFF  # one flipped byte in the weights
        (entry / "model.bin").write_bytes(bytes(data))
        caplog.clear()
        np.testing.assert_allclose(OpenVINONetwork(net, example)(example).numpy(), expected, atol=1e-5)
    messages = [r.getMessage() for r in caplog.records]
    assert any("cannot be read (model.bin does not match its sha256)" in m for m in messages), messages
    assert sum(CONVERTING in m for m in messages) == 1


def test_other_weights_get_another_cache_entry(home):
    net = _small_net()
    OpenVINONetwork(net, torch.randn(1, 3, 8, 8))
    before = set((home / "openvino").iterdir())
    with torch.no_grad():
        net[0].bias.add_(1.0)
    changed = OpenVINONetwork(net, torch.randn(1, 3, 8, 8))
    assert len(set((home / "openvino").iterdir()) - before) == 1
    example = torch.randn(1, 3, 8, 8)
    np.testing.assert_allclose(changed(example).numpy(), net(example).detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("flags, expected", [("fpu avx512f avx512_bf16 amx_tile", True),
                                             ("fpu amx_bf16", True), ("fpu avx2 avx512f", False)])
def test_bf16_support_is_read_from_cpu_flags(tmp_path, monkeypatch, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    monkeypatch.setattr(choice, "_CPUINFO", cpuinfo)
    choice.cpu_has_bf16.cache_clear()
    try:
        assert choice.cpu_has_bf16() is expected
        assert Runtime.resolve("cpu", "openvino").precision == ("bf16" if expected else "fp32")
    finally:
        choice.cpu_has_bf16.cache_clear()


def test_auto_is_openvino_on_cpu_torch_on_cuda_and_falls_back_without_openvino(monkeypatch, caplog):
    assert Runtime.resolve("cpu") == Runtime("cpu", "openvino", "bf16" if choice.cpu_has_bf16() else "fp32", 0)
    assert choice._engine("auto", "cuda", "auto", PoseError) == "torch"
    assert choice._precision("auto", "torch", "cuda", PoseError) == "fp16"  # as the detector's and HRNet's
    assert Runtime.resolve("cpu", precision="fp64") == Runtime("cpu", "torch", "fp64", 0)  # exact: torch
    monkeypatch.setattr(choice, "openvino_importable", lambda: False)
    choice._log_fallback.cache_clear()
    with caplog.at_level(logging.INFO, logger="common.runtime"):
        assert Runtime.resolve("cpu").engine == "torch"
        assert Runtime.resolve("cpu").engine == "torch"  # said once
    assert [r.getMessage() for r in caplog.records] == ["openvino cannot be imported; running the networks in torch"]
    with pytest.raises(PoseError, match=r"^the openvino runtime was asked for but the openvino package cannot "
                                        r"be imported; install it \(pip install openvino\) or use --runtime torch\.$"):
        Runtime.resolve("cpu", "openvino", error=PoseError)


@pytest.mark.parametrize("kwargs, message", [
    ({"engine": "openvino", "precision": "fp16"}, "fp16 runs only on CUDA (torch); use fp32 or bf16 on the CPU."),
    ({"engine": "torch", "precision": "bf16"}, "bf16 on the CPU runs through the openvino runtime"),
    ({"engine": "onnx"}, "unknown runtime 'onnx'; choose one of auto, torch, openvino."),
    ({"precision": "int8"}, "unknown precision 'int8'; choose one of auto, fp32, bf16, fp16."),
    ({"engine": "openvino", "precision": "fp64"}, "fp64 runs on the torch runtime only"),
    ({"runtime": Runtime(), "precision": "fp32"}, "give a runtime or the device, engine, precision and threads"),
])
def test_impossible_choices_are_one_sentence(tiny, kwargs, message):
    with pytest.raises(PoseError) as error:
        PoseEstimator.from_config(tiny[0], **kwargs)
    assert str(error.value).startswith(message) and str(error.value).count(". ") == 0


def test_bf16_is_refused_on_a_cpu_without_it(monkeypatch):
    monkeypatch.setattr(choice, "cpu_has_bf16", lambda: False)
    with pytest.raises(PoseError, match="neither AMX nor AVX-512 bf16"):
        Runtime.resolve("cpu", "openvino", "bf16", error=PoseError)


def test_float64_with_auto_runtime_stays_exact_on_torch(tiny, tiny_io):
    precise = PoseEstimator.from_config(*tiny, engine="auto", precision="fp64", flip=False)
    assert precise.runtime.engine == "torch"
    inputs = torch.from_numpy(tiny_io["input"]).double()
    np.testing.assert_allclose(precise.heatmaps(inputs), tiny_io["output_f64"], atol=1e-5)

"""python -m pose.export: the tiny reference HRNet as OpenVINO IR and ONNX, read back by OpenVINO,
equal to the official outputs to 1e-4 at any batch size, with the sidecar a runtime needs."""
from __future__ import annotations

import json

import numpy as np
import openvino
import pytest
import yaml

from pose.export import main
from pose.skeleton import COCO


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """The $HRTRACK_HOME of the OpenVINO tests (a conversion done there is reused)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HRTRACK_HOME", str(tmp_path_factory.getbasetemp() / "openvino_home"))
        yield


@pytest.fixture(scope="module")
def tiny(reference_dir, tmp_path_factory):
    """The tiny reference model config as a YAML file, its weights and its official arrays."""
    text = json.loads((reference_dir / "hrnet" / "tiny_config.json").read_text())["tiny_overrides_yaml"]
    config = tmp_path_factory.mktemp("config") / "tiny.yaml"
    config.write_text(yaml.safe_dump(yaml.safe_load(text)))
    return str(config), str(reference_dir / "hrnet" / "tiny_state_dict.pt"), dict(
        np.load(reference_dir / "hrnet" / "tiny_io.npz"))


@pytest.mark.parametrize("fmt, name", [("openvino", "tiny.xml"), ("onnx", "tiny.onnx")])
def test_exported_network_reads_back_equal_to_the_official_output(home, tiny, tmp_path, capsys, fmt, name):
    config, weights, arrays = tiny
    assert main([config, weights, "--format", fmt, "-o", str(tmp_path / name)]) == 0
    written = capsys.readouterr().out.split()
    assert written[0] == str(tmp_path / name) and written[-1] == str(tmp_path / "tiny.json")
    compiled = openvino.Core().compile_model(str(tmp_path / name), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    assert compiled.input(0).get_any_name() == "input" and compiled.output(0).get_any_name() == "heatmaps"
    batch = np.concatenate([arrays["input"]] * 3)  # any batch size
    heatmaps = compiled(batch)[0]
    for index in range(3):
        np.testing.assert_allclose(heatmaps[index:index + 1], arrays["output"], atol=1e-4, rtol=1e-4)
    meta = json.loads((tmp_path / "tiny.json").read_text())
    assert meta["input"]["size"] == [96, 128] and meta["output"]["heatmap_size"] == [24, 32]
    assert meta["input"]["mean"] == pytest.approx([0.485, 0.456, 0.406])
    assert meta["input"]["std"] == pytest.approx([0.229, 0.224, 0.225])
    assert meta["joints"] == list(COCO.joints) and meta["joints"][1] == "left_eye"
    assert [tuple(pair) for pair in meta["flip_pairs"]] == list(COCO.flip_pairs)


@pytest.mark.parametrize("fmt, name, message", [
    ("onnx", "tiny.xml", "error: the onnx file must end in .onnx, not 'tiny.xml'."),
    ("openvino", "missing/tiny.xml", "error: the folder of {tmp}/missing/tiny.xml does not exist; create it first."),
])
def test_a_wrong_output_name_is_one_sentence_and_writes_nothing(tiny, tmp_path, capsys, fmt, name, message):
    config, weights, _ = tiny
    assert main([config, weights, "--format", fmt, "-o", str(tmp_path / name)]) == 1
    assert capsys.readouterr().err.strip() == message.format(tmp=tmp_path)
    assert list(tmp_path.iterdir()) == []

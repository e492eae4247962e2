"""python -m pose.export: the tiny reference HRNet as OpenVINO IR and ONNX, read back by OpenVINO,
equal to the official outputs to 1e-4 at any batch size, with the sidecar a runtime needs."""
from __future__ import annotations

import errno
import json
import os
import re
import subprocess

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
    assert main(["--pose-config", config, "--pose-weights", weights, "--format", fmt, "-o", str(tmp_path / name)]) == 0
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
    assert main(["--pose-config", config, "--pose-weights", weights, "--format", fmt, "-o", str(tmp_path / name)]) == 1
    assert capsys.readouterr().err.strip() == message.format(tmp=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_old_positional_spelling_still_works_and_says_it_is_deprecated(home, tiny, tmp_path, capsys):
    config, weights, _ = tiny
    assert main([config, weights, "--format", "openvino", "-o", str(tmp_path / "tiny.xml")]) == 0
    err = capsys.readouterr().err
    assert "WARNING common.cli: CONFIG WEIGHTS given as positional arguments is deprecated" in err
    assert "use --pose-config and --pose-weights." in err
    assert (tmp_path / "tiny.xml").is_file() and (tmp_path / "tiny.bin").is_file()


def test_the_model_options_are_required(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--format", "onnx", "-o", "x.onnx"])
    assert exit_.value.code == 2
    assert "the following arguments are required: --pose-config, --pose-weights" in capsys.readouterr().err


def _mounted_tmpfs(folder, options: str) -> bool:
    """Mount a tmpfs at `folder` (root only); False where this machine does not allow it."""
    folder.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                          capture_output=True).returncode == 0


@pytest.mark.parametrize("fmt, name", [("openvino", "tiny.xml"), ("onnx", "tiny.onnx")])
@pytest.mark.parametrize("options, reason", [("size=64k", "OpenVINO failed to save it|No space left on device"),
                                             ("size=1m,ro", "Read-only file system")])
def test_a_full_disk_or_read_only_folder_is_one_sentence(home, tiny, tmp_path, capsys, fmt, name, options, reason):
    folder = tmp_path / "disk"
    if os.geteuid() != 0 or not _mounted_tmpfs(folder, options):
        pytest.skip("needs root to mount a small tmpfs (test_a_full_disk_on_any_machine monkeypatches it)")
    try:
        assert main(["--pose-config", tiny[0], "--pose-weights", tiny[1], "--format", fmt,
                     "-o", str(folder / name)]) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.startswith(f"error: cannot write {folder / name}: ")
        assert re.search(reason, err) and len(err.strip().splitlines()) == 1
        assert list(folder.iterdir()) == []  # nothing half-written left behind
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.parametrize("fmt, name, target, failure", [
    ("openvino", "tiny.xml", "openvino.save_model", RuntimeError("basic_ios::clear: iostream error")),  # as measured
    ("onnx", "tiny.onnx", "torch.onnx.export", OSError(errno.ENOSPC, "No space left on device")),
])
def test_a_full_disk_on_any_machine(home, tiny, tmp_path, capsys, monkeypatch, fmt, name, target, failure):
    def full_disk(*args, **kwargs):
        raise failure

    monkeypatch.setattr(target, full_disk)
    assert main(["--pose-config", tiny[0], "--pose-weights", tiny[1], "--format", fmt,
                 "-o", str(tmp_path / name)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith(f"error: cannot write {tmp_path / name}: ")
    assert list(tmp_path.iterdir()) == []

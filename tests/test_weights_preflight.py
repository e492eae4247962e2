"""Every weights file a run needs is checked before any model loads, and all missing ones come in one message;
`python -m tracker.weights list | fetch --preset` and the busy-machine hint.

No network: downloads go to a closed port of 127.0.0.1, or to the test's own server there (`tests/test_download.py`)
serving small files the test makes, named with the sha256 prefix of their content as the published files are.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import sys
from pathlib import Path

import pytest
from test_download import _closed_port, server  # noqa: F401 - the 127.0.0.1 server fixture
from torchvision.models import detection as tv_detection

import common.weight_files
import tracker.run
import tracker.weights
from common.download import fetch as real_fetch
from pose.weights_registry import REGISTRY
from tracker.config import load_track_config
from tracker.preflight import busy_machine_hint, needed_files
from tracker.runner import configure_threads

CLIP = "posetrack/data/videos/000001_mpiinew_test/000001_mpiinew_test.mp4"
TINY = ["--pose-config", "examples/hrnet_tiny_reference.yaml", "--pose-weights"]
W32 = "hrnet_w32_posetrack18_256x192-1ee951c4_20201028.pth"
W48 = "hrnet_w48_posetrack18_384x288-5fd6d3ff_20211130.pth"
MOBILENET = "fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth"
RCNN_V2 = "fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth"
RAFT_SMALL = "raft_small_C_T_V2-01064c6d.pth"
RAFT_LARGE = "raft_large_C_T_SKHT_V2-ff5fadd5.pth"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def caches(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """Empty $HRTRACK_HOME and $TORCH_HOME; returns the two weights folders."""
    monkeypatch.setenv("HRTRACK_HOME", str(tmp_path / "hrtrack"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "hrtrack" / "checkpoints", tmp_path / "torch" / "hub" / "checkpoints"


@pytest.fixture
def offline(monkeypatch) -> None:
    """Every download goes to a closed port of 127.0.0.1 (the URLs the files publish stay in the messages)."""
    closed = f"http://127.0.0.1:{_closed_port()}/"

    def to_closed_port(url, *args, **kwargs):
        return real_fetch(closed + url.rsplit("/", 1)[-1], *args, **kwargs)

    monkeypatch.setattr(common.weight_files, "fetch", to_closed_port)


def _files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


@pytest.mark.parametrize("flags, missing", [
    (["--preset", "fast"], {W32: "pose", MOBILENET: "detector"}),
    (["--preset", "accurate"], {W48: "pose", RCNN_V2: "detector"}),
    ([], {W48: "pose", RCNN_V2: "detector"}),
    (["--preset", "fast", "--flow", "raft_small"], {W32: "pose", MOBILENET: "detector", RAFT_SMALL: "flow"}),
    (["--pose-weights", "hrnet_w48_384x288.posetrack18", "--detector", "fasterrcnn_mobilenet_v3_large_fpn",
      "--flow", "raft_large"], {W48: "pose", MOBILENET: "detector", RAFT_LARGE: "flow"}),
    ([*TINY, "REFERENCE/hrnet/tiny_state_dict.pt", "--preset", "fast"], {MOBILENET: "detector"}),
    (["--preset", "fast", "--detections", "examples/clip_detections.json", "--flow", "raft_small"],
     {W32: "pose", RAFT_SMALL: "flow"}),
], ids=["fast", "accurate", "default", "fast-raft", "overrides", "own-pose-file", "detections-raft"])
def test_a_run_names_every_missing_file_in_one_message(flags, missing, caches, offline, reference_dir, capsys,
                                                       monkeypatch, tmp_path):
    def no_model(*args, **kwargs):
        raise AssertionError("a model was built before the weights were checked")

    monkeypatch.setattr("pose.estimator.PoseEstimator.from_config", no_model)
    monkeypatch.chdir(ROOT)
    flags = [flag.replace("REFERENCE", str(reference_dir)) for flag in flags]
    status = tracker.run.main([str(reference_dir / CLIP), *flags, "-o", str(tmp_path / "out"), "--quiet"])
    error = capsys.readouterr().err
    assert status == 1 and error.count("error:") == 1 and "Traceback" not in error
    assert f"{len(missing)} weights files are missing" in error if len(missing) > 1 else "is missing" in error
    pose_folder, torch_folder = caches
    for file_name, kind in missing.items():
        line = next(line for line in error.splitlines() if file_name in line)
        folder = pose_folder if kind == "pose" else torch_folder
        assert f"download https://download.{'openmmlab.com' if kind == 'pose' else 'pytorch.org'}/" in line
        assert f"/{file_name} into {folder}" in line
        assert {"pose": "--pose-weights PATH", "detector": "--detector NAME", "flow": "--flow dis"}[kind] in line
    named = {name for name in (W32, W48, MOBILENET, RCNN_V2, RAFT_SMALL, RAFT_LARGE) if name in error}
    assert named == set(missing)  # nothing more
    assert "could not be reached" in error
    assert _files(pose_folder.parent) == [] and _files(torch_folder) == [] and _files(tmp_path / "out") == []


def test_files_in_their_folders_are_used_without_the_network(caches, offline, monkeypatch):
    pose_folder, torch_folder = caches
    for folder, name in ((pose_folder, W32), (torch_folder, MOBILENET), (torch_folder, RAFT_SMALL)):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"weights")
    monkeypatch.setattr(common.weight_files, "fetch", lambda *args, **kwargs: pytest.fail("a download started"))
    config = load_track_config(preset="fast", overrides={"flow": {"name": "raft_small"}})
    assert [file.path for file in needed_files(config)] == [pose_folder / W32, torch_folder / MOBILENET,
                                                            torch_folder / RAFT_SMALL]
    assert common.weight_files.fetch_missing(needed_files(config)) == []


def _serve(httpd, base: str, stem: str, content: bytes) -> str:
    """Serve `content` as `<stem>-<its sha256 prefix>.pth`; returns the URL."""
    name = f"{stem}-{hashlib.sha256(content).hexdigest()[:8]}.pth"
    httpd.routes[f"/{name}"] = (200, content, None)
    return f"{base}/{name}"


@pytest.fixture
def fast_preset_served(server, monkeypatch):  # noqa: F811 - the fixture imported above
    """The fast preset's two files on the test's server: pose weights and detector weights (small, made here)."""
    httpd, base = server
    pose_url = _serve(httpd, base, "hrnet_w32_posetrack18_256x192", b"pose weights" * 5000)
    detector_url = _serve(httpd, base, "fasterrcnn_mobilenet_v3_large_fpn", b"detector weights" * 3000)
    entry = REGISTRY["hrnet_w32_256x192.posetrack18"]
    monkeypatch.setitem(REGISTRY, entry.name, dataclasses.replace(
        entry, url=pose_url, file_name=pose_url.rsplit("/", 1)[-1], hash_prefix=pose_url[-12:-4]))
    monkeypatch.setattr(tv_detection.FasterRCNN_MobileNet_V3_Large_FPN_Weights.DEFAULT.value, "url", detector_url)
    return httpd, pose_url, detector_url


def test_fetch_preset_downloads_every_file_checked_with_a_progress_bar(caches, fast_preset_served, capsys,
                                                                      monkeypatch):
    httpd, pose_url, detector_url = fast_preset_served
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a terminal: the bar shows
    assert tracker.weights.main(["fetch", "--preset", "fast"]) == 0
    captured = capsys.readouterr()
    pose_folder, torch_folder = caches
    pose_file, detector_file = pose_folder / pose_url.rsplit("/", 1)[-1], torch_folder / detector_url.rsplit("/", 1)[-1]
    assert captured.out.split() == [str(pose_file), str(detector_file)]
    assert pose_file.read_bytes() == httpd.routes["/" + pose_file.name][1]
    assert detector_file.read_bytes() == httpd.routes["/" + detector_file.name][1]
    assert pose_file.name in captured.err and detector_file.name in captured.err and "100%" in captured.err
    assert _files(pose_folder) == [pose_file.name] and _files(torch_folder) == [detector_file.name]


def test_fetch_refuses_a_file_that_does_not_match_its_hash(caches, fast_preset_served, capsys):
    httpd, pose_url, detector_url = fast_preset_served
    name = "/" + detector_url.rsplit("/", 1)[-1]
    httpd.routes[name] = (200, b"something else", None)
    assert tracker.weights.main(["fetch", "--preset", "fast"]) == 1
    error = capsys.readouterr().err
    assert error.count("error: ") == 1 and name[1:] in error and "was expected" in error
    pose_folder, torch_folder = caches
    assert _files(torch_folder) == [] and _files(pose_folder) == [pose_url.rsplit("/", 1)[-1]]


def test_list_shows_every_file_of_every_preset(caches, capsys):
    pose_folder, torch_folder = caches
    torch_folder.mkdir(parents=True)
    (torch_folder / MOBILENET).write_bytes(b"weights")
    assert tracker.weights.main(["list"]) == 0
    listing = capsys.readouterr().out
    blocks = _blocks(listing)
    for name, folder, users in ((W32, pose_folder, "--preset fast"), (MOBILENET, torch_folder, "--preset fast"),
                                (W48, pose_folder, "the default settings, --preset accurate"),
                                (RCNN_V2, torch_folder, "the default settings, --preset accurate")):
        block = blocks[name]
        assert f"used by {users}" in block and f"folder  {folder}" in block
        assert "url     https://download." in block and f"/{name}" in block
        assert "MiB" in block and "only this prefix is published" in block
    assert "cached  yes" in blocks[MOBILENET] and "cached  no" in blocks[W32]
    assert "in no preset: --flow raft_small chooses it" in blocks[RAFT_SMALL]
    assert "74.2 MiB (torchvision's figure)" in blocks[MOBILENET]
    assert "the file is loaded unchecked" in blocks["hrnet_w32-36af842e.pth"]
    assert listing.strip().splitlines()[-1].startswith(f"{len(blocks)} files, 1 cached; folders: ")


def _blocks(listing: str) -> dict[str, str]:
    """The listing's blocks by file name (a block starts with an unindented line)."""
    blocks: dict[str, str] = {}
    for line in listing.strip().splitlines()[:-1]:
        if not line.startswith(" "):
            current = line
            blocks[current] = ""
        blocks[current] += line + "\n"
    return blocks


def test_list_of_one_preset_shows_its_files_only(caches, capsys):
    assert tracker.weights.main(["list", "--preset", "fast"]) == 0
    assert set(_blocks(capsys.readouterr().out)) == {W32, MOBILENET}


@pytest.mark.parametrize("load, hint", [(5.2, 1), (0.9, 1), (0.3, None)])
def test_a_busy_machine_gets_one_line_suggesting_fewer_threads(load, hint, monkeypatch, caplog):
    monkeypatch.setattr("os.getloadavg", lambda: (load, load, load))
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    monkeypatch.setattr("torch.set_num_threads", lambda count: None)  # the test's own threads stay as they are
    monkeypatch.setattr("cv2.setNumThreads", lambda count: None)
    with caplog.at_level(logging.INFO):
        configure_threads(0, "cpu")
        configure_threads(2, "cpu")  # the user chose: no advice
    lines = [record.getMessage() for record in caplog.records if "threads" in record.getMessage()]
    if hint is None:
        assert lines == []
    else:
        assert len(lines) == 1 and f"load {load:.1f} on 2 cores" in lines[0] and f"--threads {hint} " in lines[0]


def test_the_hint_shares_the_free_cores_among_the_ranks(monkeypatch):
    monkeypatch.setattr("os.getloadavg", lambda: (2.0, 2.0, 2.0))
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert busy_machine_hint(16) is not None and "--threads 14 " in busy_machine_hint(16)
    assert "--threads 7 " in busy_machine_hint(8, ranks=2)
    assert busy_machine_hint(7, ranks=2) is None


def test_a_file_without_download_and_unreachable_ones_each_say_why(caches, offline, capsys, reference_dir, tmp_path,
                                                                    monkeypatch):
    monkeypatch.chdir(ROOT)
    status = tracker.run.main([str(reference_dir / CLIP), "--preset", "fast", "--pose-weights",
                               "hrnet_w32_256x192.coco_official", "-o", str(tmp_path / "out"), "--quiet"])
    lines = capsys.readouterr().err.strip().splitlines()[-3:]
    assert status == 1 and lines[0].startswith("error: 2 weights files are missing and could not be fetched;")
    assert "pose_hrnet_w32_256x192.pth" in lines[1] and "there is no direct download" in lines[1]
    assert "get it from the official HRNet model zoo" in lines[1] and "drive.google.com" in lines[1]
    assert MOBILENET in lines[2] and "the server could not be reached" in lines[2]


def test_a_server_that_cannot_be_reached_is_tried_once(caches, offline, monkeypatch):
    tried = []
    closed_port_fetch = common.weight_files.fetch
    monkeypatch.setattr(common.weight_files, "fetch", lambda url, *args, **kwargs: (
        tried.append(url), closed_port_fetch(url, *args, **kwargs))[1])
    config = load_track_config(preset="fast", overrides={"flow": {"name": "raft_small"}})
    failed = common.weight_files.fetch_missing(needed_files(config))
    assert [item.file.file_name for item in failed] == [W32, MOBILENET, RAFT_SMALL]
    assert [url.rsplit("/", 1)[-1] for url in tried] == [W32, MOBILENET]  # RAFT is on the detector's server
    assert failed[1].reason == failed[2].reason

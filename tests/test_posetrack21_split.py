"""`python -m tracker.run --posetrack ANN_DIR --format posetrack21`: the three real reference sequences, from
their images to a folder the PoseTrack21 checks pass and `eval posetrack21` scores (tiny reference HRNet)."""
from __future__ import annotations

import json
from pathlib import Path

from eval.__main__ import main as eval_main
from tracker.run import main

ROOT = Path(__file__).resolve().parents[1]


def test_the_real_sequences_become_a_posetrack21_folder_the_kit_would_score(reference_dir, tmp_path, capsys):
    data = reference_dir / "posetrack" / "data"
    annotations = data / "annotations" / "val"
    out = tmp_path / "pt21"
    assert main(["--posetrack", str(annotations), "--images", str(data), "--format", "posetrack21",
                 "--detections", str(data / "annotations" / "test_posetrack18_human_detections.json"),
                 "-o", str(out), "--pose-config", str(ROOT / "examples" / "hrnet_tiny_reference.yaml"),
                 "--pose-weights", str(reference_dir / "hrnet" / "tiny_state_dict.pt"), "--runtime", "torch"]) == 0
    assert sorted(path.name for path in out.iterdir()) == sorted(path.name for path in annotations.iterdir())
    for written in out.iterdir():
        gt = json.loads((annotations / written.name).read_text())
        ours = json.loads(written.read_text())
        assert [image["id"] for image in ours["images"]] == [image["id"] for image in gt["images"]]
        ids = {image["id"] for image in ours["images"]}
        assert ours["annotations"]
        for annotation in ours["annotations"]:  # what the kit reads, as it needs it (README section 6)
            assert annotation["image_id"] in ids
            assert isinstance(annotation["track_id"], int) and annotation["track_id"] >= 0
            assert len(annotation["keypoints"]) == 51 and len(annotation["scores"]) == 17
            assert len(annotation["bbox"]) == 4 and isinstance(annotation["score"], float)
        for image_id in ids:
            tracks = [a["track_id"] for a in ours["annotations"] if a["image_id"] == image_id]
            assert len(tracks) == len(set(tracks))
    capsys.readouterr()
    assert eval_main(["check-submission", "--pred", str(out), "--gt", str(annotations), "--format", "posetrack21"]) == 0
    assert "3 file(s) checked: ready to upload." in capsys.readouterr().out
    assert eval_main(["posetrack21", "--gt", str(annotations), "--pred", str(out), "--json",
                      str(tmp_path / "hota.json")]) == 0
    assert "3 sequence(s), 3 labelled frame(s) evaluated" in capsys.readouterr().out
    scores = json.loads((tmp_path / "hota.json").read_text())
    assert scores["count"]["COMBINED"]["Dets"] > 0 and scores["count"]["COMBINED"]["GT_Dets"] == 14
    assert 0 <= scores["HOTA"]["total"] <= 100

"""``python -m training.test``: a checkpoint, a model config and person boxes give the results files
that ``python -m eval coco`` / ``eval mpii`` read, with the scores those commands print."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from eval.__main__ import main as eval_main
from training.test import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def coco(reference_dir):
    folder = reference_dir / "coco"
    return {"annotations": folder / "test_coco.json", "images": folder,
            "detections": folder / "test_coco_det_AP_H_56.json",
            "weights": reference_dir / "hrnet" / "tiny_state_dict.pt"}


def _coco_args(coco, out: Path, *extra: str) -> list[str]:
    return ["coco", "--pose-config", str(EXAMPLES / "hrnet_tiny_reference.yaml"),
            "--pose-weights", str(coco["weights"]),
            "--annotations", str(coco["annotations"]), "--images", str(coco["images"]), "--device", "cpu",
            "-o", str(out), *extra]


def test_coco_results_from_detections_are_what_eval_coco_reads(coco, tmp_path, capsys):
    results, stats = tmp_path / "results.json", tmp_path / "stats.json"
    assert main(_coco_args(coco, results, "--detections", str(coco["detections"]), "--box-thr", "0.5",
                           "--json", str(stats))) == 0
    printed = capsys.readouterr().out.splitlines()
    entries = json.loads(results.read_text())
    gt = json.loads(coco["annotations"].read_text())
    boxes = [box for box in json.loads(coco["detections"].read_text()) if box["score"] >= 0.5]
    assert printed[-1] == f"{len(entries)} results of {len(boxes)} boxes written to {results}, scores to {stats}."
    assert 0 < len(entries) <= len(boxes) == 18
    assert {entry["image_id"] for entry in entries} <= {image["id"] for image in gt["images"]}
    assert all(entry["category_id"] == 1 and len(entry["keypoints"]) == 51 for entry in entries)
    assert eval_main(["coco", "--gt", str(coco["annotations"]), "--pred", str(results),
                      "--json", str(tmp_path / "again.json")]) == 0
    assert capsys.readouterr().out.splitlines() == printed[:2]
    assert json.loads((tmp_path / "again.json").read_text()) == json.loads(stats.read_text())


def test_flip_test_is_on_by_default_and_ground_truth_boxes_without_detections(coco, tmp_path, capsys):
    data = json.loads(coco["annotations"].read_text())  # one image keeps the two runs short
    image = data["images"][0]
    persons = [a for a in data["annotations"] if a["image_id"] == image["id"] and a["num_keypoints"] > 0]
    one_image = tmp_path / "one_image.json"
    one_image.write_text(json.dumps(dict(data, images=[image], annotations=persons)))
    coco = dict(coco, annotations=one_image)
    flipped, plain = tmp_path / "flip.json", tmp_path / "plain.json"
    assert main(_coco_args(coco, flipped)) == 0
    assert main(_coco_args(coco, plain, "--no-flip")) == 0
    first, second = json.loads(flipped.read_text()), json.loads(plain.read_text())
    assert 0 < len(first) == len(second) <= len(persons) and first != second
    assert {entry["image_id"] for entry in first} == {image["id"]}
    assert f"results of {len(persons)} boxes written to" in capsys.readouterr().out


def test_mpii_predictions_are_what_eval_mpii_reads(reference_dir, tmp_path, capsys):
    """A 16-joint tiny model (random weights) on the MPII sample, scored against head boxes."""
    from pose.hrnet import build_model

    settings = yaml.safe_load((EXAMPLES / "hrnet_tiny_reference.yaml").read_text())
    settings["MODEL"].update(NUM_JOINTS=16, IMAGE_SIZE=[64, 64], HEATMAP_SIZE=[16, 16])
    config = tmp_path / "tiny_mpii.yaml"
    config.write_text(yaml.safe_dump(settings))
    torch.manual_seed(0)
    weights = tmp_path / "tiny_mpii.pt"
    torch.save(build_model(str(config)).state_dict(), weights)
    records = json.loads((reference_dir / "mpii" / "test_mpii.json").read_text())
    for record in records:
        joints = np.array(record["joints"])
        record["headbox"] = [*(joints[8:10].min(axis=0) - 5).tolist(), *(joints[8:10].max(axis=0) + 5).tolist()]
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(records))
    out, scores = tmp_path / "pred.json", tmp_path / "pckh.json"
    assert main(["mpii", "--pose-config", str(config), "--pose-weights", str(weights), "--annotations", str(gt),
                 "--images", str(reference_dir / "mpii"), "--device", "cpu", "-o", str(out),
                 "--json", str(scores)]) == 0
    printed = capsys.readouterr().out.splitlines()
    predictions = json.loads(out.read_text())
    assert [p["image"] for p in predictions] == [r["image"] for r in records]
    assert all(np.shape(p["joints"]) == (16, 2) for p in predictions)
    assert eval_main(["mpii", "--gt", str(gt), "--pred", str(out), "--json", str(tmp_path / "again.json")]) == 0
    assert capsys.readouterr().out.splitlines() == printed[:-1]
    assert json.loads((tmp_path / "again.json").read_text()) == json.loads(scores.read_text())
    assert main(["mpii", "--pose-config", str(EXAMPLES / "hrnet_tiny_reference.yaml"), "--pose-weights",
                 str(weights), "--annotations", str(gt), "--images", str(reference_dir / "mpii"), "-o", str(out)]) == 1
    assert "predicts coco joints; mpii needs a mpii model." in capsys.readouterr().err

"""Issue 19 item 7 and issue 23 item 13: one name per concept across the commands (old spellings still
work for one release, marked in --help, with one deprecation line), every --help shows its defaults,
usage errors exit 2 with the usage (argparse's convention), a missing input says so, and a plain re-run
says which earlier outputs it replaced."""
from __future__ import annotations

import argparse
import logging

import cv2
import numpy as np
import pytest
from stub_tracking import StubEstimator  # tests/stub_tracking.py

import flow
from common.cli import run_cli
from detection.protocol import ImageBoxSource
from tracker import runner
from tracker.runner import Models


def _parsers() -> dict[str, argparse.ArgumentParser]:
    from tracker.analyze import build_parser as analyze
    from tracker.associate import build_parser as associate
    from tracker.run import build_parser as run
    from training.test import build_parser as test
    from training.train import build_parser as train

    parsers = {"tracker.run": run(), "tracker.analyze": analyze(), "tracker.associate": associate(),
               "training.train": train()}
    subcommands = next(action for action in test()._actions if isinstance(action, argparse._SubParsersAction))
    parsers.update({f"training.test {name}": parser for name, parser in subcommands.choices.items()})
    return parsers


# Options whose value names a thing and that have a default a user should know (the numbers and choices too).
NAMED_DEFAULTS = {"--flow", "--detector", "--pose-config", "--pose-weights", "--device", "--output"}


@pytest.mark.parametrize("command, parser", list(_parsers().items()))
def test_every_option_with_a_default_shows_it_in_help(command, parser):
    missing = []
    for action in parser._actions:
        if not action.option_strings or action.nargs == 0 or action.required or action.help == argparse.SUPPRESS:
            continue
        shown = action.type in (int, float) or action.choices or NAMED_DEFAULTS & set(action.option_strings)
        if shown and "default" not in (action.help or ""):
            missing.append(action.option_strings[0])
    assert missing == [], f"{command}: --help shows no default for {', '.join(missing)}"


def test_tracker_run_help_shows_the_presets_values(capsys):
    from tracker.run import main

    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "run the detector on every N-th frame (default: 1 in accurate, 5 in fast)" in text
    assert "crops per pose forward pass (default: 32)" in text
    assert "(default: 30)" in text and "default: 0.5)" in text  # --max-age, --box-thr and --nms-thr
    assert "(default: dis)" in text and "fasterrcnn_mobilenet_v3_large_fpn in fast" in text


@pytest.mark.parametrize("module, argv, dest, value, old, new", [
    ("tracker.run", ["clip", "--batch", "8"], "batch_size", 8, "--batch", "--batch-size"),
    ("tracker.analyze", ["run.json", "--min-score", "0.2"], "kpt_thr", 0.2, "--min-score", "--kpt-thr"),
    ("training.test", ["coco", "--model-config", "m.yaml", "--pose-weights", "w.pt", "--annotations", "a.json",
                       "--images", "i", "-o", "r.json"], "pose_config", "m.yaml", "--model-config", "--pose-config"),
    ("training.test", ["mpii", "--pose-config", "m.yaml", "--weights", "w.pt", "--annotations", "a.json",
                       "--images", "i", "-o", "r.json"], "pose_weights", "w.pt", "--weights", "--pose-weights"),
])
def test_an_old_spelling_works_and_logs_one_deprecation_line(module, argv, dest, value, old, new, capsys):
    parser = __import__(module, fromlist=["build_parser"]).build_parser()
    args = parser.parse_args(argv)
    assert getattr(args, dest) == value
    assert run_cli(lambda parsed: 0, args) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "deprecated" in line]
    assert lines == [f"WARNING common.cli: {old} is deprecated and goes in the next release; use {new}."]


def test_the_new_spellings_log_nothing_and_the_old_ones_are_marked_in_help(capsys):
    from tracker.run import build_parser

    args = build_parser().parse_args(["clip", "--batch-size", "8"])
    assert args.batch_size == 8 and run_cli(lambda parsed: 0, args) == 0
    assert "deprecated" not in capsys.readouterr().err
    text = " ".join(build_parser().format_help().split())
    assert "--batch-size N, --batch N" in text and "--batch: the old spelling, deprecated" in text


@pytest.mark.parametrize("module, argv, words", [
    ("tracker.run", [], "an input is missing: give the videos to track, or --posetrack ANN_DIR"),
    ("tracker.analyze", [], "the following arguments are required: NAME.json"),
    ("tracker.associate", [], "the following arguments are required: POSES"),
    ("training.train", [], "the following arguments are required: --config"),
    ("training.test", ["coco"], "the following arguments are required: --pose-config/--model-config, "
                                "--pose-weights/--weights"),
    ("pose.export", [], "the following arguments are required: --format"),
    ("tracker.run", ["clip", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ("tracker.run", ["clip", "--overwrite", "--resume"], "--overwrite replaces earlier outputs and --resume"),
    ("tracker.analyze", ["run.json", "--filter", "median"], "argument --filter: invalid choice: 'median'"),
])
def test_usage_errors_exit_2_with_the_usage_and_say_what_is_missing(module, argv, words, capsys):
    with pytest.raises(SystemExit) as stop:
        __import__(module, fromlist=["main"]).main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m ") and words in err and "not both" not in err


def _frames(folder):
    folder.mkdir()
    for index in range(3):
        cv2.imwrite(str(folder / f"{index:06d}.png"), np.full((48, 64, 3), 40 * index, np.uint8))
    return folder


class _OneBox(ImageBoxSource):
    def boxes(self, frame, image):
        return np.array([[10, 8, 40, 44, 0.9]], np.float32)


def test_a_plain_rerun_says_it_replaced_earlier_outputs_and_takes_overwrite(tmp_path, monkeypatch, caplog):
    from tracker.run import main

    monkeypatch.setattr(runner, "build_models", lambda config, device: Models(StubEstimator(), _OneBox(),
                                                                              flow.create("none")))
    clip, out = _frames(tmp_path / "clip"), tmp_path / "out"
    caplog.set_level(logging.INFO)
    assert main([str(clip), "-o", str(out), "--no-video"]) == 0
    assert "replacing" not in caplog.text
    assert main([str(clip), "-o", str(out), "--no-video"]) == 0
    assert f"clip: replacing the earlier outputs clip.json, clip.csv in {out}" in caplog.text
    caplog.clear()
    assert main([str(clip), "-o", str(out), "--no-video", "--overwrite"]) == 0
    assert "clip: replacing the earlier outputs clip.json, clip.csv" in caplog.text
    assert (out / "clip.json").is_file() and not (out / "clip.mp4").exists()

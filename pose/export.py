"""`python -m pose.export --pose-config FILE --pose-weights PATH --format onnx|openvino -o FILE`: HRNet for deployment.

Writes the network (BatchNorm folded, float32, any batch size) as ONNX (FILE.onnx) or OpenVINO IR
(FILE.xml beside FILE.bin), and a JSON sidecar (FILE with suffix .json) with what a runtime needs
to feed it and read it: input size and layout, mean/std, joint names, flip pairs, heatmap size.
ONNX needs the `onnx` package (`pip install 'hrtrack[export]'`).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from common.cli import note_deprecated, run_cli
from pose.errors import PoseError

if TYPE_CHECKING:
    import torch

    from pose.config import ConfigSource, ModelConfig

FORMATS = {"onnx": ".onnx", "openvino": ".xml"}
INPUT_NAME, OUTPUT_NAME = "input", "heatmaps"


def sidecar(config: ModelConfig) -> dict:
    """The sidecar's content for a `ModelConfig`: sizes are [width, height], tensors NCHW."""
    from pose.skeleton import KEYPOINT_SETS

    keypoints = KEYPOINT_SETS[config.keypoint_set]
    return {
        "input": {"name": INPUT_NAME, "layout": "NCHW", "size": list(config.image_size),
                  "channels": "RGB", "normalisation": "(pixel / 255 - mean) / std",
                  "mean": list(config.mean), "std": list(config.std)},
        "output": {"name": OUTPUT_NAME, "layout": "NCHW", "heatmap_size": list(config.heatmap_size)},
        "keypoint_set": keypoints.name, "joints": list(keypoints.joints),
        "flip_pairs": [list(pair) for pair in keypoints.flip_pairs],
    }


def export(config_source: ConfigSource, weights: str | os.PathLike, output: str | os.PathLike,
           fmt: str) -> list[Path]:
    """Write the network and its sidecar; the written paths, network first."""
    import torch

    from common.jsonio import write_json
    from pose.estimator import load_network
    from pose.hrnet import fold_batchnorm

    output = Path(output)
    if fmt not in FORMATS:
        raise PoseError(f"unknown export format {fmt!r}; choose onnx or openvino.")
    if output.suffix != FORMATS[fmt]:
        raise PoseError(f"the {fmt} file must end in {FORMATS[fmt]}, not {output.name!r}.")
    if not output.parent.is_dir():
        raise PoseError(f"the folder of {output} does not exist; create it first.")
    model, config = load_network(config_source, weights)
    model = fold_batchnorm(model)
    width, height = config.image_size
    example = torch.zeros(2, 3, height, width)
    try:
        written = (_write_onnx if fmt == "onnx" else _write_openvino)(model, example, output)
    except OSError as error:  # a read-only folder, a full disk
        raise PoseError(f"cannot write {output}: {error.strerror or error}.") from None
    write_json(output.with_suffix(".json"), sidecar(config), error=PoseError)
    return [*written, output.with_suffix(".json")]


def _write_onnx(model: torch.nn.Module, example: torch.Tensor, output: Path) -> list[Path]:
    import torch

    from common.files import atomic_path

    try:
        import onnx  # noqa: F401  (torch's exporter needs it)
    except ImportError:
        raise PoseError("ONNX export needs the onnx package; pip install 'hrtrack[export]' (or onnx), "
                        "or use --format openvino.") from None
    with atomic_path(output) as tmp, torch.no_grad():
        torch.onnx.export(model.eval(), (example,), str(tmp), dynamo=False, input_names=[INPUT_NAME],
                          output_names=[OUTPUT_NAME], dynamic_axes={INPUT_NAME: {0: "batch"},
                                                                    OUTPUT_NAME: {0: "batch"}})
    return [output]


def _write_openvino(model: torch.nn.Module, example: torch.Tensor, output: Path) -> list[Path]:
    import openvino

    from pose.runtime.openvino_model import converted

    network = converted(model, example)
    network.inputs[0].get_tensor().set_names({INPUT_NAME})
    network.outputs[0].get_tensor().set_names({OUTPUT_NAME})
    weights = output.with_suffix(".bin")
    with tempfile.TemporaryDirectory(prefix=f".{output.name}.", dir=output.parent) as staging:
        try:
            openvino.save_model(network, str(Path(staging) / "model.xml"), compress_to_fp16=False)
        except RuntimeError as error:  # OpenVINO's stream failed: a full disk says only "iostream error"
            raise PoseError(f"cannot write {output}: OpenVINO failed to save it ({str(error).strip()}); check that "
                            f"the disk has room ({shutil.disk_usage(output.parent).free // 2**20} MB free).") from None
        os.replace(Path(staging) / "model.bin", weights)  # the weights first: an .xml is never without them
        os.replace(Path(staging) / "model.xml", output)
    return [output, weights]


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and export; prints the written paths."""
    parser = argparse.ArgumentParser(prog="python -m pose.export", description=__doc__.splitlines()[0])
    parser.add_argument("--pose-config", metavar="FILE",
                        help="model config: a YAML path or a shipped name (hrnet_w32_256x192.yaml); required")
    parser.add_argument("--pose-weights", metavar="PATH", help="weights: a checkpoint path or a registry name "
                                                                "(python -m pose.checkpoints list); required")
    parser.add_argument("positional", nargs="*", help=argparse.SUPPRESS)  # CONFIG WEIGHTS: the old spelling
    parser.add_argument("--format", required=True, choices=sorted(FORMATS), help="onnx or openvino (IR .xml + .bin)")
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="the network file: FILE.onnx or FILE.xml")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    if args.positional:
        if len(args.positional) != 2 or args.pose_config or args.pose_weights:
            parser.error("give the model as --pose-config FILE --pose-weights PATH")
        args.pose_config, args.pose_weights = args.positional
        note_deprecated(args, "CONFIG WEIGHTS given as positional arguments", "--pose-config and --pose-weights")
    missing = [flag for flag in ("--pose-config", "--pose-weights") if not getattr(args, flag[2:].replace("-", "_"))]
    if missing:
        parser.error(f"the following arguments are required: {', '.join(missing)}")
    return run_cli(_run, args)


def _run(args: argparse.Namespace) -> int:
    for path in export(args.pose_config, args.pose_weights, args.output, args.format):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

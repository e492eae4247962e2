"""Train the HRNet pose network on COCO, MPII or PoseTrack: `python -m training.train --config FILE`.

Alone or under `torchrun --nproc_per_node N -m training.train ...` (DistributedDataParallel). Writes
into the config's `output_dir`: `checkpoint.pt` every epoch (for `--resume`), `best.pt` (the
model of the best validation score) and `train.log`. Flags override keys of the YAML file;
`--set section.key=value` overrides any key.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from common.cli import run_cli
from training.errors import TrainingError

log = logging.getLogger("training.train")  # not __name__: as `python -m` it is "__main__"

# Flags that are shorthands for a config key.
_SHORTHANDS = {
    "output_dir": "output_dir", "device": "device", "workers": "workers", "epochs": "optim.epochs",
    "batch_size": "optim.batch_size", "lr": "optim.lr", "pretrained": "pretrained", "seed": "seed",
}


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m training.train`."""
    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="training YAML (configs/train_*.yaml)")
    parser.add_argument("--resume", metavar="CHECKPOINT", help="continue from a checkpoint.pt of an earlier run")
    parser.add_argument("--output-dir", help="folder for checkpoints and the log (default: the config's output_dir)")
    parser.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: the config's device)")
    parser.add_argument("--workers", type=int,
                        help="data loader processes per rank, 0-256 (default: the config's workers)")
    parser.add_argument("--epochs", type=int, help="total epochs, 1 or more (default: the config's optim.epochs)")
    parser.add_argument("--batch-size", type=int,
                        help="batch size per process (default: the config's optim.batch_size)")
    parser.add_argument("--lr", type=float, help="learning rate, above 0 (default: the config's optim.lr)")
    parser.add_argument("--pretrained",
                        help="ImageNet HRNet checkpoint or registry name (default: the config's pretrained)")
    parser.add_argument("--seed", type=int, help="seed of init, order and augmentation (default: the config's seed)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override any config key, e.g. --set augment.flip=false (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def overrides_from_args(args: argparse.Namespace) -> list[str]:
    """`--set` values plus the shorthand flags that were given, as key=value strings."""
    given = [f"{key}={getattr(args, flag)}" for flag, key in _SHORTHANDS.items()
             if getattr(args, flag) is not None]
    return given + list(args.set)


def _log_to_file(output_dir: Path) -> None:
    if output_dir.exists() and not output_dir.is_dir():
        raise TrainingError(f"the output folder {output_dir} (--output-dir) is a file; give a folder.")
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TrainingError(f"cannot create the output folder {output_dir}: {error.strerror}.") from None
    handler = logging.FileHandler(output_dir / "train.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logging.getLogger().addHandler(handler)


def run(args: argparse.Namespace) -> dict:
    """Train as `args` say; returns a summary (epochs run, best score, checkpoint folder)."""
    from training import distributed
    from training.config import load_train_config
    from training.trainer import Trainer

    config = load_train_config(args.config, overrides_from_args(args))
    process = distributed.start(config.device)
    try:
        if process.is_main:
            _log_to_file(Path(config.output_dir))
        log.info("training %s on %s, %d process(es) on %s", config.model.name, config.data.dataset,
                 process.world_size, process.device)
        trainer = Trainer(config, process, quiet=args.quiet)
        if args.resume:
            trainer.resume(args.resume)
        history = trainer.fit()
        return {"epochs": len(history), "best_score": trainer.best_score, "output_dir": config.output_dir}
    finally:
        distributed.stop()


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: prints the summary; on error one sentence on stderr and exit code 1."""
    return run_cli(_train_and_report, build_parser().parse_args(argv))


def _train_and_report(args: argparse.Namespace) -> int:
    summary = run(args)
    print(f"trained {summary['epochs']} epochs; best validation score {summary['best_score']}; "
          f"checkpoints in {summary['output_dir']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the tracker's command lines share: logging set-up and turning errors into one sentence."""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable

from detection.errors import DetectionError
from eval.errors import EvalError
from flow.errors import FlowError
from pose.errors import PoseError
from tracker.errors import TrackerError

# Every package's error type: each carries one sentence a user can act on.
USER_ERRORS = (TrackerError, PoseError, DetectionError, FlowError, EvalError)


def run_cli(run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Call `run(args)`; on a user error print one sentence to stderr and return 1 (130 on Ctrl-C).

    With `args.debug` the exception propagates with its traceback instead.
    """
    quiet = getattr(args, "quiet", False)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING if quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return run(args)
    except USER_ERRORS as error:
        if args.debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as interruption:
        if args.debug:
            raise
        print(f"interrupted; outputs hold the frames done. {interruption}".rstrip(), file=sys.stderr)
        return 130

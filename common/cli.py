"""The one runner of every `python -m` command: logging set-up, one-sentence errors, Ctrl-C and closed pipes.

A command's `run(args)` returns its exit status. What the user sees on failure is decided here once:
a `UserError` prints `error: <sentence>` and exits 1; Ctrl-C prints `interrupted` with what the command
says it kept and exits 130, SIGTERM the same as `terminated` with 143 (`common.signals`); a reader that closed the
pipe (`| head`) ends the command quietly; a full disk on standard output is one sentence. `--debug`
shows the traceback instead and turns on debug logging. An option renamed for one name per concept keeps
its old spelling for one release (`add_renamed`): marked in --help, and one log line when used.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable

from common.errors import UserError
from common.signals import INTERRUPTED_STATUS, TERMINATED_STATUS, Terminated, stop_on_signals

SIGPIPE_STATUS = 141  # 128 + SIGPIPE: what a Unix tool whose reader went away exits with
_DEPRECATED = "deprecated_spellings"  # the namespace attribute listing (old, new) spellings the user gave
log = logging.getLogger(__name__)


class _Renamed(argparse.Action):
    """Stores the value as a plain option does; given by an old spelling, notes it for one log line."""

    def __init__(self, option_strings: list[str], dest: str, old: tuple[str, ...] = (), **kwargs) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.old = old

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        setattr(namespace, self.dest, values)
        if option_string in self.old:
            note_deprecated(namespace, option_string, self.option_strings[0])


def add_renamed(container: argparse.ArgumentParser | argparse._ArgumentGroup, name: str, *old: str,
                help: str, **kwargs) -> argparse.Action:
    """Add option `name` that also answers to its `old` spellings for one release, marked so in --help."""
    spellings = ", ".join(old)
    return container.add_argument(name, *old, action=_Renamed, old=old,
                                  help=f"{help}; {spellings}: the old spelling, deprecated", **kwargs)


def note_deprecated(namespace: argparse.Namespace, old: str, new: str) -> None:
    """Remember that the user spelled `new` the old way; `run_cli` logs it once logging is set up."""
    spellings = getattr(namespace, _DEPRECATED, None) or []
    setattr(namespace, _DEPRECATED, [*spellings, (old, new)])


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record comes (a test's capture, a redirected stream)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # logging.StreamHandler.__init__ assigns it; the property wins
        pass


def configure_logging(*, debug: bool = False, quiet: bool = False) -> None:
    """Log records as `LEVEL name: message` on stderr; debug with --debug, warnings only with --quiet.

    Safe to call once per command run in one process: the handler is added once, the level set each time.
    """
    root = logging.getLogger()
    if not any(isinstance(handler, _StderrHandler) for handler in root.handlers):
        root.addHandler(_StderrHandler())
    root.setLevel(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush cannot fail a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (a test's capture)
        pass
    finally:
        os.close(devnull)


def run_cli(run: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    """Call `run(args)` and turn what it raises into an exit status and at most one line on stderr."""
    debug = bool(getattr(args, "debug", False))
    configure_logging(debug=debug, quiet=bool(getattr(args, "quiet", False)))
    for old, new in dict(getattr(args, _DEPRECATED, None) or []).items():
        log.warning("%s is deprecated and goes in the next release; use %s.", old, new)
    try:
        with stop_on_signals():
            status = int(run(args) or 0)
            sys.stdout.flush()
        return status
    except BrokenPipeError:
        _silence_stdout()
        return SIGPIPE_STATUS
    except UserError as error:
        if debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as interruption:
        if debug:
            raise
        terminated = isinstance(interruption, Terminated)
        what = "terminated" if terminated else "interrupted"
        detail = "" if str(interruption) == "terminated" else str(interruption)
        print(f"{what}. {detail}".rstrip(" ."), file=sys.stderr)
        return TERMINATED_STATUS if terminated else INTERRUPTED_STATUS
    except OSError as error:
        if debug or error.filename is not None or not _is_stdout_failure():
            raise
        _silence_stdout()
        print(f"error: cannot write the output: {error.strerror}.", file=sys.stderr)
        return 1


def _is_stdout_failure() -> bool:
    """True when standard output can no longer be written (a full disk, a closed descriptor)."""
    try:
        sys.stdout.flush()
    except OSError:
        return True
    return False

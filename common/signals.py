"""Ctrl-C and SIGTERM, handled once: the first stops the work where it is, later ones cannot break the finish.

While `stop_on_signals` is active, the first SIGINT raises KeyboardInterrupt in the main thread and
the first SIGTERM raises `Terminated` (a KeyboardInterrupt, so every "finish what was done" path
treats both alike). Every later signal is only counted: the outputs of the frames done are being
finished then, and a second Ctrl-C 30 ms after the first must not leave half of them. Inside
`deferred_signals` even the first one waits until the block has ended.
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)
INTERRUPTED_STATUS = 130  # 128 + SIGINT
TERMINATED_STATUS = 143  # 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interruption like Ctrl-C."""


class _State:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.active = False
        self.raised = False
        self.deferring = 0
        self.pending: list[int] = []
        self.received: list[int] = []


_state = _State()


def _interruption(signum: int) -> KeyboardInterrupt:
    return Terminated("terminated") if signum == signal.SIGTERM else KeyboardInterrupt()


def _handler(signum: int, frame) -> None:
    _state.received.append(signum)
    if _state.raised:
        return
    if _state.deferring:
        _state.pending.append(signum)
        return
    _state.raised = True
    raise _interruption(signum)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[_State]:
    """Within the block, the first SIGINT/SIGTERM interrupts and later ones are counted (main thread only)."""
    if threading.current_thread() is not threading.main_thread() or _state.active:
        yield _state
        return
    previous = {number: signal.signal(number, _handler) for number in SIGNALS}
    _state.reset()
    _state.active = True
    try:
        yield _state
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _state.active = False


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """A block no signal interrupts (finishing outputs); one that came meanwhile is raised after it."""
    _state.deferring += 1
    try:
        yield
    finally:
        _state.deferring -= 1
    if _state.pending and not _state.deferring and not _state.raised:
        _state.raised = True
        raise _interruption(_state.pending[0])


def signals_received() -> int:
    """How many SIGINT/SIGTERM arrived during the current `stop_on_signals` block."""
    return len(_state.received)


def exit_quietly_on_signals() -> None:
    """Until `stop_on_signals` takes over, and after it, SIGINT or SIGTERM end the process at once with
    status 130 or 143 and no traceback. For a command's start-up (imports: nothing is written yet) and
    its last moments (everything is written), so a signal then is neither a traceback nor a lost file."""
    signal.signal(signal.SIGINT, lambda number, frame: os._exit(INTERRUPTED_STATUS))
    signal.signal(signal.SIGTERM, lambda number, frame: os._exit(TERMINATED_STATUS))


def hold_signals_until_exit() -> None:
    """Ignore SIGINT and SIGTERM for the rest of the process: its work is done and reported. A Python
    handler would not do: the interpreter's shutdown puts the default action back for those (and any
    thread may take a signal), so a late second Ctrl-C killed it; an ignored signal stays ignored."""
    for number in SIGNALS:
        signal.signal(number, signal.SIG_IGN)

"""SIGTERM and SIGINT: stop at once, but never in the middle of a Singer message.

The signal handler runs in the main thread, between two bytecodes of whatever it was doing. Raising there
ends a blocking wait (a poll, a download, a prefetched export) at once, which is what a stop must do; raised
inside a write to stdout, it would cut a message in two and hand the target a broken line. Writers therefore
run under :func:`uninterrupted`: a signal that arrives during a write is kept and raised when the write is
complete. Only the main thread writes to stdout, so a plain counter suffices.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class TerminationRequested(BaseException):  # a signal, like KeyboardInterrupt
    """SIGTERM or SIGINT arrived: unwinds the sync past every per-survey ``except Exception``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _WriteGuard:
    """How many writes are in progress (nested writes count), and a signal that arrived during one."""

    writing = 0
    pending: int | None = None


_guard = _WriteGuard()


def install_stop_handlers(stopping: threading.Event) -> None:
    """SIGTERM and SIGINT stop the run through :func:`on_signal` (handlers can only be set from the main
    thread; a tap built elsewhere, as in some tests, keeps the process's handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, _frame: on_signal(number, stopping))


def on_signal(signum: int, stopping: threading.Event) -> None:
    """Called by the signal handler: stop now, or as soon as the message being written is complete."""
    if stopping.is_set():
        return  # already stopping
    stopping.set()
    if _guard.writing:
        _guard.pending = signum
        return
    raise TerminationRequested(signum)


@contextmanager
def uninterrupted() -> Iterator[None]:
    """A write to stdout that a stop signal must not cut in two."""
    _guard.writing += 1
    try:
        yield
    finally:
        _guard.writing -= 1
        if not _guard.writing and _guard.pending is not None:
            signum, _guard.pending = _guard.pending, None
            raise TerminationRequested(signum)

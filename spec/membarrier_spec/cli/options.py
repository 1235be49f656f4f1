"""What every command shares: exit statuses, signal handling, argument types and common options."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading

from ..errors import Terminated

EXIT_OK = 0
EXIT_BAD_INPUT = 2      # bad input: a one-line message on stderr
EXIT_IO_ERROR = 74      # sysexits.h EX_IOERR: an input or output failed at the system level
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_TERMINATED = 143   # SIGTERM or SIGHUP


@contextlib.contextmanager
def signals_unwind():
    """While a command runs, SIGTERM and SIGHUP (the terminal closed) raise :class:`Terminated`, so they unwind
    like Ctrl-C through every cleanup on the way out (TLC stopped, temporary files removed); the old handlers
    come back afterwards.  Outside the main thread (an embedding program) its handlers are left alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated()

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def positive_int(text: str) -> int:
    """argparse type for a positive integer option."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_store_options(p: argparse.ArgumentParser, jobs_what: str) -> None:
    """``--jobs``, ``--quiet`` and ``--fresh``: the options of the commands that explore many presets."""
    p.add_argument("--jobs", type=positive_int, default=None, metavar="N",
                   help=f"{jobs_what} in N processes (default: one per CPU)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    add_fresh(p)


def add_fresh(p: argparse.ArgumentParser) -> None:
    """The ``--fresh`` option of the commands that read the result store (membarrier_spec.check.results)."""
    p.add_argument("--fresh", action="store_true",
                   help="explore every preset again instead of reusing the current results in build/results/")


class Parser(argparse.ArgumentParser):
    """argparse with its errors as one line and exit status 2, like every other bad input."""

    def error(self, message: str):  # argparse's own errors: one line, status 2
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")

"""The console script and ``python -m``: ``cli.main`` with a quiet start-up.

Why it exists: a Ctrl-C (or SIGTERM) that comes before ``cli.execute`` has
installed its handlers, while the run's modules are still being imported,
would otherwise end in a ``KeyboardInterrupt`` traceback (or, for SIGTERM,
a kill with no exit code of ours). This module imports nothing of the run
until its own handler is in place, so such a signal ends the process with
its documented code (130 or 143) and no traceback. From then on ``cli``
answers signals, and writes the summary.
"""

from __future__ import annotations

import signal
import sys

__all__ = ["main"]


class _Terminated(BaseException):
    """SIGTERM before the run's own handler: unwinds like a Ctrl-C would."""


def _terminated(_signum: int, _frame: object) -> None:
    raise _Terminated


def main() -> int:
    signal.signal(signal.SIGTERM, _terminated)
    try:
        from .cli import main as run  # noqa: PLC0415 - only once the handler is in place

        return run(sys.argv[1:])
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    except _Terminated:
        return 128 + signal.SIGTERM

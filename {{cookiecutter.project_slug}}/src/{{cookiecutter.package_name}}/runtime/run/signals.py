# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""SIGINT and SIGTERM become a stop request, so a run ends with true counts.

The first signal only sets the run's ``StopRequest``: the job stops between
units of work, the request in flight settles, and the summary still comes
last. The second calls ``force``, which ends the run at once, even with the
main thread stuck in a socket read: the handler only hands the signal over
(to the watchdog's thread), it never raises into whatever was running.

A SIGINT that is ignored when the run starts (a shell script's ``cmd &``
starts it so) stays ignored, as ``console`` leaves it: the run does not
take over a Ctrl-C that was meant for someone else. SIGTERM is always
answered.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

from ..outcome.errors import StopRequest

__all__ = ["stop_on_first_signal"]


def stop_on_first_signal(stop: StopRequest, force: Callable[[int], None]) -> Callable[[], None]:
    """Turn SIGINT/SIGTERM into a stop request, then ``force``; return an undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # only the main thread may set handlers
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    seen: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        seen.append(signum)
        if len(seen) == 1:
            stop.request(signum)
        else:
            force(signum)

    for sig, handler in previous.items():
        if sig == signal.SIGINT and handler == signal.SIG_IGN:
            continue
        signal.signal(sig, on_signal)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore

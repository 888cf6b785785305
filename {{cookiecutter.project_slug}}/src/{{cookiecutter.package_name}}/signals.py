"""SIGINT and SIGTERM become a stop request, so a run ends with true counts.

The first signal only sets the run's ``StopRequest``: the job stops between
units of work, the request in flight settles, and the summary still comes
last. A second signal stops at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

from .errors import StopRequest

__all__ = ["stop_on_first_signal"]


def stop_on_first_signal(stop: StopRequest) -> Callable[[], None]:
    """Turn SIGINT/SIGTERM into a stop request; return a function that undoes it."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # only the main thread may set handlers
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def request_stop(signum: int, _frame: object) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second signal stops at once
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        stop.request(signum)

    for sig in previous:
        signal.signal(sig, request_stop)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore

# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""Makes the run's stated time limits real, whatever the endpoint does.

Why it exists: botocore's read timeout applies to each socket read, so an
endpoint that answers one byte every few seconds keeps a call alive forever,
and a ``credential_process`` that never returns blocks the run the same way.
Nothing inside the stuck thread can end that, so a separate thread watches:

- every call in flight (botocore's ``before-call`` / ``after-call`` events on
  every session ``aws.Clients`` makes, and the credential lookup through
  ``watching``); when one outlives ``bound`` (``worst_case_call_s``), the
  run ends: timed out;
- the second SIGINT/SIGTERM (``force``): the run ends at once;
- the run's ``deadline``, if it has one (the Lambda handler's remaining
  time): first a graceful stop request, as a first signal would make, then,
  if the run is still going at the deadline, the end.

"The run ends" means ``end`` is called from the watchdog's thread with the
reason; the caller (``cli``) writes the summary and ends the process.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from ..outcome.errors import StopRequest

__all__ = ["DEADLINE_GRACE_SECONDS", "DEADLINE_GRACE_SHARE", "Ending", "Watchdog"]

# Between the graceful stop request and the deadline: this long, but at most
# this share of the time the run was given (a short run still gets work done).
DEADLINE_GRACE_SECONDS = 10.0
DEADLINE_GRACE_SHARE = 0.5
TICK_SECONDS = 0.2  # how often the clock is looked at
TELL_SECONDS = 1.0  # how long the watchdog waits for a warning line it logs
_CONTEXT_KEY = "watchdog_call"  # where a call keeps its entry in botocore's request context

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ending:
    """Why the watchdog ends the run."""

    reason: Literal["timed_out", "forced", "deadline"]
    signum: int = 0  # the signal that asked the run to stop (or forced it), if any
    call: str = ""  # for "timed_out": the call that outlived the bound
    seconds: float = 0.0  # for "timed_out": how long it had run


@dataclass(frozen=True)
class _Call:
    token: int


class Watchdog:
    def __init__(self, end: Callable[[Ending], None], stop: StopRequest) -> None:
        self._end = end
        self._stop = stop
        self._lock = threading.Lock()
        self._calls: dict[int, tuple[float, str]] = {}
        self._tokens = itertools.count(1)
        self._wake = threading.Event()
        self._closed = False
        self._forced_by = 0
        self._announced = False  # the first signal's stop request was logged
        self._stop_at: float | None = None
        self._deadline_at: float | None = None
        self.bound: float | None = None  # seconds any one call may take; None: no bound yet
        self._thread = threading.Thread(target=self._watch, name="watchdog", daemon=True)

    def start(self, deadline: float | None = None) -> None:
        """Start watching; ``deadline`` is seconds from now by which the run must end."""
        if deadline is not None:
            now = time.monotonic()
            grace = min(DEADLINE_GRACE_SECONDS, max(deadline, 0.0) * DEADLINE_GRACE_SHARE)
            self._stop_at = now + max(deadline, 0.0) - grace
            self._deadline_at = now + max(deadline, 0.0)
        self._thread.start()

    def close(self) -> None:
        """Stop watching: the run has ended on its own."""
        with self._lock:
            self._closed = True
        self._wake.set()

    def force(self, signum: int) -> None:
        """End the run at once (safe to call from a signal handler)."""
        self._forced_by = signum
        self._wake.set()

    def in_flight(self) -> list[str]:
        """The calls in flight now, oldest first."""
        with self._lock:
            return [name for _, name in sorted(self._calls.values())]

    @contextmanager
    def watching(self, name: str) -> Iterator[None]:
        """Count the work inside as a call in flight, bounded like the API calls."""
        token = self._begin(name)
        try:
            yield
        finally:
            self._finish(token)

    def register(self, session: Any) -> None:
        """Watch every call of the clients ``session`` (a botocore session) will make."""
        session.register("before-call", self._before_call, unique_id=f"{_CONTEXT_KEY}-before")
        session.register("after-call", self._after_call, unique_id=f"{_CONTEXT_KEY}-after")
        session.register("after-call-error", self._after_call, unique_id=f"{_CONTEXT_KEY}-error")

    def _before_call(self, *, model: Any, context: dict[str, Any], **_: Any) -> None:
        call = _Call(self._begin(getattr(model, "name", "call")))
        # A call that ends without an after-call event (an error raised between
        # the two) is forgotten when botocore drops its request context.
        weakref.finalize(call, self._finish, call.token)
        context[_CONTEXT_KEY] = call

    def _after_call(self, *, context: dict[str, Any], **_: Any) -> None:
        call = context.pop(_CONTEXT_KEY, None)
        if isinstance(call, _Call):
            self._finish(call.token)

    def _begin(self, name: str) -> int:
        token = next(self._tokens)
        with self._lock:
            self._calls[token] = (time.monotonic(), name)
        return token

    def _finish(self, token: int) -> None:
        with self._lock:
            self._calls.pop(token, None)

    def _watch(self) -> None:
        while True:
            self._wake.wait(TICK_SECONDS)
            self._wake.clear()
            ending = self._due(time.monotonic())
            if ending == "closed":
                return
            if ending is not None:
                self._end(ending)
                return

    def _due(self, now: float) -> Ending | Literal["closed"] | None:
        with self._lock:
            if self._closed:
                return "closed"
            oldest = min(self._calls.values(), default=None)
        if self._forced_by:
            return Ending("forced", signum=self._forced_by)
        if self._stop_at is not None and now >= self._stop_at and not self._stop.is_set():
            _tell("the run's deadline is near: stopping after the work in flight")
            self._stop.request_for_deadline()
        elif self._stop.is_set() and self._stop.signum and not self._announced:
            self._announced = True
            _tell(
                "stop requested by a signal: stopping after the work in flight; "
                "a second signal stops at once",
                signal=self._stop.signum,
            )
        signum = self._stop.signum
        if self._deadline_at is not None and now >= self._deadline_at:
            return Ending("deadline", signum=signum)
        if oldest is not None and self.bound is not None and now - oldest[0] > self.bound:
            seconds = round(now - oldest[0], 1)
            return Ending("timed_out", signum=signum, call=oldest[1], seconds=seconds)
        return None


def _tell(message: str, **fields: object) -> None:
    """Log a warning from a thread of its own, waiting for it at most
    ``TELL_SECONDS`` (a line is written at once when the log is writable,
    so it keeps its place before the summary).

    The watchdog must never wait on the log: when stdout is blocked (a pipe
    nobody reads, a stalled log driver), the main thread sits in a write
    holding the log handler's lock, and a watchdog that logged itself would
    wait there too and never act on a second signal, a call past its bound
    or the deadline.
    """
    teller = threading.Thread(
        target=log.warning, args=(message,), kwargs={"extra": fields}, name="tell", daemon=True
    )
    teller.start()
    teller.join(TELL_SECONDS)

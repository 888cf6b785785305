# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""Listing and waiting that a stop request can end: part of the job contract.

Why it exists: a first SIGINT or SIGTERM only sets the run's ``StopRequest``
(``signals``), and nothing acts on it until the job looks. A job that walks
a long listing, or waits on a resource, without looking would finish the
listing (tens of pages, many seconds) or sleep through the whole wait, and
could then even exit 0 with the signal lost. So every job lists through
``pages`` and waits through ``wait``: both look between pages and between
polls, and raise ``Interrupted`` (or ``OutOfTime``) there, never in the
middle of a call, so the call in flight settles and the counts stay true.
The runtime also looks once more when the job returns, so a stop always
ends the run in 130/143, whether or not anything was planned.

botocore is imported only inside ``wait``: a job imports this module before
its settings are valid.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from ..outcome.errors import StopRequest

__all__ = ["pages", "wait"]

T = TypeVar("T")


def pages(listing: Iterable[T], stop: StopRequest) -> Iterator[T]:
    """Yield ``listing``'s pages (a paginator's ``paginate(...)``), looking
    at ``stop`` before each page is asked for: a stop ends the listing there."""
    iterator = iter(listing)
    while True:
        stop.check()
        try:
            page = next(iterator)
        except StopIteration:
            return
        yield page


def wait(
    waiter: Any,
    stop: StopRequest,
    *,
    delay: float,
    max_attempts: int,
    **params: Any,
) -> None:
    """Poll ``waiter`` (a boto3 waiter) until it succeeds, at most
    ``max_attempts`` times, ``delay`` seconds apart, looking at ``stop``
    between polls.

    botocore's own ``wait`` sleeps between polls where no stop request can
    reach it; here each poll is one single-attempt wait, and the pause is
    ``stop.wait(delay)``, which a stop request ends at once. Each poll is a
    call like any other, so the watchdog bounds it. A failure state, an
    error, or the last attempt without success raises botocore's
    ``WaiterError`` as botocore would.
    """
    from botocore.exceptions import WaiterError  # noqa: PLC0415 - loaded by now

    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    for attempt in range(1, max_attempts + 1):
        stop.check()
        try:
            waiter.wait(**params, WaiterConfig={"Delay": 1, "MaxAttempts": 1})
        except WaiterError as error:
            reason = str(error.kwargs.get("reason", ""))
            if attempt == max_attempts or not reason.startswith("Max attempts exceeded"):
                raise
        else:
            return
        stop.wait(delay)  # the next attempt looks at the stop first

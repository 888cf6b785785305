# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""Ending this process at once, leaving no child process behind.

Used when waiting is no longer an option (a call that outlived its bound, a
second signal, the run's deadline): the main thread may be stuck in a socket
read or waiting for a ``credential_process`` that never answers, so the end
cannot be an exception. Children (that ``credential_process``, and anything
it started) are found through ``/proc`` and killed first: ``os._exit`` alone
would leave them running, holding the caller's pipes open. Where there is no
``/proc`` (not Linux), children are left alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import NoReturn

__all__ = ["descendants", "exit_now"]

_PROC = Path("/proc")


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, children before their own children."""
    parents: dict[int, list[int]] = {}
    for stat in _PROC.glob("[0-9]*/stat"):
        try:
            text = stat.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue  # gone since the listing
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        fields = text.rpartition(")")[2].split()
        if len(fields) > 1 and fields[1].isdigit():
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    queue = [pid]
    while queue:
        children = parents.get(queue.pop(0), [])
        found.extend(children)
        queue.extend(children)
    return found


def exit_now(code: int) -> NoReturn:
    """Kill every descendant, then end this process with ``code``, right now."""
    for child in descendants(os.getpid()):
        with contextlib.suppress(OSError):  # already gone, or not ours to kill
            os.kill(child, signal.SIGKILL)
    os._exit(code)

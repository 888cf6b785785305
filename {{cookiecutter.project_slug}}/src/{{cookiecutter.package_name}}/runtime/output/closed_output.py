# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""A closed stdout stops the run: no work goes on with its log going nowhere.

``script --apply | head -3`` closes the pipe after three lines. Without
this, every later line fails to write (Python prints a ``--- Logging error
---`` traceback for each), the run finishes its deletes unseen, and the
interpreter prints a ``BrokenPipeError`` traceback as it exits.

Instead, the first time stdout is found closed (a write fails, or, for a
pipe or socket, a watcher thread sees its reader go away before anything is
written) the run's stop callback is called, which makes the job stop at
its next unit of work; stdout is pointed at ``/dev/null`` so nothing later
fails to write, the exit included; and one line says so on stderr.

``discard_stdout`` serves a log that failed for another reason (a full
disk) the same way: what is still buffered goes to ``/dev/null``, so the
interpreter's last flush cannot fail (exit 120, with a traceback).

``write_whole`` is how every line and answer is written: all of its bytes
reach the output, or the write raises, at once. A text stream over an
unbuffered file (``PYTHONUNBUFFERED=1``, as the Dockerfile sets, or
``python -u``) hands each write to the file once and silently drops what a
short write left over (a file size limit or a full disk met mid-line): the
line would be cut short with no error, and the run would make one more
change before the next line failed.
"""

from __future__ import annotations

import errno
import os
import select
import stat
import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = [
    "MESSAGE",
    "discard_stdout",
    "end_watch",
    "is_closed_output_error",
    "is_process_stdout",
    "output_closed",
    "set_stop_callback",
    "watch_stdout",
    "write_whole",
]

MESSAGE = "error: standard output was closed; stopping the run (exit 141)"
_lock = threading.Lock()
_state: dict[str, Callable[[], None] | bool | None] = {"on_closed": None, "noticed": False}
_watching = threading.Event()


def is_closed_output_error(error: BaseException) -> bool:
    """Whether writing failed because the output is gone (not full, not invalid)."""
    if isinstance(error, BrokenPipeError | ConnectionResetError):
        return True
    if isinstance(error, OSError) and error.errno in (errno.EPIPE, errno.EBADF):
        return True
    return isinstance(error, ValueError) and "closed file" in str(error)


def is_process_stdout(stream: object) -> bool:
    """Whether ``stream`` writes to this process's fd 1 (``None``: Python
    found fd 1 closed at start), which ``discard_stdout`` may repoint; a
    buffer in memory, a test's capture, is left alone."""
    if stream is None:
        return True
    fileno = getattr(stream, "fileno", None)
    try:
        return fileno is not None and fileno() == 1
    except (OSError, ValueError):  # no file behind it, or closed
        return False


def set_stop_callback(on_closed: Callable[[], None] | None) -> None:
    """Call ``on_closed`` (once) when stdout is found closed during this run."""
    with _lock:
        _state["on_closed"] = on_closed
        _state["noticed"] = False


def end_watch() -> bool:
    """End this run's watch, and say whether stdout was found closed in it.

    The run's exit code must be the one the stderr line promised (141):
    the runtime asks once it has written its summary, and a reader that
    leaves after that (when every line is out) stops nothing and prints
    nothing, so no "exit 141" line can come with another exit code.
    """
    with _lock:
        noticed = bool(_state["noticed"])
        _state["noticed"] = True
        _state["on_closed"] = None
    return noticed


def output_closed(*, silence_stdout: bool = True) -> None:
    """Stop the run, silence stdout, and say so once on stderr.

    ``silence_stdout=False`` is for a stream other than the process's stdout
    (a test's buffer): its writer stops writing, fd 1 is left alone.
    """
    with _lock:
        if _state["noticed"]:
            return
        _state["noticed"] = True
        on_closed = _state["on_closed"]
    if callable(on_closed):
        on_closed()  # first: the stop must be requested before anyone reads the line below
    if silence_stdout:
        discard_stdout()
    try:
        sys.stderr.write(MESSAGE + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass  # stderr is gone too: nobody is left to tell


def watch_stdout() -> None:
    """Watch a pipe or socket stdout for its reader going away (once per process).

    ``poll`` with no events asked for still reports an error or hang-up, so
    the thread sleeps in the kernel until the reader closes its end.
    """
    if _watching.is_set() or not hasattr(select, "poll"):
        return
    try:
        mode = os.fstat(1).st_mode
    except OSError:
        output_closed()
        return
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return
    _watching.set()
    threading.Thread(target=_wait_for_reader_to_leave, name="stdout-watch", daemon=True).start()


def _wait_for_reader_to_leave() -> None:
    poller = select.poll()
    poller.register(1, 0)
    while True:
        events = poller.poll()
        if any(mask & (select.POLLERR | select.POLLHUP) for _, mask in events):
            output_closed()
            return
        if any(mask & select.POLLNVAL for _, mask in events):
            return  # fd 1 was closed in this process: a write will tell


def discard_stdout() -> None:
    """Point fd 1 at /dev/null, so buffered lines and later writes land somewhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
        finally:
            os.close(devnull)
    except OSError:
        pass
    if sys.stdout is None or getattr(sys.stdout, "closed", False):
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process


def write_whole(stream: Any, text: str) -> None:
    """Write all of ``text`` to ``stream`` and flush it, or raise.

    For a text stream with a binary layer, the text is encoded as the stream
    would encode it and written to that layer, the rest again after each
    short write, until every byte is out; a write that fails after part of
    the text raises like one that wrote nothing. What the text layer still
    holds (a ``print``) is flushed first, so lines keep their order. An
    encoding that starts its output with a byte order mark (UTF-16) would
    repeat it on every line this way, so such a stream, and one with no
    binary layer (a buffer in memory), is written through its own ``write``,
    whose count, when it gives one, is checked the same way.
    """
    binary = getattr(stream, "buffer", None)
    encoding = getattr(stream, "encoding", None)
    if binary is None or not isinstance(encoding, str) or _marks_byte_order(encoding):
        _write_text(stream, text)
        return
    stream.flush()
    data = memoryview(text.encode(encoding, getattr(stream, "errors", None) or "strict"))
    while data:
        written = binary.write(data)
        if written is None:  # a non-blocking output that is full: wait until it takes more
            _wait_until_writable(binary)
            continue
        if written <= 0:
            raise OSError(errno.EIO, "the output took no byte of the line")
        data = data[written:]
    binary.flush()


def _write_text(stream: Any, text: str) -> None:
    rest = text
    while rest:
        written = stream.write(rest)
        if not isinstance(written, int) or written >= len(rest):
            break  # no count to check (some streams return None), or all of it
        if written <= 0:
            raise OSError(errno.EIO, "the output took no character of the line")
        rest = rest[written:]
    flush = getattr(stream, "flush", None)
    if flush is not None:
        flush()


def _marks_byte_order(encoding: str) -> bool:
    try:
        return "".encode(encoding) != b""
    except LookupError:  # an encoding Python does not know: the write will say so
        return False


def _wait_until_writable(binary: Any) -> None:
    fileno = binary.fileno()  # a stream with no file behind it cannot be waited on: raises
    select.select([], [fileno], [])

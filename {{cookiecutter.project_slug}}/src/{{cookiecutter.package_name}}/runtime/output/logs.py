# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""Where log lines go, at which level, and in which format.

Why these choices:
- Every line goes to stdout: JSON lines when stdout is not a terminal, or
  readable text at a terminal (``log_formats``); ``LOG_FORMAT`` overrides.
- ``setup()`` replaces its own handler instead of adding another, so calling
  it twice (tests, a Lambda's warm start, a level change) never duplicates
  lines.
- The handler sits on the root logger so botocore's own records come out in
  the same format with the same ``run_id``. This package's loggers log at
  ``LOG_LEVEL``; other libraries' (botocore's "Found credentials in
  environment variables", urllib3's connection notes) only from WARNING up,
  unless ``LOG_LEVEL=DEBUG``.
- The run's summary goes through its own logger, pinned to INFO, so it is
  the last line of every run whatever ``LOG_LEVEL`` says.
- Secrets never reach the output: the bodies of calls that carry them are
  never logged (``secret_calls``), and every string is scrubbed of the
  values registered with ``register_secret`` and of the shapes credentials
  take in botocore's wire logs (``redact``).
- A closed stdout stops the run instead of being written to in vain
  (``closed_output``). Any other failure to write a line (a full disk, a
  file size limit, an I/O error) stops it too, before its next change: a
  run must not go on changing things while nothing records what it did.
  The runtime ends such a run with exit 8 and one line on stderr. A line
  counts as written only once every byte of it is out: a short write is
  retried with the rest, and a failure after part of a line stops the run
  at once, as a failure before it does (``closed_output.write_whole``).
- A line is never dropped because the output cannot encode a character (an
  ASCII-only ``PYTHONIOENCODING`` or locale): such characters are written
  as ``\\u`` escapes, which JSON reads back as the same text.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from typing import IO, Literal

from . import closed_output
from .log_fields import carrying_context, context
from .log_formats import JsonFormatter, TextFormatter, encodable
from .redact import REDACTED, redact, register_secret, register_secret_leaves
from .secret_calls import SecretCallFilter

__all__ = [
    "PROJECT",
    "REDACTED",
    "JsonFormatter",
    "TextFormatter",
    "carrying_context",
    "choose_format",
    "claim_root_logger",
    "context",
    "redact",
    "register_secret",
    "register_secret_leaves",
    "setup",
    "summary_logger",
]

# The project's top package (this module is ``<project>.runtime.output.logs``):
# its logger carries the run's own lines, as it did before the runtime had
# a package of its own, and every logger of the job and the runtime sits
# under it.
PROJECT = __name__.partition(".runtime.")[0]

Format = Literal["json", "text"]


class _LinesHandler(logging.Handler):
    """Writes each line to ``stream``, or else to whatever ``sys.stdout`` is
    when the record comes, so a replaced stdout is always the one written to.

    A write that fails stops the run (once) and every later line is dropped;
    nothing is printed per failed line. A closed output calls
    ``closed_output``; any other failure calls ``on_failed`` with the reason.
    """

    def __init__(self, stream: IO[str] | None, on_failed: Callable[[str], None] | None) -> None:
        super().__init__()
        self._stream = stream
        self._on_failed = on_failed
        self._closed = False

    def emit(self, record: logging.LogRecord) -> None:
        if self._closed:
            return
        stream = self._stream if self._stream is not None else sys.stdout
        if stream is None:  # Python found no stdout at start: it was closed
            self._gone()
            return
        try:
            line = self.format(record)
        except Exception:  # noqa: BLE001 - a log call whose arguments do not fit its message
            self.handleError(record)  # logging's own report: a bug in that call, not the output
            return
        json_lines = isinstance(self.formatter, JsonFormatter)
        line = encodable(line, getattr(stream, "encoding", None), json_lines=json_lines)
        try:
            # Written whole or not at all: a line cut short by a short write
            # (a file size limit or a full disk met mid-line) is a failure
            # now, before the run's next change, not at the next line.
            closed_output.write_whole(stream, line + "\n")
        except Exception as error:  # noqa: BLE001 - every write failure stops the run
            if closed_output.is_closed_output_error(error):
                self._gone()
            else:
                self._failed(stream, error)

    def _gone(self) -> None:
        self._closed = True
        silence = self._stream is None and closed_output.is_process_stdout(sys.stdout)
        closed_output.output_closed(silence_stdout=silence)

    def _failed(self, stream: IO[str], error: Exception) -> None:
        self._closed = True
        if closed_output.is_process_stdout(stream):
            # What is still buffered goes to /dev/null: the interpreter's
            # last flush must not fail (exit 120) or print a traceback.
            closed_output.discard_stdout()
        reason = " ".join((str(error) or type(error).__name__).split())
        if self._on_failed is not None:
            self._on_failed(reason)
            return
        try:  # no run to stop: tell whoever reads stderr, once
            sys.stderr.write(f"error: the log could not be written ({reason})\n")
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass


def setup(
    level: str,
    run_id: str,
    stream: IO[str] | None = None,
    *,
    fmt: Format = "json",
    colour: bool = False,
    on_output_closed: Callable[[], None] | None = None,
    on_output_failed: Callable[[str], None] | None = None,
    watch_reader: bool = True,
) -> logging.Logger:
    """Send every log record to ``stream`` (stdout) in ``fmt``; idempotent.

    ``on_output_closed`` is called once if the output turns out to be closed
    (for a pipe, when its reader leaves, unless ``watch_reader`` is false: a
    write will tell); ``on_output_failed`` once, with the reason, if a line
    cannot be written for another reason (without it, one line says so on
    stderr).
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _LinesHandler):
            root.removeHandler(handler)
    handler = _LinesHandler(stream, on_output_failed)
    if fmt == "text":
        handler.setFormatter(TextFormatter(run_id, colour=colour, summary_logger=_SUMMARY))
    else:
        handler.setFormatter(JsonFormatter(run_id))
    handler.addFilter(SecretCallFilter(PROJECT))
    root.addHandler(handler)
    own = logging.getLogger(PROJECT)
    own.setLevel(level)
    root.setLevel(level if level == "DEBUG" else max(logging.getLevelName(level), logging.WARNING))
    summary_logger().setLevel(logging.INFO)
    closed_output.set_stop_callback(on_output_closed)
    if stream is None and watch_reader:
        closed_output.watch_stdout()
    return own


def claim_root_logger() -> None:
    """Remove every handler on the root logger but ours.

    The Lambda runtime puts its own handler there; next to ours it would
    print every line a second time, as plain text.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if not isinstance(handler, _LinesHandler):
            root.removeHandler(handler)


_SUMMARY = f"{PROJECT}.summary"


def summary_logger() -> logging.Logger:
    return logging.getLogger(_SUMMARY)


def choose_format(
    log_format: str, env: Mapping[str, str], stream: IO[str] | None = None
) -> tuple[Format, bool]:
    """The format and whether to colour it: ``auto`` is text at a terminal,
    JSON elsewhere; colour needs a terminal, ``NO_COLOR`` unset or empty
    (no-color.org) and a ``TERM`` other than ``dumb``."""
    target = stream if stream is not None else sys.stdout
    try:
        terminal = target is not None and target.isatty()
    except (OSError, ValueError):  # a closed stream is no terminal
        terminal = False
    fmt: Format
    if log_format == "auto":
        fmt = "text" if terminal else "json"
    else:
        fmt = "text" if log_format == "text" else "json"
    colour = fmt == "text" and terminal and not env.get("NO_COLOR") and env.get("TERM") != "dumb"
    return fmt, colour

# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""What one log line holds, whatever it is printed as (JSON or text).

Why these choices:
- ``time`` is UTC with milliseconds and a ``Z`` whatever the machine's TZ,
  so lines from hosts in different zones sort and join correctly; every
  datetime value in a line (a ``cutoff``, say) is written the same way.
- Every ``extra`` field is kept. A field whose name collides with a base key
  is kept as ``extra_<name>``; a value JSON cannot encode is stringified, so
  nothing a caller logged is ever silently dropped.
- ``context(account=..., region=...)`` adds fields to every line logged
  inside it, in this thread and in work handed to other threads through
  ``carrying_context`` (pool threads start with an empty context). An
  extra field with the same name and value is not repeated; a different
  value is kept as ``extra_<name>``.
- Every string a caller or a library logged passes through ``redact``; the
  base fields this module writes itself (time, level, logger, run id) do not
  need to, so a short secret can never mangle them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any, ParamSpec, TypeVar

from .redact import redact, redact_number

__all__ = ["BASE_FIELDS", "carrying_context", "context", "line_fields", "utc_timestamp"]

BASE_FIELDS = ("time", "level", "logger", "message", "run_id")
_context: ContextVar[Mapping[str, Any]] = ContextVar("log_context", default=MappingProxyType({}))
# Attributes every LogRecord has; anything else on a record came from ``extra``.
_RECORD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName"}
)
_TRACEBACKS = logging.Formatter()
# The project's top package: this module is <project>.runtime.output.log_fields.
_PROJECT = __name__.partition(".runtime.")[0]

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def context(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every line logged in this context (nested contexts add up)."""
    token = _context.set(MappingProxyType({**_context.get(), **fields}))
    try:
        yield
    finally:
        _context.reset(token)


def carrying_context(function: Callable[P, R]) -> Callable[P, R]:
    """``function``, made to run in a copy of the caller's context.

    Hand the result to a thread pool and its lines keep this context's fields.
    Wrap once per submission: a context copy cannot run in two threads at once.
    """
    snapshot = copy_context()

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return snapshot.run(function, *args, **kwargs)

    return run


def line_fields(record: logging.LogRecord, run_id: str) -> dict[str, Any]:
    """The record as JSON-ready fields: base fields first, then context, then extras."""
    entry: dict[str, Any] = {
        "time": utc_timestamp(record.created),
        "level": record.levelname,
        "logger": record.name,
        "message": redact(record.getMessage()),
        "run_id": run_id,
    }
    shared = _context.get()
    extras: dict[str, Any] = {key: value for key, value in shared.items() if key not in entry}
    for key, value in vars(record).items():
        if key in _RECORD_ATTRS or key.startswith("_"):
            continue
        if key in shared and shared[key] == value:
            continue
        extras[f"extra_{key}" if key in entry or key in shared else key] = value
    entry.update(_jsonable(extras))
    if record.exc_info:
        entry["exception"] = redact(_exception(record))
    if record.stack_info:
        entry["stack"] = redact(_TRACEBACKS.formatStack(record.stack_info))
    return entry


def _exception(record: logging.LogRecord) -> str:
    """The traceback of a record's exception; for a library's warning (a
    botocore refresh or SSO lookup that failed, say), one line: its type and
    message, the whole traceback only at DEBUG. A library that logs a
    failure it goes on to raise would otherwise put a traceback in a run
    whose failure is then reported, once, without one."""
    if not record.exc_info:
        return ""
    ours = record.name == _PROJECT or record.name.startswith(f"{_PROJECT}.")
    if ours or record.levelno >= logging.ERROR or logging.getLogger().isEnabledFor(logging.DEBUG):
        return _TRACEBACKS.formatException(record.exc_info)
    error = record.exc_info[1]
    return f"{type(error).__name__}: {error}" if error is not None else ""


def utc_timestamp(created: float | datetime) -> str:
    """UTC, milliseconds, ``Z``: the one time format of every line."""
    if isinstance(created, datetime):
        # A naive datetime is taken as UTC: that is what this script's code passes.
        moment = created.astimezone(UTC) if created.tzinfo else created.replace(tzinfo=UTC)
    else:
        moment = datetime.fromtimestamp(created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _jsonable(value: Any) -> Any:
    """Return ``value`` made of JSON types only, stringifying what is not."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return redact_number(value)
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return utc_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    return redact(str(value))

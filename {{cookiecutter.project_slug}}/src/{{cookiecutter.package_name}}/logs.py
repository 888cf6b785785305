"""One JSON object per log line, on stdout, for CloudWatch Logs Insights.

Why these choices:
- ``time`` is UTC with milliseconds and a ``Z`` whatever the machine's TZ, so
  lines from hosts in different zones sort and join correctly.
- Every ``extra`` field is kept. A field whose name collides with a base key
  is kept as ``extra_<name>``; a value JSON cannot encode is stringified, so
  nothing a caller logged is ever silently dropped.
- ``setup()`` replaces its own handler instead of adding another, so calling
  it twice (tests, a Lambda's warm start, a level change) never duplicates
  lines.
- The handler sits on the root logger so botocore's own records come out as
  JSON with the same ``run_id``.
- ``context(account=..., region=...)`` adds fields to every line logged
  inside it, in this thread and in work handed to other threads through
  ``carrying_context`` (pool threads start with an empty context). An
  extra field with the same name and value is not repeated; a different
  value is kept as ``extra_<name>``.
- The run's summary goes through its own logger, pinned to INFO, so it is
  the last line of every run whatever ``LOG_LEVEL`` says.
- Secrets never reach the output: every string is scrubbed of the values
  registered with ``register_secret`` (credentials, Secrets Manager values)
  and of the shapes secrets take in botocore's DEBUG wire logs
  (``Authorization`` and ``X-Amz-Security-Token`` headers, STS credential
  elements, ``SecretString`` fields). The registry is process-wide because
  botocore's records come from loggers this package does not own.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from datetime import UTC, datetime
from types import MappingProxyType
from typing import IO, Any, ParamSpec, TypeVar

__all__ = [
    "JsonFormatter",
    "carrying_context",
    "claim_root_logger",
    "context",
    "redact",
    "register_secret",
    "setup",
    "summary_logger",
]

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 6  # shorter values would scrub ordinary words
_SECRET_SHAPES = (
    # header values in botocore's request dumps: 'Authorization': b'AWS4-HMAC...'
    re.compile(r"((?:authorization|x-amz-security-token)['\"]\s*[:=]\s*b?['\"])[^'\"]*", re.I),
    # and in the canonical request it signs: x-amz-security-token:IQoJb3...
    re.compile(r"((?:authorization|x-amz-security-token):)[^\s'\"]*", re.I),
    re.compile(r"(<(SecretAccessKey|SessionToken|SecretString|SecretBinary)>)[^<]*"),
    re.compile(
        r"((?:SecretAccessKey|SessionToken|SecretString|SecretBinary)\\*['\"]\s*:\s*\\*['\"])"
        r"(?:[^'\"\\]|\\.)*"
    ),
    re.compile(r"(Signature=)[0-9a-f]+"),
    re.compile(r"()\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
)
_secrets: set[str] = set()
_context: ContextVar[Mapping[str, Any]] = ContextVar("log_context", default=MappingProxyType({}))


@contextmanager
def context(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every line logged in this context (nested contexts add up)."""
    token = _context.set(MappingProxyType({**_context.get(), **fields}))
    try:
        yield
    finally:
        _context.reset(token)


P = ParamSpec("P")
R = TypeVar("R")


def carrying_context(function: Callable[P, R]) -> Callable[P, R]:
    """``function``, made to run in a copy of the caller's context.

    Hand the result to a thread pool and its lines keep this context's fields.
    Wrap once per submission: a context copy cannot run in two threads at once.
    """
    snapshot = copy_context()

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return snapshot.run(function, *args, **kwargs)

    return run


def register_secret(value: str | None) -> None:
    """Scrub ``value`` from every later log line (no-op for short or empty values)."""
    if value and len(value) >= MIN_SECRET_LENGTH:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    for shape in _SECRET_SHAPES:
        text = shape.sub(lambda match: match.group(1) + REDACTED, text)
    return text


# Attributes every LogRecord has; anything else on a record came from ``extra``.
_RECORD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName"}
)


class JsonFormatter(logging.Formatter):
    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _utc_timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "run_id": self.run_id,
        }
        shared = _context.get()
        entry.update((key, value) for key, value in shared.items() if key not in entry)
        for key, value in vars(record).items():
            if key in _RECORD_ATTRS or key.startswith("_"):
                continue
            if key in shared and shared[key] == value:
                continue
            entry[f"extra_{key}" if key in entry else key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(_jsonable(entry), ensure_ascii=False, allow_nan=False)


class _JsonLinesHandler(logging.Handler):
    """Writes each line to ``stream``, or else to whatever ``sys.stdout`` is
    when the record comes, so a replaced stdout is always the one written to."""

    def __init__(self, stream: IO[str] | None) -> None:
        super().__init__()
        self._stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = self._stream if self._stream is not None else sys.stdout
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:  # noqa: BLE001 - as logging does: report, never break the run
            self.handleError(record)


def setup(level: str, run_id: str, stream: IO[str] | None = None) -> logging.Logger:
    """Send every log record to ``stream`` (stdout) as JSON; idempotent."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _JsonLinesHandler):
            root.removeHandler(handler)
    handler = _JsonLinesHandler(stream)
    handler.setFormatter(JsonFormatter(run_id))
    root.addHandler(handler)
    root.setLevel(level)
    summary_logger().setLevel(logging.INFO)
    return logging.getLogger(__package__)


def claim_root_logger() -> None:
    """Remove every handler on the root logger but ours.

    The Lambda runtime puts its own handler there; next to ours it would
    print every line a second time, as plain text.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if not isinstance(handler, _JsonLinesHandler):
            root.removeHandler(handler)


def summary_logger() -> logging.Logger:
    return logging.getLogger(f"{__package__}.summary")


def _utc_timestamp(created: float) -> str:
    moment = datetime.fromtimestamp(created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _jsonable(value: Any) -> Any:
    """Return ``value`` made of JSON types only, stringifying what is not."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return redact(str(value))

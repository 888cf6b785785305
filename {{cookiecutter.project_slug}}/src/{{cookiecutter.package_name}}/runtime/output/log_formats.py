# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""The two ways a log line is printed: JSON for machines, text for people.

JSON (not a terminal: a pipe, CI, Lambda, ECS): one object per line, for
CloudWatch Logs Insights. Line and paragraph separators that JSON allows
raw inside strings (U+0085, U+2028, U+2029, and every other C1 control)
are written as ``\\u`` escapes, so every line splitter (Python's
``splitlines``, JavaScript, editors) sees exactly one record per line.

Text (a terminal): ``time level message key=value ...`` with the same
fields, minus the run id (kept on the summary lines) and the logger name
(shown for other libraries' lines only). A value is quoted when it has
spaces, quotes or ``=``, and every character a terminal would act on (ANSI
escapes, bidirectional overrides, line breaks) is printed as an escape, so
an S3 key cannot rewrite the screen. Colour only marks the level and the
field names, and only when asked for.

Either way, a character the output's encoding cannot carry (an ASCII-only
``PYTHONIOENCODING`` or locale) is written as an escape instead of making
the line fail (``encodable``): in JSON a ``\\u`` escape, which a JSON
reader turns back into the same character, so no line is lost or changed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from .log_fields import BASE_FIELDS, line_fields

__all__ = ["JsonFormatter", "TextFormatter", "encodable", "printable"]

_LINE_BREAKING = {code: f"\\u{code:04x}" for code in (*range(0x80, 0xA0), 0x2028, 0x2029)}
_LEVEL_COLOURS = {
    "DEBUG": "2",
    "INFO": "32",
    "WARNING": "33",
    "ERROR": "31",
    "CRITICAL": "1;31",
}
_RESET = "\x1b[0m"


class JsonFormatter(logging.Formatter):
    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    def format(self, record: logging.LogRecord) -> str:
        entry = line_fields(record, self.run_id)
        text = json.dumps(entry, ensure_ascii=False, allow_nan=False)
        return text.translate(_LINE_BREAKING)


class TextFormatter(logging.Formatter):
    def __init__(self, run_id: str, *, colour: bool = False, summary_logger: str = "") -> None:
        super().__init__()
        self.run_id = run_id
        self.colour = colour
        self.summary_logger = summary_logger
        self.own_package = summary_logger.rpartition(".")[0]

    def format(self, record: logging.LogRecord) -> str:
        entry = line_fields(record, self.run_id)
        exception = entry.pop("exception", None)
        stack = entry.pop("stack", None)
        level = entry["level"]
        parts = [entry["time"][11:], self._paint(f"{level:<7}", _LEVEL_COLOURS.get(level, ""))]
        logger = entry["logger"]
        if logger != self.own_package and not logger.startswith(self.own_package + "."):
            parts.append(f"[{printable(logger)}]")
        parts.append(printable(entry["message"]))
        fields = {key: value for key, value in entry.items() if key not in BASE_FIELDS}
        if logger == self.summary_logger:
            fields["run_id"] = entry["run_id"]
        parts.extend(
            f"{self._paint(printable(key), '2')}={value_text(value)}"
            for key, value in fields.items()
        )
        lines = [" ".join(parts)]
        for block in (exception, stack):
            if block:
                lines.extend("    " + printable(line) for line in str(block).splitlines())
        return "\n".join(lines)

    def _paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}{_RESET}" if self.colour and code else text


def value_text(value: Any) -> str:
    """A field's value as one shell-like word: bare when safe, else JSON-quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        if value and not any(ch in value for ch in ' ="\\') and value.isprintable():
            return value
        return printable(json.dumps(value, ensure_ascii=False))
    return printable(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on written as an escape."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def encodable(text: str, encoding: str | None, *, json_lines: bool) -> str:
    """``text`` with every character ``encoding`` cannot carry written as an escape.

    For JSON lines the escape is JSON's own (``\\u00e9``; a surrogate pair
    above U+FFFF), valid inside the string every such character sits in; for
    text lines it is the one ``printable`` uses. Lone surrogates (undecodable
    bytes in an environment variable) are escaped the same way, for UTF-8 too.
    """
    if not encoding or _carries(encoding, text):  # no encoding: a buffer in memory
        return text
    escape = _json_escape if json_lines else _escape
    return "".join(ch if _carries(encoding, ch) else escape(ch) for ch in text)


def _carries(encoding: str, text: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    except LookupError:  # an encoding Python does not know: the write will say so
        return True
    return True


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"

# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""Secret values, and the shapes secrets take, scrubbed from every log line.

Why it works this way:
- The registry is process-wide: botocore's records come from loggers this
  package does not own, and a secret read in one thread must be scrubbed
  from lines logged in every other.
- A JSON secret registers every leaf (strings of any length, and the text
  of every number, however deeply nested), plus each value as JSON, repr
  and ``\\u``-escapes would print it, so an escaped copy is caught as well.
- Each value is also registered percent-encoded, as a URL would carry it (a
  password in a database URL is the common case): ``quote`` with nothing
  safe, ``quote`` with ``/`` safe, and ``quote_plus``, each with upper- and
  lower-case hex digits.
- Values of ``SHORT_SECRET_LENGTH`` characters or more are scrubbed wherever
  they appear in text. Shorter ones are scrubbed where they stand alone (not
  inside a longer word or number), or "pin": "42" would blank every 42.
- A number field (not text) is replaced only when it is a registered value
  of 6 characters or more, so a secret's ``"port": 5432`` never blanks a
  count or an exit code.
- The shapes below catch credentials in botocore's wire logs of calls that
  do not carry secrets in their bodies (``Authorization``, session tokens in
  signed headers); the bodies of calls that do never reach a log at all
  (see ``secret_calls``), so nothing depends on learning a value in time.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Iterator

__all__ = [
    "REDACTED",
    "SHORT_SECRET_LENGTH",
    "redact",
    "redact_number",
    "register_secret",
    "register_secret_leaves",
]

REDACTED = "[REDACTED]"
SHORT_SECRET_LENGTH = 6
_SECRET_SHAPES = (
    # header values in botocore's request dumps: 'Authorization': b'AWS4-HMAC...'
    re.compile(r"((?:authorization|x-amz-security-token)['\"]\s*[:=]\s*b?['\"])[^'\"]*", re.I),
    # and in the canonical request it signs: x-amz-security-token:IQoJb3...
    re.compile(r"((?:authorization|x-amz-security-token):)[^\s'\"]*", re.I),
    # a presigned URL's query: X-Amz-Security-Token=...&X-Amz-Signature=...
    re.compile(r"((?:x-amz-security-token|x-amz-signature|x-amz-credential)=)[^&\s'\"]*", re.I),
    re.compile(r"(<(SecretAccessKey|SessionToken|SecretString|SecretBinary)>)[^<]*"),
    re.compile(
        r"((?:SecretAccessKey|SessionToken|SecretString|SecretBinary)\\*['\"]\s*:\s*\\*['\"])"
        r"(?:[^'\"\\]|\\.)*"
    ),
    re.compile(r"(Signature=)[0-9a-f]+"),
    re.compile(r"()\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
)
_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")
_lock = threading.Lock()
_secrets: set[str] = set()
# Rebuilt on each registration, read without the lock: long values longest
# first (plain substring search, fast however many there are), and one
# pattern for the few short ones.
_long: list[str] = []
_short: list[re.Pattern[str]] = []


def register_secret(value: str | None) -> None:
    """Scrub ``value`` (and its escaped forms) from every later log line."""
    if value:
        _add(_variants(value))


def register_secret_leaves(value: object) -> None:
    """Register every string and number inside a decoded JSON value.

    ``true``, ``false`` and ``null`` are not registered: scrubbing them
    would blank every boolean in the output and hide nothing.
    """
    _add(variant for leaf in _leaves(value) for variant in _variants(leaf))


def redact(text: str) -> str:
    """``text`` with every registered value and secret shape replaced."""
    for secret in tuple(_long):
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in tuple(_short):
        text = pattern.sub(REDACTED, text)
    for shape in _SECRET_SHAPES:
        text = shape.sub(lambda match: match.group(1) + REDACTED, text)
    return text


def redact_number(value: int | float) -> int | float | str:
    """``value``, or ``REDACTED`` if it is a registered secret of 6 characters or more.

    Shorter numbers stay: a secret's ``"port": 5432`` must not blank a count.
    """
    text = repr(value)
    if len(text) >= SHORT_SECRET_LENGTH and text in _secrets:
        return REDACTED
    return value


def _leaves(value: object) -> Iterator[str]:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, int):
        yield str(value)
    elif isinstance(value, float):
        if math.isfinite(value):
            yield repr(value)
            yield json.dumps(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)


def _variants(value: str) -> set[str]:
    """``value`` as it is, as JSON, repr and ASCII escapes would print it, and
    percent-encoded as a URL would carry it."""
    forms = {
        value,
        json.dumps(value, ensure_ascii=False)[1:-1],
        json.dumps(value)[1:-1],
        repr(value)[1:-1],
        ascii(value)[1:-1],
        value.encode("unicode_escape").decode("ascii"),
        *_percent_encoded(value),
    }
    return {form for form in forms if form}


def _percent_encoded(value: str) -> set[str]:
    """``value`` as the usual URL builders percent-encode it, in both cases of hex."""
    # Imported here: it takes milliseconds, and a run that reads no secret never needs it.
    from urllib.parse import quote, quote_plus  # noqa: PLC0415

    # surrogatepass: a lone surrogate (from a JSON escape) must not make registering fail
    forms = {
        quote(value, safe="", errors="surrogatepass"),
        quote(value, safe="/", errors="surrogatepass"),
        quote_plus(value, safe="", errors="surrogatepass"),
    }
    lower = {_PERCENT_ESCAPE.sub(lambda match: match.group().lower(), form) for form in forms}
    return forms | lower


def _add(values: Iterator[str] | set[str]) -> None:
    with _lock:
        before = len(_secrets)
        _secrets.update(values)
        if len(_secrets) == before:
            return
        long = sorted((item for item in _secrets if len(item) >= SHORT_SECRET_LENGTH), key=len)
        _long[:] = long[::-1]
        short = sorted((item for item in _secrets if len(item) < SHORT_SECRET_LENGTH), key=len)
        if short:
            alternatives = "|".join(re.escape(item) for item in reversed(short))
            _short[:] = [re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])")]

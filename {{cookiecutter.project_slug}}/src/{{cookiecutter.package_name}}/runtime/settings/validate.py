# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""Validators for every value that crosses into the script.

Each takes raw text (from the environment or a flag), returns a normalised
value, and raises ``InvalidValue`` with a reason that says what is wrong and
what is expected. They never touch AWS: bad input is caught before the first
API call, where it costs nothing.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

__all__ = [
    "FALSE_WORDS",
    "TRUE_WORDS",
    "InvalidValue",
    "account_ids",
    "boolean",
    "bucket_name",
    "choice",
    "endpoint_url",
    "integer",
    "mfa_code",
    "mfa_serial",
    "number",
    "region",
    "regions",
    "role_arn",
    "role_name",
    "s3_prefix",
    "shown",
    "sns_topic_arn",
    "target_accounts",
    "text",
]

# The words a true/false setting (DRY_RUN, ...) accepts, case and spaces aside;
# docs/settings.md's table lists exactly these.
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")
# Every partition's region names: a prefix the partition owns, a direction,
# a number without a leading zero (botocore's partitions.json has the same
# prefixes; its "\d+" would also take "us-east-01", which no region is).
_REGION_PREFIX = r"(?:us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov|us-iso|us-isob|us-isof|eu-isoe|eusc-de)"
_DIRECTION = r"(?:east|west|north|south|central|northeast|northwest|southeast|southwest)"
_REGION = re.compile(_REGION_PREFIX + "-" + _DIRECTION + r"-[1-9][0-9]?")
_ACCOUNT = re.compile(r"[0-9]{12}")
_PARTITION = r"aws(?:-cn|-us-gov|-iso|-iso-b|-iso-e|-iso-f|-eusc)?"
# IAM names are ASCII: letters, digits and +=,.@_- (\w alone would take any script).
_IAM_NAME_CHARS = r"A-Za-z0-9_+=,.@-"
_ROLE_NAME = re.compile("[" + _IAM_NAME_CHARS + "]{1,64}")
# TARGET_ACCOUNTS=organization: every ACTIVE account of the AWS Organization
ORGANIZATION: Literal["organization"] = "organization"
_ROLE_ARN = re.compile(
    "arn:" + _PARTITION + ":iam::[0-9]{12}:role/[/" + _IAM_NAME_CHARS + "]{1,512}"
)
_TOPIC_ARN = re.compile(
    "arn:" + _PARTITION + ":sns:" + _REGION.pattern + r":[0-9]{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?"
)
_MFA_SERIAL = re.compile(
    "arn:" + _PARTITION + ":iam::[0-9]{12}:mfa/[/" + _IAM_NAME_CHARS + "]{1,512}|[A-Z0-9]{9,32}"
)
_URL_SCHEMES = ("http", "https")
# An endpoint URL, checked as botocore checks it before it makes a client
# (``botocore.utils.is_valid_endpoint_url`` or ``is_valid_ipv6_endpoint_url``),
# and a little stricter: what passes here, botocore takes (the generated
# tests prove it against botocore's own check). The host is a DNS name
# (labels of letters, digits and hyphens, 1 to 63 long, neither starting
# nor ending with a hyphen; 255 characters at most, a trailing dot counted)
# or a bracketed IPv6 address as RFC 3986 writes one, without a zone id.
_URL_TEXT = re.compile(r"[!-~]*")  # printable ASCII: no space, control or other script
_AUTHORITY = re.compile(r"(?P<host>\[[^\[\]]*\]|[^:\[\]]*)(?::(?P<port>[0-9]*))?")
_HOST_MAX = 255
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DNS_NAME = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}\.?")
_H16 = "[0-9a-f]{1,4}"  # (joined as plain strings: each {n} count reads as written)
_DEC_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_LS32 = "(?:" + _H16 + ":" + _H16 + "|" + _DEC_OCTET + "(?:\\." + _DEC_OCTET + "){3})"


def _groups(count: str) -> str:
    """``count`` (a regex count: "2", "0,3") groups of 16 bits, each with its colon."""
    return "(?:" + _H16 + ":){" + count + "}"


# RFC 3986's nine forms: groups before "::" (at most 7 in all), groups after it.
_IPV6 = re.compile(
    "|".join(
        (
            _groups("6") + _LS32,
            "::" + _groups("5") + _LS32,
            "(?:" + _H16 + ")?::" + _groups("4") + _LS32,
            "(?:" + _groups("0,1") + _H16 + ")?::" + _groups("3") + _LS32,
            "(?:" + _groups("0,2") + _H16 + ")?::" + _groups("2") + _LS32,
            "(?:" + _groups("0,3") + _H16 + ")?::" + _H16 + ":" + _LS32,
            "(?:" + _groups("0,4") + _H16 + ")?::" + _LS32,
            "(?:" + _groups("0,5") + _H16 + ")?::" + _H16,
            "(?:" + _groups("0,6") + _H16 + ")?::",
        )
    )
)
# RFC 3986 path characters: unreserved, sub-delims, ":", "@", "/" and %XX escapes.
_URL_PATH = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*")
_PORT_MAX = 65535
# Digits a port may have, leading zeros included: botocore signs each request
# with the port as ``urlsplit(url).port`` reads it, and int() refuses more
# than 4,300 digits (Python's default limit, which PYTHONINTMAXSTRDIGITS may
# lower to 640 and no lower), so a port takes no more than the lowest limit.
_PORT_DIGITS_MAX = 640
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_ADDRESS = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")  # "formatted as an IP address"
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_PREFIX_MAX_BYTES = 1024
_SHOWN_MAX = 80  # how much of a value an error message quotes
_BLANKS = " \t"  # what may surround a number: spaces and tabs, nothing a person cannot see
_WHOLE_NUMBER = re.compile(r"-?[0-9]+", re.ASCII)
_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)


class InvalidValue(ValueError):
    """A value that fails validation; the message is safe to show a person."""


def boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    words = f"{', '.join(TRUE_WORDS)} / {', '.join(FALSE_WORDS)}"
    raise InvalidValue(f"must be true or false ({words}), got {raw!r}")


def integer(raw: str, *, minimum: int, maximum: int) -> int:
    """A whole number in ASCII digits; ``int()`` alone would also take
    ``3_0``, ``+30`` and other scripts' digits, which no person means.

    A number with more digits than the bounds have is refused by its length:
    ``int()`` refuses text of more than 4,300 digits with an error of its
    own, and no setting takes a number that long.
    """
    text = raw.strip(_BLANKS)
    if not _WHOLE_NUMBER.fullmatch(text):
        raise InvalidValue(f"must be a whole number (digits 0-9), got {shown(raw)}")
    negative = text.startswith("-")
    digits = text.lstrip("-").lstrip("0") or "0"
    if len(digits) > len(str(max(abs(minimum), abs(maximum)))):
        raise InvalidValue(
            f"must be from {minimum} to {maximum}, got a number of {len(digits)} digits"
        )
    value = -int(digits) if negative else int(digits)
    if not minimum <= value <= maximum:
        raise InvalidValue(f"must be from {minimum} to {maximum}, got {value}")
    return value


def number(raw: str, *, minimum: float, maximum: float) -> float:
    """Parse a number of seconds written as digits with an optional decimal
    part; ``nan``, ``inf``, exponents and underscores are refused."""
    text = raw.strip(_BLANKS)
    if not _DECIMAL.fullmatch(text):
        raise InvalidValue(f"must be a number (digits 0-9 and a decimal point), got {shown(raw)}")
    value = float(text)  # digits past a float's range read as inf, refused below
    if not minimum <= value <= maximum:  # also false for nan
        raise InvalidValue(f"must be from {minimum:g} to {maximum:g}, got {shown(raw.strip())}")
    return value


def choice(raw: str, choices: tuple[str, ...], *, fold_case: bool = True) -> str:
    value = raw.strip().lower() if fold_case else raw.strip()
    wanted = tuple(c.lower() for c in choices) if fold_case else choices
    if value not in wanted:
        raise InvalidValue(f"must be one of {', '.join(choices)}, got {raw!r}")
    return choices[wanted.index(value)]


def region(raw: str) -> str:
    return _matching(raw, _REGION, "an AWS region like us-east-1 or us-gov-west-1")


def endpoint_url(raw: str) -> str:
    """An endpoint for every client (a local moto server, a VPC endpoint):
    http or https, a host botocore takes, an optional port and path, and no
    user name, password, query or fragment.

    Checked as it is, spaces included: botocore reads the variable (or the
    config file's ``endpoint_url``) itself, and refuses a host it cannot use
    only when it makes the first client, with an error that is not a
    configuration error. The rule is botocore's (see ``_IPV6`` and
    ``_DNS_NAME``), so what passes here is what botocore takes.
    """
    got = f"got {shown(raw)}"
    expected = f"must be an http:// or https:// URL with a host, like http://127.0.0.1:5000, {got}"
    if not _URL_TEXT.fullmatch(raw):
        raise InvalidValue(
            "must be an http:// or https:// URL in printable ASCII with no spaces "
            f"(a host name in another script in its xn-- form), {got}"
        )
    try:
        parts = urlsplit(raw)
    except ValueError:  # an unmatched bracket, say
        raise InvalidValue(expected) from None
    if parts.scheme.lower() not in _URL_SCHEMES or not parts.netloc:
        raise InvalidValue(expected)
    if "@" in parts.netloc:
        raise InvalidValue("must not contain a user name or password")
    authority = _AUTHORITY.fullmatch(parts.netloc)
    if authority is None or not authority["host"]:
        raise InvalidValue(expected)
    port = authority["port"] or ""
    significant = port.lstrip("0")  # int() refuses 4,301 digits and more
    if len(significant) > len(str(_PORT_MAX)) or (significant and int(significant) > _PORT_MAX):
        raise InvalidValue(
            f"must be an http:// or https:// URL with a port up to {_PORT_MAX}, {got}"
        )
    if len(port) > _PORT_DIGITS_MAX:
        # botocore reads the port as ``urlsplit(url).port`` does, with int():
        # leading zeros past its digit limit end the first call with a traceback.
        raise InvalidValue(
            f"must be an http:// or https:// URL whose port has at most {_PORT_DIGITS_MAX} "
            f"digits, leading zeros included, got a port of {len(port)} digits"
        )
    host = authority["host"].lower()
    if host.startswith("["):
        if not _IPV6.fullmatch(host[1:-1]):
            raise InvalidValue(
                f"must be an http:// or https:// URL with an IPv6 address (no zone id) "
                f"in its brackets, {got}"
            )
    elif len(host) > _HOST_MAX or not _DNS_NAME.fullmatch(host):
        raise InvalidValue(
            "must be an http:// or https:// URL whose host is a DNS name (labels of letters, "
            "digits and hyphens, 1 to 63 long, no hyphen at either end; "
            f"{_HOST_MAX} characters in all) or an IPv6 address in brackets, {got}"
        )
    if "?" in raw or "#" in raw:
        raise InvalidValue(
            f"must be an http:// or https:// URL with no query (?) or fragment (#), {got}"
        )
    if not _URL_PATH.fullmatch(parts.path):
        raise InvalidValue(
            "must be an http:// or https:// URL whose path holds only letters, digits, "
            f"-._~!$&'()*+,;=:@/ and %XX escapes, {got}"
        )
    return raw


def account_ids(raw: str) -> tuple[str, ...]:
    """Parse a comma-separated allow-list; empty text means no list.

    Text that holds only separators (``","``, ``" , "``) is refused: read as
    no list, a stray comma would switch the allow-list off.
    """
    if not raw:
        return ()
    ids = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not ids:
        raise InvalidValue(f"lists no account id, got {raw!r}; leave it empty for no list")
    bad = [part for part in ids if not _ACCOUNT.fullmatch(part)]
    if bad:
        raise InvalidValue(f"account ids must be exactly 12 digits, got {', '.join(bad)}")
    return tuple(dict.fromkeys(ids))


def target_accounts(raw: str) -> tuple[str, ...] | Literal["organization"]:
    """Parse TARGET_ACCOUNTS: account ids, or ``organization`` for all active accounts."""
    if raw.strip().lower() == ORGANIZATION:
        return ORGANIZATION
    ids = account_ids(raw)
    if not ids:
        raise InvalidValue(f"must list 12-digit account ids or say {ORGANIZATION!r}")
    return ids


def regions(raw: str) -> tuple[str, ...]:
    """Parse a comma-separated list of regions, without repeats."""
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not parts:
        raise InvalidValue("must list at least one region, like us-east-1,eu-west-1")
    bad = [part for part in parts if not _REGION.fullmatch(part)]
    if bad:
        raise InvalidValue(f"must be AWS regions like us-east-1, got {', '.join(bad)}")
    return tuple(dict.fromkeys(parts))


def role_name(raw: str) -> str:
    """An IAM role name (not an ARN): the same name is assumed in every target account."""
    return _matching(raw, _ROLE_NAME, "an IAM role name (up to 64 of A-Z a-z 0-9 +=,.@_-)")


def role_arn(raw: str) -> str:
    return _matching(raw, _ROLE_ARN, "an IAM role ARN like arn:aws:iam::123456789012:role/name")


def mfa_serial(raw: str) -> str:
    """An MFA device: its ARN (virtual devices) or a hardware serial number."""
    return _matching(raw, _MFA_SERIAL, "an MFA device ARN like arn:aws:iam::123456789012:mfa/name")


def mfa_code(raw: str) -> str:
    value = raw.strip()
    if not re.fullmatch(r"[0-9]{6}", value):
        raise InvalidValue("must be the 6 digits the MFA device shows")
    return value


def sns_topic_arn(raw: str) -> str:
    return _matching(
        raw, _TOPIC_ARN, "an SNS topic ARN like arn:aws:sns:us-east-1:123456789012:topic"
    )


def bucket_name(raw: str) -> str:
    """Apply S3's general-purpose bucket naming rules."""
    value = raw.strip()
    if not value:
        raise InvalidValue("is required")
    if not 3 <= len(value) <= 63:
        raise InvalidValue(f"must be 3 to 63 characters long, got {len(value)}")
    if not _BUCKET.fullmatch(value):
        raise InvalidValue(
            "may contain only lowercase letters, digits, dots and hyphens, and must "
            f"start and end with a letter or digit, got {raw!r}"
        )
    if ".." in value:
        raise InvalidValue(f"must not contain two adjacent dots, got {raw!r}")
    if _IP_ADDRESS.fullmatch(value):
        raise InvalidValue(f"must not be formatted as an IP address, got {raw!r}")
    if value.startswith(_BUCKET_RESERVED_PREFIXES) or value.endswith(_BUCKET_RESERVED_SUFFIXES):
        raise InvalidValue(f"uses a prefix or suffix reserved by S3, got {raw!r}")
    return value


def s3_prefix(raw: str) -> str:
    """Accept a key prefix; an empty one is refused because it means the whole bucket."""
    if not raw:
        raise InvalidValue("must not be empty: an empty prefix would match the whole bucket")
    if raw.startswith("/"):
        raise InvalidValue(f"must not start with '/' (S3 keys rarely do), got {raw!r}")
    if len(raw.encode("utf-8")) > _PREFIX_MAX_BYTES:
        raise InvalidValue(f"must be at most {_PREFIX_MAX_BYTES} bytes of UTF-8")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        raise InvalidValue(f"must not contain control characters, got {raw!r}")
    return raw


# What Python makes of what is not text: a byte that is not UTF-8 in a
# variable, an argument or a file name becomes a lone surrogate (U+DC80 to
# U+DCFF: surrogateescape), and a JSON "\ud800" escape (a Lambda event) one
# of its own. No encoder takes one, so a validator that encodes the value,
# or botocore sending it, would crash.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_ESCAPED_BYTES = range(0xDC80, 0xDD00)


def text(raw: str) -> str:
    """Refuse a value that is not text: one holding a lone surrogate.

    ``config`` calls it on every setting's value before the setting's own
    validator, so every setting is refused the same way (exit 1, the
    setting named) instead of one of them crashing (exit 99).
    """
    found = _SURROGATE.search(raw)
    if found is None:
        return raw
    code = ord(found.group())
    if code in _ESCAPED_BYTES:
        what = f"the byte 0x{code - 0xDC00:02x}, which is not UTF-8"
    else:
        what = f"a lone surrogate (U+{code:04X}), which no text can carry"
    raise InvalidValue(f"must be UTF-8 text; character {found.start() + 1} is {what}")


def shown(raw: str) -> str:
    """A value as an error message quotes it: in full, or its start and length."""
    quoted = repr(raw)
    if len(quoted) <= _SHOWN_MAX:
        return quoted
    return f"{raw[: _SHOWN_MAX // 2]!r}... ({len(raw)} characters)"


def _matching(raw: str, pattern: re.Pattern[str], expected: str) -> str:
    value = raw.strip()
    if not pattern.fullmatch(value):
        raise InvalidValue(f"must be {expected}, got {raw!r}")
    return value

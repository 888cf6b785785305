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
    "sns_topic_arn",
    "target_accounts",
]

# The words a true/false setting (DRY_RUN, ...) accepts, case and spaces aside;
# the README's table lists exactly these.
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
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_ADDRESS = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")  # "formatted as an IP address"
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_PREFIX_MAX_BYTES = 1024
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
    ``3_0``, ``+30`` and other scripts' digits, which no person means."""
    text = raw.strip(_BLANKS)
    if not _WHOLE_NUMBER.fullmatch(text):
        raise InvalidValue(f"must be a whole number (digits 0-9), got {raw!r}")
    value = int(text)
    if not minimum <= value <= maximum:
        raise InvalidValue(f"must be from {minimum} to {maximum}, got {value}")
    return value


def number(raw: str, *, minimum: float, maximum: float) -> float:
    """Parse a number of seconds written as digits with an optional decimal
    part; ``nan``, ``inf``, exponents and underscores are refused."""
    text = raw.strip(_BLANKS)
    if not _DECIMAL.fullmatch(text):
        raise InvalidValue(f"must be a number (digits 0-9 and a decimal point), got {raw!r}")
    value = float(text)
    if not minimum <= value <= maximum:  # also false for nan
        raise InvalidValue(f"must be from {minimum:g} to {maximum:g}, got {raw.strip()!r}")
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
    http or https, with a host, and no user name or password in it.

    Checked as it is, spaces included: botocore reads the variable itself.
    """
    value = raw
    expected = f"an http:// or https:// URL with a host, like http://127.0.0.1:5000, got {raw!r}"
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in value):
        raise InvalidValue(f"must be {expected}")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        raise InvalidValue(f"must be {expected}") from None
    if parts.scheme.lower() not in _URL_SCHEMES or not parts.hostname:
        raise InvalidValue(f"must be {expected}")
    if parts.username is not None or parts.password is not None:
        raise InvalidValue("must not contain a user name or password")
    return value


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


def _matching(raw: str, pattern: re.Pattern[str], expected: str) -> str:
    value = raw.strip()
    if not pattern.fullmatch(value):
        raise InvalidValue(f"must be {expected}, got {raw!r}")
    return value

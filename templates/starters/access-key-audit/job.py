"""Access key audit: find IAM users' stale access keys; with ``--apply``, deactivate them.

This module declares the job for the runtime: its settings (with their
validators, ``REPORT_PATH``'s included), the IAM grants it needs, its
counts. It imports no AWS code, so ``--help`` and a refused configuration
answer before boto3 is loaded. The work is in the modules beside it, which
``run`` imports once the settings are valid: ``audit`` (the run: users,
exemptions, findings, deactivation and exit codes), ``own_keys`` (the keys
this run's own credentials depend on, which it never deactivates),
``findings`` (what a finding is and what the report holds) and
``reporting`` (the report written to a local file or ``s3://``, and the
undo record when it cannot be); the docstrings of ``audit``, ``own_keys``
and ``reporting`` say why the job is built the way it is. IAM is global:
``REGIONAL`` is false, a fan-out runs once per account.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .runtime.settings import validate
from .runtime.settings.config import SAMPLE_ACCOUNT, Setting, Settings

if TYPE_CHECKING:
    from .runtime.access.aws import Clients
    from .runtime.outcome.errors import StopRequest

__all__ = [
    "DESCRIPTION",
    "IAM_ACTIONS",
    "REGIONAL",
    "SETTINGS",
    "Counts",
    "JobSettings",
    "run",
]

DESCRIPTION = (
    "Find IAM access keys older than MAX_KEY_AGE_DAYS or unused for MAX_UNUSED_DAYS; "
    "with --apply, deactivate them (never delete)."
)
S3_SCHEME = "s3://"
S3_KEY_MAX_BYTES = 1024
NAME_MAX_BYTES = 255  # the longest file name most file systems take
TEMPORARY_STEM_BYTES = 100  # of the report's name, in the name of the file written first
TAG_KEY_PUNCTUATION = "_.:/=+-@"
USERS_ARN = "arn:{partition}:iam::{account}:user/*"

# Every IAM action the job may use, with the resource it applies to, in one
# place: it renders the AssumeRole session policy, iam-policy.json, and the
# test that fails when the job calls an API not covered here. IAM users may
# sit under paths (user/path/name), hence user/*. ListUsers is authorized on
# the same user/* resource. s3:PutObject names {REPORT_PATH}: in the session
# policy it is filled in with the report's own bucket/key (the row
# ``report_object`` below gives that value), and it is not given at all when
# the report goes to a local file or nowhere. (sts:GetCallerIdentity needs
# no permission.) The deploy stacks grant the same (tests/test_deploy.py).
IAM_ACTIONS: dict[str, str] = {
    "iam:ListUsers": USERS_ARN,
    "iam:ListUserTags": USERS_ARN,
    "iam:ListAccessKeys": USERS_ARN,
    "iam:GetAccessKeyLastUsed": USERS_ARN,
    "iam:UpdateAccessKey": USERS_ARN,  # only with --apply, only to Inactive
    "s3:PutObject": "arn:{partition}:s3:::{REPORT_PATH}",  # only with an s3:// REPORT_PATH
}

# IAM is global: a fan-out runs once per account, never once per region.
REGIONAL = False


def days(raw: str) -> int:
    return validate.integer(raw, minimum=1, maximum=36500)


def tag_key(raw: str) -> str:
    """An IAM tag key: 1 to 128 Unicode letters, numbers, spaces and
    ``_ . : / = + - @``, not starting with ``aws:`` (reserved by AWS). IAM
    also allows the line and paragraph separators; they are refused here, as
    they would split a text log line."""
    value = raw.strip()
    if not value or len(value) > 128:
        raise validate.InvalidValue(f"must be 1 to 128 characters, got {raw!r}")
    if not all(_tag_key_char(char) for char in value):
        raise validate.InvalidValue(
            "may contain only letters, numbers, spaces and _ . : / = + - @ "
            f"(as an IAM tag key), got {raw!r}"
        )
    if value.lower().startswith("aws:"):
        raise validate.InvalidValue(f"must not start with 'aws:' (reserved by AWS), got {raw!r}")
    return value


def _tag_key_char(char: str) -> bool:
    # IAM's rule is [\p{L}\p{Z}\p{N}_.:/=+\-@]; of the separators only spaces (Zs).
    category = unicodedata.category(char)
    return char in TAG_KEY_PUNCTUATION or category[0] in "LN" or category == "Zs"


def s3_location(raw: str) -> tuple[str, str] | None:
    """(bucket, key) of an ``s3://bucket/key`` URI, None for anything else."""
    value = raw.strip()
    if not value.startswith(S3_SCHEME):
        return None
    bucket, _, key = value[len(S3_SCHEME) :].partition("/")
    return bucket, key


def report_path(raw: str) -> str:
    """Where the report goes: ``s3://bucket/key``, or a local file whose
    directory exists (checked here, so a typo is refused before any AWS call,
    not after the audit)."""
    value = raw.strip()
    location = s3_location(value)
    if location is not None:
        bucket, key = location
        if not bucket:
            raise validate.InvalidValue(
                f"must be s3://BUCKET/KEY: the bucket is missing, got {raw!r}"
            )
        try:
            validate.bucket_name(bucket)
        except validate.InvalidValue as error:
            raise validate.InvalidValue(f"bucket {bucket!r} {error}") from None
        if not key or key.endswith("/") or any(char in key for char in "*?$"):
            raise validate.InvalidValue(
                f"must be s3://BUCKET/KEY with an object key (no *, ?, $), got {raw!r}"
            )
        if len(key.encode()) > S3_KEY_MAX_BYTES or any(not char.isprintable() for char in key):
            raise validate.InvalidValue(
                f"the object key must be at most {S3_KEY_MAX_BYTES} bytes, "
                f"with no control characters, got {raw!r}"
            )
        return value
    if "://" in value:
        raise validate.InvalidValue(f"must be a local path or s3://BUCKET/KEY, got {raw!r}")
    return _local_report_path(value, raw)


def _local_report_path(value: str, raw: str) -> str:
    """``value`` if it can name the report's local file (see ``report_path``)."""
    if value.endswith(("/", "/.", "/..")) or value in {".", ".."}:
        # pathlib reads "reports/" as "reports": the report would replace a
        # file, or take the name of a directory that was meant to hold it.
        raise validate.InvalidValue(f"names a directory, expected a file path: {raw!r}")
    path = Path(value)
    if any(len(os.fsencode(part)) > NAME_MAX_BYTES for part in path.parts):
        raise validate.InvalidValue(
            f"has a file or directory name longer than {NAME_MAX_BYTES} bytes: {raw!r}"
        )
    try:
        kind = _not_a_regular_file(path)
        if kind == "a directory":
            raise validate.InvalidValue(f"is a directory, expected a file path: {raw!r}")
        if kind is not None:
            # Replacing it would replace the device, pipe or link itself (as
            # root, REPORT_PATH=/dev/null would replace the system's /dev/null).
            raise validate.InvalidValue(
                f"must be a regular file or not exist yet; {raw!r} is {kind}"
            )
        # With {account} in the directory, load checks the value with a sample
        # account; the real directory is checked per target (config.for_target).
        sample = SAMPLE_ACCOUNT in str(path.parent)
        if not sample and not path.parent.is_dir():
            raise validate.InvalidValue(f"directory does not exist: {str(path.parent)!r}")
        if not sample:
            _check_name_fits(path, raw)
    except OSError as error:  # a name too long for the file system, say
        raise validate.InvalidValue(
            f"cannot be used as a local path ({error.strerror or error}): {raw!r}"
        ) from None
    return value


def _check_name_fits(path: Path, raw: str) -> None:
    """Both names the report is written under (``temporary_name``, then
    its own) must fit the directory's file system, counted in bytes as the
    file system counts them, so the write at the end cannot fail on it."""
    try:
        limit = os.pathconf(path.parent, "PC_NAME_MAX")
    except (OSError, ValueError):  # the system cannot tell: the common limit
        limit = NAME_MAX_BYTES
    longest = max(len(os.fsencode(name)) for name in (path.name, temporary_name(path.name)))
    if longest > limit:
        raise validate.InvalidValue(
            f"its file name is {longest} bytes long; the file system there takes at most "
            f"{limit} bytes: {raw!r}"
        )


def temporary_name(name: str) -> str:
    """The name the report is first written under, in the same directory:
    hidden, unique, and holding at most ``TEMPORARY_STEM_BYTES`` bytes of
    the report's own name (whole characters): 118 bytes at most, however
    long the report's name."""
    stem = name
    while len(os.fsencode(stem)) > TEMPORARY_STEM_BYTES:
        stem = stem[:-1]
    return f".{stem}.{os.urandom(6).hex()}.tmp"


def _not_a_regular_file(path: Path) -> str | None:
    """What ``path`` is when it exists and is not a regular file (a symbolic
    link is not followed: it is a link), else None."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    return file_kind(mode)


def file_kind(mode: int) -> str | None:
    """None for a regular file, else what the file is."""
    if stat.S_ISREG(mode):
        return None
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((kind for test, kind in kinds if test(mode)), "not a regular file")


def report_object(raw: str) -> str | None:
    """The report's S3 object as an ARN names it (``bucket/key``), None for a
    local file: the value ``{REPORT_PATH}`` takes in the session policy. It
    never refuses; ``report_path`` reads the same variable and does that."""
    location = s3_location(raw)
    return None if location is None else "/".join(location)


@dataclass(frozen=True)
class JobSettings:
    max_key_age_days: int
    max_unused_days: int
    exempt_tag_key: str
    report_path: str | None
    report_object: str | None  # derived from REPORT_PATH, for IAM_ACTIONS only


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "max_key_age_days",
        ("MAX_KEY_AGE_DAYS",),
        days,
        default="90",
        flag="--max-key-age-days",
        help="an Active key created more than this many days ago is a finding",
    ),
    Setting(
        "max_unused_days",
        ("MAX_UNUSED_DAYS",),
        days,
        default="90",
        flag="--max-unused-days",
        help="an Active key unused (or never used since created) this many days is a finding",
    ),
    Setting(
        "exempt_tag_key",
        ("EXEMPT_TAG_KEY",),
        tag_key,
        default="access-key-audit:exempt",
        help="users carrying this tag key (in any case, with any value) are skipped",
    ),
    # No flags: report_object reads the same variable, and a flag would let
    # the two disagree. Each target writes its own report, so with several
    # accounts the path must contain {account}.
    Setting(
        "report_path",
        ("REPORT_PATH",),
        report_path,
        placeholders=True,
        unique_per_target=True,
    ),
    # Last, so the session policy's {REPORT_PATH} is the bucket/key it names.
    Setting("report_object", ("REPORT_PATH",), report_object, placeholders=True),
)


@dataclass
class Counts:
    """What the run did so far; the summary line reports it even after a failure.

    ``findings = deactivated + failed + unknown + keys_gone + kept_in_use``
    after an apply that was not stopped (a finding whose key was deleted before its
    UpdateAccessKey counts in ``keys_gone``, as does a key deleted while it
    was judged; a finding the run's own credentials depend on is never
    changed and counts in ``kept_in_use``, in both modes).
    """

    users: int = 0
    exempt_users: int = 0  # near misses of the tag included (each also logs a warning)
    users_gone: int = 0  # listed, then deleted before their keys were read
    keys: int = 0
    keys_gone: int = 0
    findings: int = 0
    kept_in_use: int = 0
    deactivated: int = 0
    failed: int = 0
    unknown: int = 0  # the change's answer was lost and its outcome could not be checked

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def run(
    settings: Settings, job: JobSettings, clients: Clients, counts: Counts, stop: StopRequest
) -> None:
    """Report every finding; with ``--apply`` deactivate each, except those
    this run's own credentials depend on."""
    from . import audit  # noqa: PLC0415 - the work imports AWS code: only once settings are valid

    audit.run(settings, job, clients, counts, stop)

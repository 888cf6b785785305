"""Access key audit: find IAM users' stale access keys; with ``--apply``, deactivate them.

Why it is built this way:
- A finding is an Active key older than ``MAX_KEY_AGE_DAYS``, or unused for
  ``MAX_UNUSED_DAYS`` (a key never used counts from its creation). Inactive
  keys are not findings. A user whose tag key is ``EXEMPT_TAG_KEY`` in any
  case (IAM's tag keys are case-insensitive) is skipped, whatever the tag's
  value; a tag key that only nearly matches (``nearly_matches``: the same
  letters and digits, told apart only by case, width, spaces or
  punctuation, or by letters from outside ASCII in place of some) also
  skips the user, with a warning: a wrong exemption costs a report line, a
  wrong deactivation an outage.
- The audit never deactivates a key that keeps this run going: the key
  that signs it, and the keys behind its credentials (each hop of a
  ``source_profile`` chain, the credentials ``ASSUME_ROLE_ARN`` or a
  fan-out's target role was assumed with), read from the credentials the
  run holds, wherever botocore found them, not from the files again. Such
  a finding is reported as ``kept, in use by this run`` and still counts
  as a finding (exit 7).
- ``find`` only reads; every listing is stop-aware (``stop_aware.pages``).
  ``run`` changes a key only with ``--apply``, and then only to
  ``Inactive`` (``UpdateAccessKey``): reversible, never a delete.
- Every finding is logged, in both modes, and written to ``REPORT_PATH``
  (JSON lines: a local regular file, replaced atomically, or an ``s3://``
  object) with what was done to it and the status it had, so an apply can
  be undone. A dry-run changes nothing in the account, but still writes
  its report. An apply writes the report before its first change, every
  finding ``planned``, and stops there if it cannot (nothing changed); then
  again at the end with what was done, also when it was stopped or failed.
  A forced end leaves the first report; the log's per-key lines, written
  as each call returns, in the report's order, then say what was done.
- A change whose answer was lost (the connection closed, a read timed out,
  a server error) may have been applied: the key's status is read again,
  and if that fails too the key is ``unknown``, counted as possibly
  changed.
- That last write is retried (``REPORT_ATTEMPTS``); if it still fails after
  keys were changed (or may have been), the undo record (every such key:
  account, user, key id, previous status) goes to stderr as JSON lines and
  to the log, and the run ends with ``OutputFailed`` (exit 8): the report
  is stale.
- A user or key deleted while the run goes on (IAM answers NoSuchEntity) is
  skipped and counted (``users_gone``, ``keys_gone``); the audit goes on.
  Credential and network errors on a change end the run at once, access
  denied after a few in a row (``item_errors.ItemErrors``).
- Exit codes: a dry run with findings raises ``FindingsRemain`` (exit 7),
  as does an apply that kept a key in use by the run; an apply that
  deactivated every finding exits 0; a key that could not be deactivated
  is counted ``failed`` (or ``unknown``), the others still go, and the run
  ends with ``PartialFailure`` (exit 5). A report that cannot be written raises
  ``OutputFailed`` (exit 8); a ``REPORT_PATH`` that is not a regular file,
  or whose name does not fit its file system in bytes, is a
  ``ConfigError`` (exit 1), found with the other settings (or, with
  ``{account}`` in it, before that account's audit).
- Secret access keys never appear: no IAM call the job makes returns one.
- IAM is global: ``REGIONAL`` is false, a fan-out runs once per account.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import re
import stat
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .runtime.access import stop_aware, tag_keys
from .runtime.access.item_errors import ItemErrors
from .runtime.outcome.errors import (
    FindingsRemain,
    Interrupted,
    OutputFailed,
    PartialFailure,
    StopRequest,
)
from .runtime.output.log_formats import printable
from .runtime.settings import validate
from .runtime.settings.config import SAMPLE_ACCOUNT, Setting, Settings

if TYPE_CHECKING:
    from botocore.credentials import Credentials
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_sts import STSClient

    from .runtime.access.aws import Clients, Identity

__all__ = [
    "DESCRIPTION",
    "IAM_ACTIONS",
    "REGIONAL",
    "SETTINGS",
    "Counts",
    "Finding",
    "JobSettings",
    "find",
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

log = logging.getLogger(__name__)


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
    """Both names the report is written under (``_temporary_name``, then
    its own) must fit the directory's file system, counted in bytes as the
    file system counts them, so the write at the end cannot fail on it."""
    try:
        limit = os.pathconf(path.parent, "PC_NAME_MAX")
    except (OSError, ValueError):  # the system cannot tell: the common limit
        limit = NAME_MAX_BYTES
    longest = max(len(os.fsencode(name)) for name in (path.name, _temporary_name(path.name)))
    if longest > limit:
        raise validate.InvalidValue(
            f"its file name is {longest} bytes long; the file system there takes at most "
            f"{limit} bytes: {raw!r}"
        )


def _temporary_name(name: str) -> str:
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
    return _kind(mode)


def _kind(mode: int) -> str | None:
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


# What the report says was done to a finding.
WOULD_DEACTIVATE = "would deactivate"  # a dry run
PLANNED = "planned"  # --apply, written before the first change; left so only by a forced end
DEACTIVATED = "deactivated"
FAILED = "failed"
# The call's answer was lost (connection closed, read timeout, an error after
# sending) and the key's status could not be read again: it may be Inactive.
UNKNOWN = "unknown"
GONE = "gone"  # the key was deleted before it could be deactivated
NOT_REACHED = "not reached"  # the run was stopped before this key: still Active
KEPT = "kept, in use by this run"  # this run's own credentials depend on it: never changed

# Why a key is kept (the report's ``kept_because``).
SIGNS_THIS_RUN = "signs this run"
BEHIND_THIS_RUN = "a long-term key behind this run's credentials"
SESSION_USER = (
    "its user signs this run with session credentials, and which of the user's keys "
    "made them cannot be told"
)
# An IAM user's ARN (a path may come before the name); STS answers it for
# the session credentials of a user (GetSessionToken).
_IAM_USER_ARN = re.compile(r"arn:[\w-]+:iam::(\d{12}):user/(?:.*/)?([^/]+)")

# Tag values that read as "no": any value exempts, but such a value gets a warning.
NEGATIVE_VALUES = frozenset({"false", "no", "off", "0"})

# The report rewritten after changes is tried this many times, this far apart:
# after those, the undo record goes to stderr and the log instead (exit 8).
REPORT_ATTEMPTS = 3
REPORT_RETRY_SECONDS = 0.5


@dataclass
class Finding:
    """One stale Active key, and what this run did to it (the report's line)."""

    user: str
    access_key_id: str
    created: datetime
    age_days: int
    last_used: datetime | None
    last_used_service: str | None
    last_used_region: str | None
    unused_days: int
    reasons: list[str]
    previous_status: str = "Active"
    action: str = WOULD_DEACTIVATE
    error: str | None = None
    kept_because: str | None = None

    def log_fields(self) -> dict[str, Any]:
        """The record for a log line: the logs scrub every AKIA/ASIA-shaped
        text (``redact``), so a line names the key by its last 4 characters
        (as the IAM console does) and the report carries the whole id.
        Date-times stay datetimes: the log writes them as it writes ``time``."""
        fields = self.record()
        fields["key_id_suffix"] = fields.pop("access_key_id")[-4:]
        fields["create_date"], fields["last_used"] = self.created, self.last_used
        return fields

    def record(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "access_key_id": self.access_key_id,
            "create_date": self.created.isoformat(),
            "age_days": self.age_days,
            "last_used": self.last_used.isoformat() if self.last_used else None,
            "last_used_service": self.last_used_service,
            "last_used_region": self.last_used_region,
            "unused_days": self.unused_days,
            "reasons": self.reasons,
            "previous_status": self.previous_status,
            "action": self.action,
            **({"error": self.error} if self.error else {}),
            **({"kept_because": self.kept_because} if self.kept_because else {}),
        }


@dataclass
class Report:
    """One line per finding, as it stands when written; written whole."""

    account: str
    checked_at: datetime
    path: str
    findings: list[Finding] = field(default_factory=list)

    def text(self) -> str:
        checked_at = self.checked_at.isoformat()
        return "".join(
            json.dumps(
                {"account": self.account, "checked_at": checked_at, **finding.record()},
                sort_keys=True,
            )
            + "\n"
            for finding in self.findings
        )


@dataclass(frozen=True)
class InUse:
    """The keys (and users) this run's own credentials depend on, each with why.

    ``users``: with an IAM user's session credentials (GetSessionToken)
    signing, STS names the user but not which of its keys made them, so
    every key of that user is kept.
    """

    keys: dict[str, str]
    users: dict[str, str] = field(default_factory=dict)

    def reason(self, user: str, access_key_id: str) -> str | None:
        return self.keys.get(access_key_id) or self.users.get(user)


def in_use(clients: Clients, caller: Identity) -> InUse:
    """Every key in the run's credential chain that the run can identify.

    Deactivating one of them would cut the run off mid-way (every later
    change fails, the report says ``planned`` for keys never touched) and
    lock out whatever else runs on it. The keys are read from the
    credentials the run holds (``credential_chain``), never from the files
    again: whatever botocore took them from (the environment, a profile's
    key, a ``credential_process``, ``BOTO_CONFIG``, ``AWS_CREDENTIAL_FILE``),
    and through every role assumed on the way (``ASSUME_ROLE_ARN``, a
    profile's ``role_arn``, each ``source_profile`` hop, a fan-out's target
    role) down to the credentials it was assumed with. The first signs the
    run; the others are behind it.

    A temporary (``ASIA``) key that is not an assumed role's may be an IAM
    user's session credentials (GetSessionToken): STS, asked with them
    (GetCallerIdentity, which needs no permission), names the user, but
    not which of its keys made them, so every key of that user in the
    audited account is kept.

    SSO, a web identity, a container or instance role, and session
    credentials made elsewhere have no long-term key the run can see: the
    README says so.
    """
    keys: dict[str, str] = {}
    users: dict[str, str] = {}
    for depth, credentials in enumerate(credential_chain(clients.credentials())):
        frozen = credentials.get_frozen_credentials()
        key_id = frozen.access_key or ""
        keys.setdefault(key_id, SIGNS_THIS_RUN if depth == 0 else BEHIND_THIS_RUN)
        if not key_id.startswith("ASIA") or _role_fetcher(credentials) is not None:
            continue  # a long-term key, or a role's session: no user's key made it
        arn = caller.arn if depth == 0 else _caller_arn(clients, frozen)
        match = _IAM_USER_ARN.fullmatch(arn)
        if match and match.group(1) == caller.account:
            users.setdefault(match.group(2), SESSION_USER)
    return InUse(keys, users)


def credential_chain(credentials: Credentials) -> list[Credentials]:
    """The credentials that sign the run, then, while they are an assumed
    role's, the credentials that role was assumed with, and so on: each
    hop as botocore resolved it, down to the first.

    botocore keeps an assumed role's source credentials in the
    ``AssumeRoleCredentialFetcher`` that refreshes it (a profile's
    ``role_arn`` and ``source_profile`` hops, and the run's own
    ``ASSUME_ROLE_ARN`` and target roles, which ``aws.Clients`` assumes
    with the same fetcher). A role whose source cannot be found so is
    logged as a warning: the key behind it is then not protected."""
    chain: list[Credentials] = []
    current: Credentials | None = credentials
    while current is not None and not any(current is seen for seen in chain):
        chain.append(current)
        fetcher = _role_fetcher(current)
        if fetcher is None:
            if getattr(current, "method", None) == "assume-role":
                log.warning(
                    "the credentials this run's role was assumed with cannot be told: "
                    "the long-term key behind them is not protected"
                )
            break
        current = getattr(fetcher, "_source_credentials", None)
    return chain


# How deep to look inside a refresh function for the fetcher: a bound
# method, botocore's MFA wrapper around one, or a closure holding it.
_FETCHER_DEPTH = 4


def _role_fetcher(credentials: Credentials) -> Any:
    """The ``AssumeRoleCredentialFetcher`` that refreshes ``credentials``,
    None when they are not an assumed role's."""
    from botocore.credentials import AssumeRoleCredentialFetcher  # noqa: PLC0415 - loaded by now

    pending: list[Any] = [getattr(credentials, "_refresh_using", None)]
    for _ in range(_FETCHER_DEPTH):
        inside: list[Any] = []
        for item in pending:
            if isinstance(item, AssumeRoleCredentialFetcher):
                return item
            inside.extend(_parts(item))
        pending = inside
    return None


def _parts(item: Any) -> list[Any]:
    """What a refresh function holds: the object of a bound method, the
    function a wrapper calls, the values a closure keeps."""
    parts = [getattr(item, name, None) for name in ("__self__", "_refresh", "func")]
    for cell in getattr(item, "__closure__", None) or ():
        with contextlib.suppress(ValueError):  # a cell not filled in yet
            parts.append(cell.cell_contents)
    return [part for part in parts if part is not None]


def _caller_arn(clients: Clients, frozen: Any) -> str:
    """Who STS says these credentials belong to (GetCallerIdentity needs no
    permission), asked with exactly them, through the run's session (its
    endpoint, timeouts and time bound)."""
    sts: STSClient = clients.session.client(
        "sts",
        config=clients.config,
        aws_access_key_id=frozen.access_key,
        aws_secret_access_key=frozen.secret_key,
        aws_session_token=frozen.token,
    )
    return sts.get_caller_identity()["Arn"]


def find(
    iam: IAMClient,
    job: JobSettings,
    now: datetime,
    counts: Counts,
    *,
    stop: StopRequest,
    keep: InUse,
) -> list[Finding]:
    """Read every user's keys; return the stale Active ones. Reads only;
    a stop is honoured between pages and between users."""
    findings: list[Finding] = []
    for page in stop_aware.pages(iam.get_paginator("list_users").paginate(), stop):
        for user in page.get("Users", []):
            stop.check()
            name = user["UserName"]
            counts.users += 1
            try:
                user_findings = audit_user(iam, name, job, counts, now=now, stop=stop, keep=keep)
            except Exception as error:
                if not _no_such_entity(error):
                    raise
                counts.users_gone += 1  # deleted since ListUsers listed it: nothing to audit
                log.warning("user gone", extra={"user": name, "error": _describe(error)})
                continue
            findings.extend(user_findings)
    counts.findings = len(findings)
    return findings


@dataclass(frozen=True)
class Exemption:
    """The user's tag that exempts it."""

    tag: str  # the user's own tag key, as it is spelt
    value: str
    exact: bool  # the same key as IAM compares keys (in any case); else a near miss


tag_skeleton = tag_keys.skeleton  # the names this job's tests and README use
nearly_matches = tag_keys.nearly_matches


def exemption(iam: IAMClient, user: str, tag: str, stop: StopRequest) -> Exemption | None:
    """The user's exempting tag: a key equal to ``tag`` in any case (IAM
    treats tag keys case-insensitively: a user cannot carry both spellings),
    else a near miss (``nearly_matches``), else None. Any value exempts."""
    wanted = tag.casefold()
    found: Exemption | None = None
    listing = iam.get_paginator("list_user_tags").paginate(UserName=user)
    for page in stop_aware.pages(listing, stop):
        for item in page.get("Tags", []):
            key, value = item.get("Key", ""), item.get("Value", "")
            if key.casefold() == wanted:
                return Exemption(key, value, exact=True)
            if found is None and nearly_matches(key, tag):
                found = Exemption(key, value, exact=False)
    return found


def _log_exemption(user: str, tag: str, exempt: Exemption) -> None:
    fields = {"user": user, "tag": exempt.tag, "exempt_tag_key": tag}
    if not exempt.exact:
        # Keep the key: a wrong exemption costs a report line, a wrong deactivation an outage.
        log.warning("user exempt by a tag that only nearly matches EXEMPT_TAG_KEY", extra=fields)
    elif exempt.value.strip().casefold() in NEGATIVE_VALUES:
        log.warning(
            "user exempt: the tag's value reads as false, but any value exempts",
            extra={**fields, "tag_value": exempt.value},
        )
    else:
        log.info("user exempt", extra=fields)


def audit_user(
    iam: IAMClient,
    name: str,
    job: JobSettings,
    counts: Counts,
    *,
    now: datetime,
    stop: StopRequest,
    keep: InUse,
) -> list[Finding]:
    """One user's stale Active keys; none when the user is exempt. A finding
    the run's own credentials depend on is marked ``KEPT``."""
    max_age, max_unused = timedelta(days=job.max_key_age_days), timedelta(days=job.max_unused_days)
    exempt = exemption(iam, name, job.exempt_tag_key, stop)
    if exempt is not None:
        counts.exempt_users += 1
        _log_exemption(name, job.exempt_tag_key, exempt)
        return []
    findings: list[Finding] = []
    listing = iam.get_paginator("list_access_keys").paginate(UserName=name)
    for keys in stop_aware.pages(listing, stop):
        for key in keys.get("AccessKeyMetadata", []):
            counts.keys += 1
            if key.get("Status") != "Active":
                continue
            try:
                finding = judge(iam, name, key, now=now, max_age=max_age, max_unused=max_unused)
            except Exception as error:
                if not _no_such_entity(error):
                    raise
                counts.keys_gone += 1
                log.warning(
                    "key gone",
                    extra={"user": name, "key_id_suffix": key.get("AccessKeyId", "")[-4:]},
                )
                continue
            if finding is None:
                continue
            reason = keep.reason(name, finding.access_key_id)
            if reason is not None:
                finding.action, finding.kept_because = KEPT, reason
                counts.kept_in_use += 1
            findings.append(finding)
    return findings


def judge(
    iam: IAMClient,
    user: str,
    key: Any,
    *,
    now: datetime,
    max_age: timedelta,
    max_unused: timedelta,
) -> Finding | None:
    """A Finding when the key is too old or unused too long, else None.

    Ages are never negative: "now" is taken once, at the start, and a key
    used since (this run's own, say) or made since is 0 days old or idle."""
    key_id = key["AccessKeyId"]
    created = _utc(key["CreateDate"])
    used = iam.get_access_key_last_used(AccessKeyId=key_id).get("AccessKeyLastUsed", {})
    last_used_date = used.get("LastUsedDate")
    last_used = _utc(last_used_date) if last_used_date else None
    age = max(now - created, timedelta(0))
    idle = max(now - (last_used or created), timedelta(0))
    checks = (("age", age > max_age), ("unused", idle > max_unused))
    reasons = [reason for reason, stale in checks if stale]
    if not reasons:
        return None
    return Finding(
        user=user,
        access_key_id=key_id,
        created=created,
        age_days=age.days,
        last_used=last_used,
        last_used_service=_known(used.get("ServiceName")),
        last_used_region=_known(used.get("Region")),
        unused_days=idle.days,
        reasons=reasons,
    )


def run(
    settings: Settings, job: JobSettings, clients: Clients, counts: Counts, stop: StopRequest
) -> None:
    """Report every finding; with ``--apply`` deactivate each, except those
    this run's own credentials depend on.

    The audit only reads; if it fails, nothing was changed and no report is
    written (an earlier one stays). A dry run changes nothing in the
    account and writes the report once, after the audit. An apply writes
    it before the first change (every finding ``planned``: if that write
    fails, nothing is changed) and again after the last, with what was
    done, also when a change failed for the whole account or a stop came;
    if that write fails, the undo record goes to stderr and the log (see
    ``tell_undo_record``). A forced end (a second signal, a call past its
    time bound) leaves the first one, and the log's per-key lines say which
    keys were changed."""
    now = datetime.now(UTC)  # one "now" for the whole run
    iam: IAMClient = clients.session.client("iam", config=clients.config)
    log.info(
        "audit started",
        extra={
            "max_key_age_days": job.max_key_age_days,
            "max_unused_days": job.max_unused_days,
            "exempt_tag_key": job.exempt_tag_key,
            "dry_run": settings.dry_run,
        },
    )
    caller = clients.identity()
    keep = in_use(clients, caller)
    log.info(
        "keys this run depends on",
        extra={
            "key_id_suffixes": sorted(key_id[-4:] for key_id in keep.keys),
            "users": sorted(keep.users),
        },
    )
    findings = find(iam, job, now, counts, stop=stop, keep=keep)
    report = Report(caller.account, now, job.report_path or "", findings)
    if settings.dry_run:
        for finding in findings:
            _log_finding(finding)
        write_report(clients, report, final=False)
    else:
        apply(iam, clients, report, counts, stop)
    log.info("audit done", extra=counts.as_dict())
    if counts.failed or counts.unknown:
        raise PartialFailure(
            f"{counts.failed} access key(s) could not be deactivated"
            + (f", {counts.unknown} may or may not have been" if counts.unknown else "")
        )
    remaining = counts.findings if settings.dry_run else counts.kept_in_use
    if remaining:
        raise FindingsRemain(remaining)


def apply(
    iam: IAMClient, clients: Clients, report: Report, counts: Counts, stop: StopRequest
) -> None:
    """Deactivate every finding not kept, one key at a time, between two reports."""
    changing = [finding for finding in report.findings if finding.action != KEPT]
    for finding in report.findings:
        if finding.action == KEPT:
            _log_finding(finding)
    for finding in changing:
        finding.action = PLANNED
    if report.findings:
        write_report(clients, report, final=False)  # raises: nothing was changed
    errors = ItemErrors()
    try:
        for finding in changing:
            stop.check()  # a signal stops between keys, never halfway through one
            deactivate(iam, finding, counts, errors)
    except BaseException as ended:
        _mark_not_reached(report)
        _rewrite(clients, report, ended)
        raise
    _rewrite(clients, report, None)


def _rewrite(clients: Clients, report: Report, ended: BaseException | None) -> None:
    """Rewrite the report with what was done. If it cannot be, and keys
    were changed, the undo record goes to stderr and the log, and the run
    ends in exit 8 (``OutputFailed``): unless a stop ended the loop, whose
    130/143 outranks it. With nothing changed, the failure that ended the
    loop (expired credentials, say) is the one told."""
    try:
        write_report(clients, report, final=True)
    except OutputFailed as failure:
        if failure.changes_made:
            tell_undo_record(report, failure)
        stopped = ended is not None and (
            isinstance(ended, Interrupted) or not isinstance(ended, Exception)
        )
        if ended is None or (failure.changes_made and not stopped):
            if ended is not None:
                log.warning("changes ended early", extra={"error": _describe(ended)})
            raise
        log.warning(
            "report not rewritten; it still lists the keys as planned",
            extra={"report": report.path, "error": str(failure)},
        )


def _mark_not_reached(report: Report) -> None:
    for finding in report.findings:
        if finding.action == PLANNED:
            finding.action = NOT_REACHED


def deactivate(iam: IAMClient, finding: Finding, counts: Counts, errors: ItemErrors) -> None:
    """Set the key Inactive (reversible: UpdateAccessKey back to Active).

    A failure about this key is counted and the run goes on; one about the
    account (expired credentials, no network, access denied again and
    again) is raised by ``errors`` after the key is counted and logged.

    An error that may have come after IAM applied the change (``_may_have_applied``:
    the connection closed or a read timed out, a server error) is checked:
    the key's status is read again (ListAccessKeys). Inactive now, it was
    deactivated; still Active, the call failed; if it cannot be read, the
    outcome is ``unknown`` and the key counts as possibly changed (the undo
    record names it). Any other exception leaves the key ``unknown`` too."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - loaded by now

    try:
        iam.update_access_key(
            UserName=finding.user, AccessKeyId=finding.access_key_id, Status="Inactive"
        )
    except (ClientError, BotoCoreError) as error:
        finding.error = _describe(error)
        status = _status_now(iam, finding) if _may_have_applied(error) else "Active"
        if status == "Inactive":  # applied: only the answer was lost
            _deactivated(finding, counts, errors)
            return
        if status == GONE or _no_such_entity(error):  # deleted since it was listed
            counts.keys_gone += 1
            finding.action = GONE
            errors.succeeded()  # IAM answered about this key: the credentials work
            _log_finding(finding)
            return
        if status == UNKNOWN:
            counts.unknown += 1
            finding.action = UNKNOWN
        else:
            counts.failed += 1
            finding.action = FAILED
        _log_finding(finding)
        errors.failed(error)  # raises when the error is about the account, not this key
        return
    except BaseException as error:
        counts.unknown += 1  # not an AWS error: the change may have been made before it
        finding.action, finding.error = UNKNOWN, _describe(error)
        _log_finding(finding)
        raise
    _deactivated(finding, counts, errors)


def _deactivated(finding: Finding, counts: Counts, errors: ItemErrors) -> None:
    counts.deactivated += 1
    finding.action = DEACTIVATED
    errors.succeeded()
    _log_finding(finding)


def _may_have_applied(error: BaseException) -> bool:
    """Whether the request may have reached IAM and been applied although
    the call failed: the connection closed or a read timed out after it was
    sent (botocore's ``HTTPClientError`` family), or IAM answered with a
    server error. Failing to connect at all, and IAM's own refusals (4xx),
    change nothing."""
    from botocore.exceptions import HTTPClientError  # noqa: PLC0415 - loaded by now

    if isinstance(error, HTTPClientError):
        return True
    response = getattr(error, "response", None)
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") if response else None
    return isinstance(status, int) and status >= 500


def _status_now(iam: IAMClient, finding: Finding) -> str:
    """The key's status as IAM lists it now, ``GONE`` if it is no longer
    listed, ``UNKNOWN`` if it cannot be read (logged)."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - loaded by now

    try:
        for page in iam.get_paginator("list_access_keys").paginate(UserName=finding.user):
            for key in page.get("AccessKeyMetadata", []):
                if key.get("AccessKeyId") == finding.access_key_id:
                    return str(key.get("Status", UNKNOWN))
    except (ClientError, BotoCoreError) as error:
        if _no_such_entity(error):
            return GONE
        log.warning(
            "key status could not be checked",
            extra={
                "user": finding.user,
                "key_id_suffix": finding.access_key_id[-4:],
                "error": _describe(error),
            },
        )
        return UNKNOWN
    return GONE


def _log_finding(finding: Finding) -> None:
    quiet = finding.action in (WOULD_DEACTIVATE, DEACTIVATED)
    log.log(logging.INFO if quiet else logging.WARNING, finding.action, extra=finding.log_fields())


def write_report(clients: Clients, report: Report, *, final: bool) -> None:
    """Write the whole report, if REPORT_PATH is set: to S3 in one PutObject,
    or to a local regular file replaced whole (``_write_file``), so no
    reader ever sees half a report.

    A write that fails raises ``OutputFailed`` (exit 8), saying whether keys
    were changed. The ``final`` write (an apply's, after its changes) is
    tried ``REPORT_ATTEMPTS`` times first: it is the only record of what
    was changed."""
    if not report.path:
        return
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - loaded by now

    changes_made = bool(_changed(report))
    attempts = REPORT_ATTEMPTS if final else 1
    for attempt in range(1, attempts + 1):
        try:
            _write(clients, report.path, report.text())
        except (OSError, ClientError, BotoCoreError) as error:
            cause = _cause(error)
            log.warning(
                "report not written",
                extra={"report": report.path, "attempt": attempt, "error": cause},
            )
            if attempt < attempts:
                time.sleep(REPORT_RETRY_SECONDS)
                continue
            reason = cause if attempts == 1 else f"{cause}; tried {attempts} times"
            if changes_made:
                reason += "; the report there is stale: the undo record is on stderr and in the log"
            raise ReportNotWritten(
                f"REPORT_PATH {report.path!r}",
                reason,
                changes_made=changes_made,
                certain=any(finding.action == DEACTIVATED for finding in report.findings),
            ) from error
        log.info("report written", extra={"report": report.path, "lines": len(report.findings)})
        return


class ReportNotWritten(OutputFailed):
    """``OutputFailed`` for the report, saying "changes may have been made"
    when the only keys possibly changed are ``unknown`` ones."""

    def __init__(self, what: str, reason: str, *, changes_made: bool, certain: bool) -> None:
        super().__init__(what, reason, changes_made=changes_made)
        if changes_made and not certain:
            self.args = (f"{what} could not be written ({reason}); changes may have been made",)


def _changed(report: Report) -> list[Finding]:
    """The keys this run changed, or may have changed: what an undo needs."""
    return [finding for finding in report.findings if finding.action in (DEACTIVATED, UNKNOWN)]


def tell_undo_record(report: Report, failure: OutputFailed) -> None:
    """The fallback when the report cannot be rewritten after changes: what
    an undo needs must still reach the operator. On stderr, one line that
    says changes were made (or may have been, when the only ones are
    ``unknown``) and the report is stale, then one JSON line per key
    changed or possibly changed (account, user, the whole key id, previous
    status, action); in the log, one ``undo record`` line per key (named,
    as every log line names a key, by its last 4 characters)."""
    changed = _changed(report)
    for finding in changed:
        log.error(
            "undo record",
            extra={
                "user": finding.user,
                "key_id_suffix": finding.access_key_id[-4:],
                "previous_status": finding.previous_status,
                "action": finding.action,
            },
        )
    unknown = sum(finding.action == UNKNOWN for finding in changed)
    header = (
        f"error: {failure}. Undo record: {len(changed) - unknown} key(s) changed"
        + (f", {unknown} more may have been (action unknown)" if unknown else "")
        + ", one JSON line each below; set each key back to its previous_status."
    )
    records = (
        json.dumps(
            {
                "undo_record": True,
                "account": report.account,
                "checked_at": report.checked_at.isoformat(),
                "user": finding.user,
                "access_key_id": finding.access_key_id,
                "previous_status": finding.previous_status,
                "action": finding.action,
            },
            sort_keys=True,
        )
        for finding in changed
    )
    problem = "there is no standard error stream"
    if sys.stderr is not None:
        try:
            sys.stderr.write("".join(line + "\n" for line in (printable(header), *records)))
            sys.stderr.flush()
        except (OSError, ValueError) as error:
            problem = _describe(error)
        else:
            return
    log.error("undo record not written to stderr", extra={"error": problem})


def _write(clients: Clients, path: str, text: str) -> None:
    location = s3_location(path)
    if location is not None:
        bucket, key = location
        clients.s3.put_object(
            Bucket=bucket, Key=key, Body=text.encode(), ContentType="application/x-ndjson"
        )
        return
    _write_file(Path(path), text)


class _NotRegularFile(OSError):
    """REPORT_PATH turned into something other than a regular file during the run."""


def _write_file(target: Path, text: str) -> None:
    """Replace ``target`` whole: write a new file in its directory, then
    rename it over the old one.

    Every step is relative to the directory, opened once: the new file is
    created exclusively (``O_EXCL | O_NOFOLLOW``: never through a link), and
    just before the rename ``target`` is checked again, so a device, pipe,
    socket or symbolic link that took its place during the run is refused,
    never replaced (the rename itself never follows a link either). An old
    report's owner, group and permission bits are kept (``_keep_owner``;
    not set-user-ID, set-group-ID or sticky: a report is not a program); a
    new one is ``0600``, the run's own."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    directory = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        old = _replaceable(target.name, directory)
        temporary = _temporary_name(target.name)
        handle = os.open(temporary, flags, 0o600, dir_fd=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
                stream.flush()
                if old is not None:
                    _keep_owner(stream.fileno(), old, target)
                    os.fchmod(stream.fileno(), stat.S_IMODE(old.st_mode) & 0o777)
                os.fsync(stream.fileno())
            _replaceable(target.name, directory)
            os.replace(temporary, target.name, src_dir_fd=directory, dst_dir_fd=directory)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=directory)
            raise
    finally:
        os.close(directory)


def _keep_owner(handle: int, old: os.stat_result, target: Path) -> None:
    """Give the new report the old one's owner and group (a run as root
    replacing a user's report leaves it that user's). Only root may give a
    file to another user: if the owner cannot be kept, the group alone is
    tried, and a ``report owner not kept`` warning says what was kept; the
    report is replaced all the same."""
    try:
        os.fchown(handle, old.st_uid, old.st_gid)
    except OSError as error:
        problem = error.strerror or str(error)
    else:
        return
    group_kept = True
    try:
        os.fchown(handle, -1, old.st_gid)
    except OSError:
        group_kept = False
    log.warning(
        "report owner not kept",
        extra={
            "report": str(target),
            "owner": old.st_uid,
            "group": old.st_gid,
            "group_kept": group_kept,
            "error": problem,
        },
    )


def _replaceable(name: str, directory: int) -> os.stat_result | None:
    """The report ``name`` in ``directory`` as it is now, None if there is
    none yet; raises if it is not a regular file."""
    try:
        found = os.stat(name, dir_fd=directory, follow_symlinks=False)
    except FileNotFoundError:
        return None
    kind = _kind(found.st_mode)
    if kind is not None:
        raise _NotRegularFile(f"it is {kind} now, not a regular file: refusing to replace it")
    return found


def _cause(error: BaseException) -> str:
    if isinstance(error, OSError):
        return error.strerror or str(error)
    if _error_code(error) == "NoSuchBucket":
        return "the bucket does not exist"
    return _describe(error)


def _error_code(error: BaseException) -> str:
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def _no_such_entity(error: BaseException) -> bool:
    """IAM's answer for a user or key that no longer exists."""
    return _error_code(error) == "NoSuchEntity"


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _utc(value: datetime | str) -> datetime:
    from .runtime.access.aws import parse_timestamp  # noqa: PLC0415 - boto3 is loaded by now

    moment = value if isinstance(value, datetime) else parse_timestamp(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _known(value: str | None) -> str | None:
    """IAM answers "N/A" for a key never used."""
    return None if value in (None, "", "N/A") else value

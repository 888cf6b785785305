"""Access key audit: find IAM users' stale access keys; with ``--apply``, deactivate them.

Why it is built this way:
- A finding is an Active key older than ``MAX_KEY_AGE_DAYS``, or unused for
  ``MAX_UNUSED_DAYS`` (a key never used counts from its creation). Inactive
  keys are not findings; users tagged ``EXEMPT_TAG_KEY`` are skipped.
- ``find`` only reads. ``run`` changes a key only with ``--apply``, and then
  only to ``Inactive`` (``UpdateAccessKey``): reversible, never a delete.
- Every finding is logged, in both modes, and written to ``REPORT_PATH``
  (JSON lines: a local file, replaced atomically, or an ``s3://`` object)
  with what was done to it and the status it had, so an apply can be undone.
  An apply writes the report before its first change, every finding
  ``planned``, and stops there if it cannot (nothing changed); then again
  at the end with what was done. A forced end leaves the first report.
- A user or key deleted while the run goes on (IAM answers NoSuchEntity) is
  skipped and counted (``users_gone``, ``keys_gone``); the audit goes on.
- Exit codes: a dry run with findings raises ``FindingsRemain`` (exit 7);
  an apply that deactivated every finding exits 0; a key that could not be
  deactivated is counted ``failed``, the others still go, and the run ends
  with ``PartialFailure`` (exit 5). A report that cannot be written is a
  ``ConfigError`` (exit 1) naming REPORT_PATH.
- Secret access keys never appear: no IAM call the job makes returns one.
- IAM is global: ``REGIONAL`` is false, a fan-out runs once per account.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import tempfile
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import validate
from .config import SAMPLE_ACCOUNT, Setting, Settings
from .errors import ConfigError, FindingsRemain, PartialFailure, StopRequest

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

    from .aws import Clients

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
    if any(len(part.encode()) > NAME_MAX_BYTES for part in path.parts):
        raise validate.InvalidValue(
            f"has a file or directory name longer than {NAME_MAX_BYTES} bytes: {raw!r}"
        )
    try:
        if path.is_dir():
            raise validate.InvalidValue(f"is a directory, expected a file path: {raw!r}")
        # With {account} in the directory, load checks the value with a sample
        # account; the real directory is checked per target (config.for_target).
        sample = SAMPLE_ACCOUNT in str(path.parent)
        if not sample and not path.parent.is_dir():
            raise validate.InvalidValue(f"directory does not exist: {str(path.parent)!r}")
    except OSError as error:  # a name too long for the file system, say
        raise validate.InvalidValue(
            f"cannot be used as a local path ({error.strerror or error}): {raw!r}"
        ) from None
    return value


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
        help="users carrying this tag (any value) are skipped",
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

    ``findings = deactivated + failed + keys_gone`` after an apply that was
    not stopped (a finding whose key was deleted before its UpdateAccessKey
    counts in ``keys_gone``, as does a key deleted while it was judged).
    """

    users: int = 0
    exempt_users: int = 0
    users_gone: int = 0  # listed, then deleted before their keys were read
    keys: int = 0
    keys_gone: int = 0
    findings: int = 0
    deactivated: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


# What the report says was done to a finding.
WOULD_DEACTIVATE = "would deactivate"  # a dry run
PLANNED = "planned"  # --apply, written before the first change; left so only by a forced end
DEACTIVATED = "deactivated"
FAILED = "failed"
GONE = "gone"  # the key was deleted before it could be deactivated
NOT_REACHED = "not reached"  # the run was stopped before this key: still Active


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


def find(
    iam: IAMClient, job: JobSettings, now: datetime, counts: Counts, stop: StopRequest
) -> list[Finding]:
    """Read every user's keys; return the stale Active ones. Reads only."""
    findings: list[Finding] = []
    for page in iam.get_paginator("list_users").paginate():
        for user in page.get("Users", []):
            stop.check()
            name = user["UserName"]
            counts.users += 1
            try:
                user_findings = audit_user(iam, name, job, counts, now)
            except Exception as error:
                if not _no_such_entity(error):
                    raise
                counts.users_gone += 1  # deleted since ListUsers listed it: nothing to audit
                log.warning("user gone", extra={"user": name, "error": _describe(error)})
                continue
            findings.extend(user_findings)
    counts.findings = len(findings)
    return findings


def is_exempt(iam: IAMClient, user: str, tag: str) -> bool:
    for page in iam.get_paginator("list_user_tags").paginate(UserName=user):
        if any(item.get("Key") == tag for item in page.get("Tags", [])):
            return True
    return False


def audit_user(
    iam: IAMClient, name: str, job: JobSettings, counts: Counts, now: datetime
) -> list[Finding]:
    """One user's stale Active keys; none when the user is exempt."""
    max_age, max_unused = timedelta(days=job.max_key_age_days), timedelta(days=job.max_unused_days)
    if is_exempt(iam, name, job.exempt_tag_key):
        counts.exempt_users += 1
        log.info("user exempt", extra={"user": name, "tag": job.exempt_tag_key})
        return []
    findings: list[Finding] = []
    for keys in iam.get_paginator("list_access_keys").paginate(UserName=name):
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
                    extra={"user": name, "key_id_suffix": key["AccessKeyId"][-4:]},
                )
                continue
            if finding is not None:
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
    """A Finding when the key is too old or unused too long, else None."""
    key_id = key["AccessKeyId"]
    created = _utc(key["CreateDate"])
    used = iam.get_access_key_last_used(AccessKeyId=key_id).get("AccessKeyLastUsed", {})
    last_used = _utc(used["LastUsedDate"]) if used.get("LastUsedDate") else None
    age, idle = now - created, now - (last_used or created)
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
    """Report every finding; with ``--apply`` deactivate each.

    The audit only reads; if it fails, nothing was changed and no report is
    written (an earlier one stays). A dry run writes the report once, after
    the audit. An apply writes it before the first change (every finding
    ``planned``: if that write fails, nothing is changed) and again after
    the last, with what was done; a forced end (a second signal, a call past
    its time bound) leaves the first one, and the log's per-key lines say
    which keys were changed."""
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
    findings = find(iam, job, now, counts, stop)
    report = Report(clients.identity().account, now, job.report_path or "", findings)
    if settings.dry_run:
        for finding in findings:
            log.info(finding.action, extra=finding.log_fields())
        write_report(clients, report, changed=False)
    else:
        apply(iam, clients, report, counts, stop)
    log.info("audit done", extra=counts.as_dict())
    if counts.failed:
        raise PartialFailure(f"{counts.failed} access key(s) could not be deactivated")
    if settings.dry_run and counts.findings:
        raise FindingsRemain(counts.findings)


def apply(
    iam: IAMClient, clients: Clients, report: Report, counts: Counts, stop: StopRequest
) -> None:
    """Deactivate every finding, one key at a time, between two reports."""
    for finding in report.findings:
        finding.action = PLANNED
    if report.findings:
        write_report(clients, report, changed=False)  # raises: nothing was changed
    try:
        for finding in report.findings:
            stop.check()  # a signal stops between keys, never halfway through one
            deactivate(iam, finding, counts)
            level = logging.INFO if finding.action == DEACTIVATED else logging.WARNING
            log.log(level, finding.action, extra=finding.log_fields())
    except BaseException:
        _mark_not_reached(report)
        try:
            write_report(clients, report, changed=True)
        except Exception as error:  # noqa: BLE001 - the failure that stopped the run is the one told
            log.warning(
                "report not rewritten; it still lists the keys as planned",
                extra={"report": report.path, "error": _describe(error)},
            )
        raise
    write_report(clients, report, changed=True)


def _mark_not_reached(report: Report) -> None:
    for finding in report.findings:
        if finding.action == PLANNED:
            finding.action = NOT_REACHED


def deactivate(iam: IAMClient, finding: Finding, counts: Counts) -> None:
    """Set the key Inactive (reversible: UpdateAccessKey back to Active)."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - loaded by now

    try:
        iam.update_access_key(
            UserName=finding.user, AccessKeyId=finding.access_key_id, Status="Inactive"
        )
    except (ClientError, BotoCoreError) as error:
        if _no_such_entity(error):  # deleted since it was listed: nothing left to deactivate
            counts.keys_gone += 1
            finding.action, finding.error = GONE, _describe(error)
            return
        counts.failed += 1
        finding.action, finding.error = FAILED, _describe(error)
        return
    counts.deactivated += 1
    finding.action = DEACTIVATED


def write_report(clients: Clients, report: Report, *, changed: bool) -> None:
    """Write the whole report, if REPORT_PATH is set: to S3 in one PutObject,
    or to a local file through a temporary file in the same directory and
    ``os.replace``, so no reader ever sees half a report.

    A destination that cannot be written is a setting problem (``ConfigError``,
    exit 1): a local file's OS error, or a missing bucket. Other AWS errors
    (access denied, say) keep their own exit code."""
    if not report.path:
        return
    from botocore.exceptions import ClientError  # noqa: PLC0415 - loaded by now

    when = "some keys may have been changed" if changed else "nothing was changed"
    try:
        _write(clients, report.path, report.text())
    except OSError as error:
        raise ConfigError(
            [f"REPORT_PATH: cannot write {report.path!r}: {error.strerror or error} ({when})"]
        ) from error
    except ClientError as error:
        if _error_code(error) == "NoSuchBucket":
            raise ConfigError(
                [f"REPORT_PATH: the bucket of {report.path!r} does not exist ({when})"]
            ) from error
        # Access denied, say: its own exit code; this line names the report.
        log.warning("report not written", extra={"report": report.path, "changed": changed})
        raise
    log.info("report written", extra={"report": report.path, "lines": len(report.findings)})


def _write(clients: Clients, path: str, text: str) -> None:
    location = s3_location(path)
    if location is not None:
        bucket, key = location
        clients.s3.put_object(
            Bucket=bucket, Key=key, Body=text.encode(), ContentType="application/x-ndjson"
        )
        return
    target = Path(path)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name[:100]}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _error_code(error: BaseException) -> str:
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def _no_such_entity(error: BaseException) -> bool:
    """IAM's answer for a user or key that no longer exists."""
    return _error_code(error) == "NoSuchEntity"


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _utc(value: datetime | str) -> datetime:
    from .aws import parse_timestamp  # noqa: PLC0415 - boto3 is loaded by now

    moment = value if isinstance(value, datetime) else parse_timestamp(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _known(value: str | None) -> str | None:
    """IAM answers "N/A" for a key never used."""
    return None if value in (None, "", "N/A") else value

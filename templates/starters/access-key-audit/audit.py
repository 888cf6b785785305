"""The audit: every IAM user's access keys read, the stale ones found and,
with ``--apply``, deactivated.

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
- A finding whose key keeps this run going (``own_keys``) is never
  changed: it is reported as ``kept, in use by this run`` and still counts
  as a finding (exit 7).
- ``find`` only reads; every listing is stop-aware (``stop_aware.pages``).
  ``run`` changes a key only with ``--apply``, and then only to
  ``Inactive`` (``UpdateAccessKey``): reversible, never a delete.
- Every finding is logged, in both modes, and written to ``REPORT_PATH``
  (``reporting``) with what was done to it and the status it had, so an
  apply can be undone. A dry-run changes nothing in the account, but still
  writes its report. An apply writes the report before its first change,
  every finding ``planned``, and stops there if it cannot (nothing
  changed); then again at the end with what was done, also when it was
  stopped or failed. A forced end leaves the first report; the log's
  per-key lines, written as each call returns, in the report's order, then
  say what was done.
- A change whose answer was lost (the connection closed, a read timed out,
  a server error) may have been applied: the key's status is read again,
  and if that fails too the key is ``unknown``, counted as possibly
  changed.
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
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .findings import (
    DEACTIVATED,
    FAILED,
    GONE,
    KEPT,
    NOT_REACHED,
    PLANNED,
    UNKNOWN,
    WOULD_DEACTIVATE,
    Finding,
    Report,
    describe,
    error_code,
)
from .own_keys import InUse, in_use
from .reporting import tell_undo_record, write_report
from .runtime.access import stop_aware, tag_keys
from .runtime.access.item_errors import ItemErrors
from .runtime.outcome.errors import (
    FindingsRemain,
    Interrupted,
    OutputFailed,
    PartialFailure,
    StopRequest,
)

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

    from .job import Counts, JobSettings
    from .runtime.access.aws import Clients
    from .runtime.settings.config import Settings

__all__ = ["Exemption", "apply", "audit_user", "deactivate", "exemption", "find", "judge", "run"]

log = logging.getLogger(__name__)

# Tag values that read as "no": any value exempts, but such a value gets a warning.
NEGATIVE_VALUES = frozenset({"false", "no", "off", "0"})


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
                log.warning("user gone", extra={"user": name, "error": describe(error)})
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


tag_skeleton = tag_keys.skeleton  # the names this job's tests and docs/job.md use
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
                log.warning("changes ended early", extra={"error": describe(ended)})
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
        finding.error = describe(error)
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
        finding.action, finding.error = UNKNOWN, describe(error)
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
                "error": describe(error),
            },
        )
        return UNKNOWN
    return GONE


def _log_finding(finding: Finding) -> None:
    quiet = finding.action in (WOULD_DEACTIVATE, DEACTIVATED)
    log.log(logging.INFO if quiet else logging.WARNING, finding.action, extra=finding.log_fields())


def _no_such_entity(error: BaseException) -> bool:
    """IAM's answer for a user or key that no longer exists."""
    return error_code(error) == "NoSuchEntity"


def _utc(value: datetime | str) -> datetime:
    from .runtime.access.aws import parse_timestamp  # noqa: PLC0415 - boto3 is loaded by now

    moment = value if isinstance(value, datetime) else parse_timestamp(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _known(value: str | None) -> str | None:
    """IAM answers "N/A" for a key never used."""
    return None if value in (None, "", "N/A") else value

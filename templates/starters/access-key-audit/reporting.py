"""The audit's report, written whole to ``REPORT_PATH``, and the undo
record when it cannot be.

Why it is built this way:
- The report is JSON lines, one per finding (``findings.Report``): a local
  regular file, replaced atomically (``_write_file``: never through a
  link, never replacing a device, pipe or link that took its place), or an
  ``s3://`` object written in one PutObject. No reader ever sees half a
  report.
- The last write, an apply's after its changes, is retried
  (``REPORT_ATTEMPTS``); if it still fails after keys were changed (or may
  have been), the undo record (every such key: account, user, key id,
  previous status) goes to stderr as JSON lines and to the log, and the
  run ends with ``OutputFailed`` (exit 8): the report is stale.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .findings import DEACTIVATED, UNKNOWN, Finding, Report, describe, error_code
from .job import file_kind, s3_location, temporary_name
from .runtime.outcome.errors import OutputFailed
from .runtime.output.log_formats import printable

if TYPE_CHECKING:
    from .runtime.access.aws import Clients

__all__ = [
    "REPORT_ATTEMPTS",
    "REPORT_RETRY_SECONDS",
    "ReportNotWritten",
    "tell_undo_record",
    "write_report",
]

log = logging.getLogger(__name__)

# The report rewritten after changes is tried this many times, this far apart:
# after those, the undo record goes to stderr and the log instead (exit 8).
REPORT_ATTEMPTS = 3
REPORT_RETRY_SECONDS = 0.5


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
            problem = describe(error)
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
        temporary = temporary_name(target.name)
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
    kind = file_kind(found.st_mode)
    if kind is not None:
        raise _NotRegularFile(f"it is {kind} now, not a regular file: refusing to replace it")
    return found


def _cause(error: BaseException) -> str:
    if isinstance(error, OSError):
        return error.strerror or str(error)
    if error_code(error) == "NoSuchBucket":
        return "the bucket does not exist"
    return describe(error)

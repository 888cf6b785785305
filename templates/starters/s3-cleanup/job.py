"""S3 cleanup: delete objects under a prefix once they pass a retention age.

Why it is built this way:
- It never creates anything: a missing bucket is an error that names it
  (exit 5), in dry-run too, so a typo in the bucket name changes nothing.
- Idempotent: deleting what is already gone changes nothing, so a second
  apply run finds nothing left to do.
- Dry-run sends no write call at all: it lists and reports, nothing more.
- Fewest calls: listing uses full 1,000-key pages and deletion uses
  ``DeleteObjects`` batches of up to 1,000 keys, never one call per object.
- Deleting overlaps listing: full batches go to a small worker pool while the
  next page is fetched, and at most ``MAX_WORKERS`` batches are in flight, so
  memory stays flat however many objects there are.
- Nothing changed after it was listed is deleted: each key carries the ETag
  it was listed with, and S3 refuses (``PreconditionFailed``) to delete an
  object rewritten since; such keys are counted ``skipped``.
- Failures are counted, never hidden, and never stop the rest: keys S3
  reports with a transient error are retried; a batch whose call times out
  is sent again once, as two halves; a batch that still fails is settled by
  one listing of its key range (what is gone counts as deleted, what is
  there as failed) and the run goes on. A failure ends the run with exit 5
  after the rest is done. Only refused or expired credentials (HTTP
  401/403, or a credentials error code such as ``ExpiredToken``, whatever
  its status) or a missing bucket stop it: every later call would fail the
  same way. So does a network that cannot be reached (refused, reset,
  connect timeout), once the batch that met it is settled: exit 3.
- A stop request ends every listing before its next page
  (``stop_aware.pages``), the one that settles a failed batch too, and the
  deleting before its next batch.
- Answers are checked: a listing item without a key, date or ETag, or a
  delete answer naming a key that was never sent, is an ``AwsError`` (exit
  5), never a crash or an impossible count.
- A key with a character XML 1.0 cannot carry (control characters other
  than tab, LF and CR) cannot go in a ``DeleteObjects`` body; it goes alone
  through ``DeleteObject``, whose key travels in the URL.
- ``--include-versions`` ages versions as S3 lifecycle does: a noncurrent
  version from the moment it was replaced. See ``VersionAges``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import logs, stop_aware, validate
from .config import Setting, Settings
from .errors import AwsError, Interrupted, OutOfTime, OutputFailed, PartialFailure, StopRequest
from .exit_codes import CREDENTIAL_ERROR_CODES

if TYPE_CHECKING:
    from concurrent.futures import Future

    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

    from .aws import Clients

__all__ = ["DESCRIPTION", "IAM_ACTIONS", "REGIONAL", "SETTINGS", "Counts", "JobSettings", "run"]

DESCRIPTION = "Delete objects under S3_PREFIX in S3_BUCKET that are older than RETENTION_DAYS."
DELETE_BATCH_LIMIT = 1000  # the most keys DeleteObjects accepts in one call
LIST_PAGE_SIZE = 1000  # the largest page ListObjectsV2 returns
# Per-key DeleteObjects errors worth another try; AccessDenied and the like are not.
RETRYABLE_KEY_ERRORS = frozenset(
    {"InternalError", "SlowDown", "ServiceUnavailable", "RequestTimeout", "OperationAborted"}
)
CHANGED_SINCE_LISTED = "PreconditionFailed"  # the ETag no longer matches: counted skipped
ALREADY_GONE = "NoSuchKey"  # a conditional delete of a key someone else removed
KEY_ATTEMPTS = 3
KEY_RETRY_BASE_SECONDS = 0.2
SETTLE_PAGES = 5  # list pages read at most to learn what a failed batch did
FAILED_KEYS_SAMPLE = 10  # keys named in the one line about a failed batch
# Characters XML 1.0 cannot carry: S3 refuses a DeleteObjects body with them.
XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# Every IAM action the job may use, with the resource it applies to, in one
# place: it renders the AssumeRole session policy (filled in with the run's
# own bucket, prefix and topic), iam-policy.json, and the test that fails
# when the job calls an API not covered here. A grant whose resource names an
# unset setting (no topic) is not given. (sts:GetCallerIdentity needs no
# permission.) The deploy stacks grant the same (tests/test_deploy.py).
BUCKET_ARN = "arn:{partition}:s3:::{S3_BUCKET}"
OBJECTS_ARN = "arn:{partition}:s3:::{S3_BUCKET}/{S3_PREFIX}*"
# S3 buckets live in regions: a fan-out runs once per account and region.
REGIONAL = True
IAM_ACTIONS: dict[str, str] = {
    "s3:ListBucket": BUCKET_ARN,  # ListObjectsV2
    "s3:GetBucketVersioning": BUCKET_ARN,
    "s3:GetObject": OBJECTS_ARN,  # a delete conditional on an ETag needs it
    "s3:DeleteObject": OBJECTS_ARN,  # DeleteObjects, DeleteObject
    "s3:ListBucketVersions": BUCKET_ARN,  # ListObjectVersions, with --include-versions
    "s3:DeleteObjectVersion": OBJECTS_ARN,  # deletes by version id
    "sns:Publish": "{SNS_TOPIC_ARN}",
}

log = logging.getLogger(__name__)


def key_limit(raw: str) -> int | None:
    """How many keys to log one by one: a number, or ``all`` (no limit)."""
    if raw.strip().lower() == "all":
        return None
    return validate.integer(raw, minimum=0, maximum=10**9)


@dataclass(frozen=True)
class JobSettings:
    bucket: str
    prefix: str
    retention_days: int
    sns_topic_arn: str | None
    include_versions: bool
    progress_interval: float
    log_keys_limit: int | None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "bucket",
        ("S3_BUCKET",),
        validate.bucket_name,
        flag="--bucket",
        required=True,
        help="bucket to clean; may contain {account} and {region}",
        placeholders=True,
        unique_per_target=True,  # bucket names are global
    ),
    Setting(
        "prefix",
        ("S3_PREFIX",),
        validate.s3_prefix,
        default="temp/",
        flag="--prefix",
        help="only keys under this prefix are considered",
    ),
    Setting(
        "retention_days",
        ("RETENTION_DAYS",),
        lambda raw: validate.integer(raw, minimum=0, maximum=36500),
        default="30",
        flag="--retention-days",
        help="delete objects last modified more than this many days ago",
    ),
    Setting("sns_topic_arn", ("SNS_TOPIC_ARN",), validate.sns_topic_arn),
    Setting(
        "include_versions",
        ("INCLUDE_VERSIONS",),
        validate.boolean,
        default="false",
        flag="--include-versions",
        flag_const=True,
        help="also delete noncurrent versions and delete markers older than the cutoff",
    ),
    Setting(
        "progress_interval",
        ("PROGRESS_INTERVAL",),
        lambda raw: validate.number(raw, minimum=0, maximum=3600),
        default="10",
        help="seconds between progress lines",
    ),
    Setting("log_keys_limit", ("LOG_KEYS_LIMIT",), key_limit, default="100"),
)


@dataclass
class Counts:
    """What the run did so far; the summary line reports it even after a failure.

    ``matched = deleted + failed + skipped`` once every batch sent has settled.
    """

    listed: int = 0
    matched: int = 0
    deleted: int = 0
    failed: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass
class Progress:
    """Logs the counts at a steady interval so a long run visibly moves; the
    first line comes after ``first_after`` seconds, not a whole interval."""

    counts: Counts
    interval: float
    clock: Callable[[], float] = time.monotonic
    first_after: float = 2.0  # the first line comes early: a run of a few seconds shows it moves
    started: float = field(init=False)
    last: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()
        self.last = self.started - self.interval + min(self.interval, self.first_after)

    def tick(self) -> None:
        now = self.clock()
        if now - self.last < self.interval:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-9)
        log.info(
            "progress",
            extra={**self.counts.as_dict(), "listed_per_s": round(self.counts.listed / elapsed, 1)},
        )


@dataclass
class KeyLog:
    """One line per key up to ``limit`` (None: all), then one line with the rest.

    Dry-run and apply log the same way, so both leave the same audit trail
    and neither floods the log.
    """

    message: str
    bucket: str
    limit: int | None
    level: int = logging.INFO
    logged: int = 0
    rest: int = 0

    def add(self, item: Mapping[str, Any], **extra: Any) -> None:
        if self.limit is not None and self.logged >= self.limit:
            self.rest += 1
            return
        self.logged += 1
        log.log(self.level, self.message, extra={"bucket": self.bucket, **describe(item), **extra})

    def finish(self) -> None:
        if self.rest:
            log.log(
                self.level,
                "%s: more keys not logged one by one",
                self.message,
                extra={"bucket": self.bucket, "keys_not_logged": self.rest},
            )


@dataclass
class BatchResult:
    """What became of each key of a batch; every key sent is in exactly one list."""

    deleted: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)  # with Code and Message
    skipped: list[dict[str, Any]] = field(default_factory=list)  # changed since listed
    problem: str | None = None  # an answer that made no sense
    fatal: BaseException | None = None  # re-raised once the batch is counted


def run(
    settings: Settings, job: JobSettings, clients: Clients, counts: Counts, stop: StopRequest
) -> None:
    """Delete (or, in dry-run, report) every expired object under the prefix."""
    cutoff = datetime.now(UTC) - timedelta(days=job.retention_days)
    log.info(
        "cleanup started", extra={"bucket": job.bucket, "prefix": job.prefix, "cutoff": cutoff}
    )
    s3 = clients.s3
    versioned = is_versioned(s3, job.bucket, job.include_versions)
    cleanup = Cleanup(s3, job, cutoff, counts, Progress(counts, job.progress_interval), stop)
    try:
        if versioned and job.include_versions:
            ages = VersionAges(cutoff, job.prefix, report_lone_later=not settings.dry_run)
            cleanup.handle(cleanup.versions(ages), settings)
            if ages.markers_later:  # their versions are gone now: the markers are alone
                later = VersionAges(cutoff, job.prefix, only_lone_markers=True)
                later.exclude = cleanup.versions_kept
                cleanup.handle(cleanup.versions(later, count_listed=False), settings)
        else:
            cleanup.handle(cleanup.keys(), settings)
    finally:
        cleanup.finish()  # the audit trail's last line, whatever happened
    log.info("cleanup done", extra=counts.as_dict())
    if job.sns_topic_arn and not settings.dry_run:
        clients.sns.publish(
            TopicArn=job.sns_topic_arn,
            Subject=f"S3 cleanup of {job.bucket}"[:100],
            Message=json.dumps({"bucket": job.bucket, "prefix": job.prefix, **counts.as_dict()}),
        )
    if counts.failed:
        raise PartialFailure(f"{counts.failed} object(s) could not be deleted")
    if cleanup.problems:
        raise AwsError(cleanup.problems[0])


def is_versioned(s3: S3Client, bucket: str, include_versions: bool) -> bool:
    """Whether the bucket keeps versions; warn when they would be left behind."""
    try:
        status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    except s3.exceptions.NoSuchBucket:
        raise AwsError(f"no such bucket: {bucket}") from None
    versioned = status in ("Enabled", "Suspended")
    if versioned and not include_versions:
        log.warning(
            "bucket is versioned: deleting current versions leaves noncurrent versions and "
            "delete markers behind; --include-versions removes those older than the cutoff",
            extra={"bucket": bucket, "versioning": status},
        )
    return versioned


@dataclass
class Cleanup:
    """One run's listing, deleting and accounting against one bucket."""

    s3: S3Client
    job: JobSettings
    cutoff: datetime
    counts: Counts
    progress: Progress
    stop: StopRequest
    problems: list[str] = field(default_factory=list)
    versions_kept: set[tuple[str, str]] = field(default_factory=set)  # failed or skipped
    key_logs: dict[str, KeyLog] = field(default_factory=dict)

    def key_log(self, message: str, level: int = logging.INFO) -> KeyLog:
        if message not in self.key_logs:
            limit = self.job.log_keys_limit
            self.key_logs[message] = KeyLog(message, self.job.bucket, limit, level)
        return self.key_logs[message]

    def finish(self) -> None:
        for key_log in self.key_logs.values():
            key_log.finish()

    def handle(self, items: Iterable[ObjectIdentifierTypeDef], settings: Settings) -> None:
        if settings.dry_run:
            for item in items:
                self.counts.matched += 1
                self.key_log("would delete").add(item)
        else:
            self.delete_all(items, settings.max_workers)

    def pages(self, operation: str) -> Iterator[Mapping[str, Any]]:
        """The listing's pages; between pages the run reports progress, and a
        stop request ends the listing before the next page is asked for."""
        paginator = self.s3.get_paginator(operation)  # type: ignore[call-overload]
        pages = paginator.paginate(
            Bucket=self.job.bucket,
            Prefix=self.job.prefix,
            PaginationConfig={"PageSize": LIST_PAGE_SIZE},
        )
        try:
            for page in stop_aware.pages(pages, self.stop):
                yield page
                self.progress.tick()
        except self.s3.exceptions.NoSuchBucket:
            raise AwsError(f"no such bucket: {self.job.bucket}") from None

    def keys(self) -> Iterator[ObjectIdentifierTypeDef]:
        """Keys under the prefix last modified before the cutoff, with their ETag."""
        for page in self.pages("list_objects_v2"):
            for item in page.get("Contents", []):
                self.counts.listed += 1
                key = checked(item, "Key", str, self.job.bucket)
                modified = checked(item, "LastModified", datetime, self.job.bucket)
                etag = checked(item, "ETag", str, self.job.bucket)
                # The prefix check repeats the server's filter: nothing outside
                # it is ever deleted, whatever an endpoint returns.
                if modified < self.cutoff and key.startswith(self.job.prefix):
                    yield {"Key": key, "ETag": etag}

    def versions(
        self, ages: VersionAges, *, count_listed: bool = True
    ) -> Iterator[ObjectIdentifierTypeDef]:
        """Expired versions and delete markers, by version id (see ``VersionAges``)."""
        for page in self.pages("list_object_versions"):
            entries = []
            for name, marker in (("Versions", False), ("DeleteMarkers", True)):
                for item in page.get(name, []):
                    if count_listed:
                        self.counts.listed += 1
                    entries.append(
                        Version(
                            checked(item, "Key", str, self.job.bucket),
                            checked(item, "VersionId", str, self.job.bucket),
                            checked(item, "LastModified", datetime, self.job.bucket),
                            marker,
                            item.get("IsLatest") is True,
                        )
                    )
            # Each list comes by key, newest first; merged, they keep that order.
            entries.sort(key=lambda v: (v.key, not v.latest, -v.modified.timestamp()))
            for entry in entries:
                yield from ages.see(entry)
        yield from ages.end()

    def delete_all(self, items: Iterable[ObjectIdentifierTypeDef], workers: int) -> None:
        """Delete ``items`` in full batches on a pool while listing goes on.

        At most ``workers`` batches are in flight: the listing waits for the
        oldest one before it submits another, which bounds memory. Every batch
        that was sent is counted, even when another one failed.
        """
        from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 - keeps start-up fast

        pending: deque[Future[BatchResult]] = deque()
        bucket, prefix = self.job.bucket, self.job.prefix
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="delete") as pool:

            def submit(batch: list[ObjectIdentifierTypeDef]) -> None:
                self.stop.check()
                self.counts.matched += len(batch)
                task = logs.carrying_context(delete_batch)
                pending.append(pool.submit(task, self.s3, bucket, prefix, batch, self.stop))

            try:
                batch: list[ObjectIdentifierTypeDef] = []
                for item in items:
                    batch.append(item)
                    if len(batch) == DELETE_BATCH_LIMIT:
                        submit(batch)
                        batch = []
                        while len(pending) >= workers:
                            self.collect(pending.popleft())
                            self.progress.tick()
                if batch:
                    submit(batch)
            finally:
                self.drain(pending)

    def collect(self, future: Future[BatchResult]) -> None:
        result = future.result()
        self.counts.deleted += len(result.deleted)
        self.counts.failed += len(result.failed)
        self.counts.skipped += len(result.skipped)
        for item in result.deleted:
            self.key_log("deleted").add(item)
        for item in [*result.skipped, *result.failed]:
            if "VersionId" in item:  # a second listing must not send it again
                self.versions_kept.add((item["Key"], item["VersionId"]))
        for item in result.skipped:
            self.key_log("skipped: changed since listed").add(item)
        for error in result.failed:
            self.key_log("could not delete", logging.WARNING).add(
                error, code=error.get("Code"), error=error.get("Message")
            )
        if result.problem:
            self.problems.append(result.problem)
        if result.fatal is not None:
            raise result.fatal

    def drain(self, pending: deque[Future[BatchResult]]) -> None:
        """Collect every batch still in flight; re-raise the first failure after."""
        first_error: BaseException | None = None
        while pending:
            try:
                self.collect(pending.popleft())
            except Exception as error:  # noqa: BLE001 - kept and re-raised below
                first_error = first_error or error
        if first_error is not None:
            raise first_error


@dataclass(frozen=True)
class Version:
    key: str
    version_id: str
    modified: datetime
    marker: bool
    latest: bool


@dataclass
class VersionAges:
    """Decides, version by version, what ``--include-versions`` deletes.

    ListObjectVersions returns the versions of a key newest first, keys in
    order, and one key's versions may span pages; this keeps the state of
    the key being read across pages. As with S3 lifecycle's
    ``NoncurrentDays``, a noncurrent version's age counts from when it
    became noncurrent: the ``LastModified`` of the next newer version (or
    delete marker). The current version goes when it is older than the
    cutoff itself, so the current version of an unexpired object stays.

    A current delete marker older than the cutoff goes when it is the only
    version left. When its older versions are all deleted by this run, it is
    alone only once they are: dry-run reports it at once, and an apply run
    (``report_lone_later``) counts it in ``markers_later`` and removes it in
    a second listing after every batch settled (``only_lone_markers``), so a
    marker is never removed while a version it hides is still there.
    """

    cutoff: datetime
    prefix: str
    report_lone_later: bool = False
    only_lone_markers: bool = False
    exclude: set[tuple[str, str]] = field(default_factory=set)
    markers_later: int = 0
    key: str | None = None
    newer: datetime | None = None  # LastModified of the last entry seen of ``key``
    marker: Version | None = None  # the key's current delete marker, if it may go
    others: bool = False  # the key has entries besides its current one
    kept: bool = False  # some older entry of the key stays

    def see(self, entry: Version) -> Iterator[ObjectIdentifierTypeDef]:
        if entry.key != self.key:
            yield from self.end()  # also forgets the previous key's marker
            self.key, self.newer = entry.key, None
            self.others = self.kept = False
        current = self.newer is None
        since = entry.modified if current else self.newer
        self.newer = entry.modified
        if not current:
            self.others = True
        expired = since is not None and since < self.cutoff and entry.key.startswith(self.prefix)
        if current and entry.marker:
            self.marker = entry if expired else None
            return
        if not expired:
            self.kept = True
        elif not self.only_lone_markers:
            yield {"Key": entry.key, "VersionId": entry.version_id}

    def end(self) -> Iterator[ObjectIdentifierTypeDef]:
        marker, self.marker = self.marker, None
        if marker is None or (marker.key, marker.version_id) in self.exclude:
            return
        if not self.others:
            yield {"Key": marker.key, "VersionId": marker.version_id}
        elif not self.kept and not self.only_lone_markers:
            if self.report_lone_later:
                self.markers_later += 1
            else:
                yield {"Key": marker.key, "VersionId": marker.version_id}


def checked(item: Mapping[str, Any], name: str, kind: type, bucket: str) -> Any:
    """``item[name]`` if it is a usable ``kind``; otherwise the answer is malformed."""
    value = item.get(name)
    usable = isinstance(value, kind)
    if isinstance(value, str):
        usable = usable and value != ""
    if isinstance(value, datetime):
        usable = usable and value.tzinfo is not None  # comparable with the cutoff
    if not usable:
        raise AwsError(
            f"malformed listing of bucket {bucket}: an item has no usable {name} "
            f"(got {value!r} in {sorted(item)})"
        )
    return value


class _Unsettled(Exception):
    """A delete call failed: what became of ``objects`` is not known yet."""

    def __init__(self, objects: list[ObjectIdentifierTypeDef], error: Exception) -> None:
        super().__init__(str(error))
        self.objects = objects
        self.error = error


def delete_batch(
    s3: S3Client,
    bucket: str,
    prefix: str,
    objects: list[ObjectIdentifierTypeDef],
    stop: StopRequest,
) -> BatchResult:
    """Delete up to 1,000 objects; say what became of each one.

    Keys S3 reports with a transient error are sent again, at most
    ``KEY_ATTEMPTS`` times in all, with exponential backoff. A call that
    times out is sent again as two halves (once: a bound on the time one
    batch can take, at most three calls' worst case); a call
    that still fails is settled by listing the batch's key range. Deleting
    a key twice is harmless, so no retry does more than the first call meant.
    ``stop`` is looked at between the pages of that listing.
    """
    if len(objects) > DELETE_BATCH_LIMIT:
        raise ValueError(
            f"DeleteObjects takes at most {DELETE_BATCH_LIMIT} keys, got {len(objects)}"
        )
    result = BatchResult()
    batchable: list[ObjectIdentifierTypeDef] = []
    for item in objects:
        if XML_UNSAFE.search(item["Key"]):
            log.warning(
                "key has a character a DeleteObjects request cannot carry; deleting it alone",
                extra={"bucket": bucket, "key": repr(item["Key"])},
            )
            _delete_alone(s3, bucket, item, result)
        else:
            batchable.append(item)
    if batchable and result.fatal is None:
        _delete_in_pieces(s3, bucket, prefix, batchable, result, stop=stop)
    log.debug("deleted batch", extra={"bucket": bucket, "size": len(objects)})
    return result


def _delete_in_pieces(
    s3: S3Client,
    bucket: str,
    prefix: str,
    objects: list[ObjectIdentifierTypeDef],
    result: BatchResult,
    *,
    stop: StopRequest,
    may_split: bool = True,
) -> None:
    from botocore.exceptions import ReadTimeoutError  # noqa: PLC0415 - loaded by now

    try:
        _delete_with_key_retries(s3, bucket, objects, result)
    except _Unsettled as unsettled:
        if _stops_the_run(unsettled.error):
            result.failed += _failures(unsettled.objects, unsettled.error)
            result.fatal = unsettled.error
            return
        keys = unsettled.objects
        if may_split and isinstance(unsettled.error, ReadTimeoutError) and len(keys) > 1:
            log.info(
                "delete call timed out; retrying its keys in halves",
                extra={"bucket": bucket, "keys": len(keys)},
            )
            half = len(keys) // 2
            first, second = keys[:half], keys[half:]
            _delete_in_pieces(s3, bucket, prefix, first, result, stop=stop, may_split=False)
            if result.fatal is None:
                _delete_in_pieces(s3, bucket, prefix, second, result, stop=stop, may_split=False)
            return
        failed_before = len(result.failed)
        _settle(s3, bucket, prefix, unsettled, result, stop=stop)
        lost = _lost_the_connection(unsettled.error)
        if lost and len(result.failed) > failed_before and result.fatal is None:
            # The batch is counted by what is still listed; a network that
            # cannot be reached fails every later batch the same way, so the
            # run ends here with exit 3 instead of trying each of them.
            result.fatal = unsettled.error


def _delete_with_key_retries(
    s3: S3Client, bucket: str, objects: list[ObjectIdentifierTypeDef], result: BatchResult
) -> None:
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - loaded by now

    todo = objects
    for attempt in range(1, KEY_ATTEMPTS + 1):
        try:
            response = s3.delete_objects(Bucket=bucket, Delete={"Objects": todo, "Quiet": True})
            errors = _key_errors(response.get("Errors"), todo, bucket)
        except (ClientError, BotoCoreError, AwsError) as error:
            if isinstance(error, AwsError):
                result.problem = result.problem or str(error)
            raise _Unsettled(todo, error) from error
        retry: list[ObjectIdentifierTypeDef] = []
        for item in todo:
            answer = errors.get(_identity(item))
            code = answer.get("Code") if answer else None
            if answer is None or code == ALREADY_GONE:
                result.deleted.append(dict(item))
            elif code == CHANGED_SINCE_LISTED:
                result.skipped.append(dict(item))
            elif code in RETRYABLE_KEY_ERRORS and attempt < KEY_ATTEMPTS:
                retry.append(item)
            else:
                result.failed.append({**item, "Code": code, "Message": answer.get("Message")})
        if not retry:
            return
        todo = retry
        log.info("retrying keys", extra={"bucket": bucket, "keys": len(todo), "attempt": attempt})
        time.sleep(KEY_RETRY_BASE_SECONDS * 2 ** (attempt - 1))


def _key_errors(
    errors: Iterable[object] | None, sent: list[ObjectIdentifierTypeDef], bucket: str
) -> dict[tuple[str, str | None], Mapping[str, Any]]:
    """The answer's per-key errors by key and version; refuse one that names others."""
    by_identity = {_identity(item): item for item in sent}
    by_key = {item["Key"]: _identity(item) for item in sent}
    found: dict[tuple[str, str | None], Mapping[str, Any]] = {}
    for error in errors or []:
        if not isinstance(error, Mapping) or not isinstance(error.get("Key"), str):
            raise AwsError(f"inconsistent DeleteObjects answer from bucket {bucket}: {error!r}")
        identity = (error["Key"], error.get("VersionId"))
        if identity not in by_identity:
            identity = by_key.get(error["Key"], identity)
        if identity not in by_identity:
            raise AwsError(
                f"inconsistent DeleteObjects answer from bucket {bucket}: "
                f"it names key {error['Key']!r}, which was not in the request"
            )
        found[identity] = error
    return found


def _settle(
    s3: S3Client,
    bucket: str,
    prefix: str,
    unsettled: _Unsettled,
    result: BatchResult,
    *,
    stop: StopRequest,
) -> None:
    """Count a batch whose call failed for good by what is still listed.

    The server may have deleted the keys before the answer was lost (a
    connection reset, say). One listing of the batch's key range tells: a
    key no longer there counts as deleted, one there with another ETag as
    skipped, one unchanged as failed. When that listing fails too, or the
    batch is of versions, every key counts as failed; a re-run finishes.
    A stop (a signal, the deadline, a log that failed) ends that listing
    before its next page, like every listing: the keys it did not settle
    count as failed, and the stop ends the run once the batch is counted.
    """
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - loaded by now

    objects, error = unsettled.objects, unsettled.error
    log.warning(
        "delete call failed; settling its keys",
        extra={
            "bucket": bucket,
            "keys": len(objects),
            "sample": [item["Key"] for item in objects[:FAILED_KEYS_SAMPLE]],
            "error_type": type(error).__name__,
            "error": str(error),
        },
    )
    listed: dict[str, str] | None = None
    if not any("VersionId" in item for item in objects):
        try:
            listed = _listed_etags(s3, bucket, prefix, [item["Key"] for item in objects], stop)
        except (ClientError, BotoCoreError, AwsError):
            listed = None
        except (Interrupted, OutOfTime, OutputFailed) as stopped:  # stop.check's
            listed = None
            result.fatal = stopped
    for item in objects:
        if listed is not None and item["Key"] not in listed:
            result.deleted.append(dict(item))
        elif listed is not None and listed[item["Key"]] != item.get("ETag"):
            result.skipped.append(dict(item))
        else:
            result.failed += _failures([item], error)


def _listed_etags(
    s3: S3Client, bucket: str, prefix: str, keys: list[str], stop: StopRequest
) -> dict[str, str] | None:
    """The ETag of each of ``keys`` still in the bucket; None if too far to read.

    Listed through ``stop_aware.pages``: a stop ends the listing before its
    next page (up to ``SETTLE_PAGES`` pages, each a call the stop would
    otherwise wait for).
    """
    wanted, last = set(keys), max(keys)
    start = min(keys)[:-1]  # every key from min(keys) on sorts after it
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket,
        Prefix=prefix,
        StartAfter=start,
        PaginationConfig={"PageSize": LIST_PAGE_SIZE, "MaxItems": SETTLE_PAGES * LIST_PAGE_SIZE},
    )
    found: dict[str, str] = {}
    for page in stop_aware.pages(pages, stop):
        for item in page.get("Contents", []):
            key = checked(item, "Key", str, bucket)
            if key > last:
                return found
            if key in wanted:
                found[key] = item.get("ETag", "")
        if not page.get("IsTruncated"):
            return found
    return None


def _delete_alone(
    s3: S3Client, bucket: str, item: ObjectIdentifierTypeDef, result: BatchResult
) -> None:
    """Delete one object with DeleteObject: its key goes in the URL, not in XML."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - loaded by now

    params: dict[str, Any] = {"Bucket": bucket, "Key": item["Key"]}
    if "VersionId" in item:
        params["VersionId"] = item["VersionId"]
    if "ETag" in item:
        params["IfMatch"] = item["ETag"]
    try:
        s3.delete_object(**params)
    except (ClientError, BotoCoreError) as error:
        code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else ""
        if code == ALREADY_GONE:
            result.deleted.append(dict(item))
        elif code == CHANGED_SINCE_LISTED:
            result.skipped.append(dict(item))
        else:
            result.failed += _failures([item], error)
            if _stops_the_run(error):
                result.fatal = error
    else:
        result.deleted.append(dict(item))


def _stops_the_run(error: Exception) -> bool:
    """Whether every later call would fail the same way: refused or expired
    credentials, a missing bucket, or a failure outside the call itself.
    (S3 answers an expired token with HTTP 400, so the code is looked at too.)"""
    from botocore.exceptions import (  # noqa: PLC0415 - loaded by now
        ClientError,
        ConnectionError,
        HTTPClientError,
    )
    from botocore.parsers import ResponseParserError  # noqa: PLC0415 - loaded by now

    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = error.response.get("Error", {}).get("Code")
        return status in (401, 403) or code == "NoSuchBucket" or code in CREDENTIAL_ERROR_CODES
    return not isinstance(error, ConnectionError | HTTPClientError | ResponseParserError | AwsError)


def _lost_the_connection(error: Exception) -> bool:
    """Whether the call could not reach S3 or lost its connection (refused,
    reset, no route, a connect timeout): not a read timeout, which a
    smaller batch may avoid."""
    from botocore.exceptions import (  # noqa: PLC0415 - loaded by now
        ConnectionClosedError,
        ConnectionError,
    )

    return isinstance(error, ConnectionError | ConnectionClosedError)


def _failures(objects: Iterable[ObjectIdentifierTypeDef], error: Exception) -> list[dict[str, Any]]:
    return [{**item, "Code": type(error).__name__, "Message": str(error)} for item in objects]


def _identity(item: Mapping[str, Any]) -> tuple[str, str | None]:
    return item["Key"], item.get("VersionId")


def describe(item: Mapping[str, Any]) -> dict[str, str]:
    described = {"key": item["Key"]}
    if "VersionId" in item:
        described["version_id"] = item["VersionId"]
    return described

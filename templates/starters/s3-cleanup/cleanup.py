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

import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from . import deleting, listing
from .runtime.access import stop_aware
from .runtime.outcome.errors import AwsError, PartialFailure, StopRequest
from .runtime.output import logs
from .versions import Version, VersionAges

if TYPE_CHECKING:
    from concurrent.futures import Future

    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

    from .job import Counts, JobSettings
    from .runtime.access.aws import Clients
    from .runtime.settings.config import Settings

__all__ = ["Cleanup", "run"]

log = logging.getLogger(__name__)


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
        log.log(
            self.level,
            self.message,
            extra={"bucket": self.bucket, **listing.describe(item), **extra},
        )

    def finish(self) -> None:
        if self.rest:
            log.log(
                self.level,
                "%s: more keys not logged one by one",
                self.message,
                extra={"bucket": self.bucket, "keys_not_logged": self.rest},
            )


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
            PaginationConfig={"PageSize": listing.LIST_PAGE_SIZE},
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
                key = listing.checked(item, "Key", str, self.job.bucket)
                modified = listing.checked(item, "LastModified", datetime, self.job.bucket)
                etag = listing.checked(item, "ETag", str, self.job.bucket)
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
                            listing.checked(item, "Key", str, self.job.bucket),
                            listing.checked(item, "VersionId", str, self.job.bucket),
                            listing.checked(item, "LastModified", datetime, self.job.bucket),
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

        pending: deque[Future[deleting.BatchResult]] = deque()
        bucket, prefix = self.job.bucket, self.job.prefix
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="delete") as pool:

            def submit(batch: list[ObjectIdentifierTypeDef]) -> None:
                self.stop.check()
                self.counts.matched += len(batch)
                task = logs.carrying_context(deleting.delete_batch)
                pending.append(pool.submit(task, self.s3, bucket, prefix, batch, self.stop))

            try:
                batch: list[ObjectIdentifierTypeDef] = []
                for item in items:
                    batch.append(item)
                    if len(batch) == deleting.DELETE_BATCH_LIMIT:
                        submit(batch)
                        batch = []
                        while len(pending) >= workers:
                            self.collect(pending.popleft())
                            self.progress.tick()
                if batch:
                    submit(batch)
            finally:
                self.drain(pending)

    def collect(self, future: Future[deleting.BatchResult]) -> None:
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

    def drain(self, pending: deque[Future[deleting.BatchResult]]) -> None:
        """Collect every batch still in flight; re-raise the first failure after."""
        first_error: BaseException | None = None
        while pending:
            try:
                self.collect(pending.popleft())
            except Exception as error:  # noqa: BLE001 - kept and re-raised below
                first_error = first_error or error
        if first_error is not None:
            raise first_error

"""S3 cleanup: delete objects under a prefix once they pass a retention age.

Why it is built this way:
- Idempotent: the bucket is created only if missing (``BucketAlreadyOwnedByYou``
  counts as success) and deleting what is already gone changes nothing, so a
  second apply run finds nothing left to do.
- Dry-run sends no write call at all: it lists and reports, nothing more.
- Fewest calls: listing uses full 1,000-key pages and deletion uses
  ``DeleteObjects`` batches of up to 1,000 keys, never one call per object.
- Deleting overlaps listing: full batches go to a small worker pool while the
  next page is fetched, and at most ``MAX_WORKERS`` batches are in flight, so
  memory stays flat however many objects there are.
- Keys ``DeleteObjects`` reports as failed with a transient error are retried
  a few times with backoff; what still fails is counted and logged, and the
  run raises ``PartialFailure`` so it cannot pass for a success. Throttling,
  5xx answers and dropped connections are botocore's retries' business.
- A stop request (SIGINT/SIGTERM) is honoured between pages and batches.
- A versioned bucket keeps noncurrent versions and delete markers after a
  plain delete; the job says so, and with ``--include-versions`` deletes every
  version and delete marker older than the cutoff by version id.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import TYPE_CHECKING, Any, cast

from . import logs, validate
from .config import Setting, Settings
from .errors import PartialFailure, StopRequest

if TYPE_CHECKING:
    from concurrent.futures import Future

    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

    from .aws import Clients

__all__ = ["DESCRIPTION", "IAM_ACTIONS", "SETTINGS", "Counts", "JobSettings", "run"]

DESCRIPTION = "Delete objects under S3_PREFIX in S3_BUCKET that are older than RETENTION_DAYS."
DELETE_BATCH_LIMIT = 1000  # the most keys DeleteObjects accepts in one call
LIST_PAGE_SIZE = 1000  # the largest page ListObjectsV2 returns
_MISSING_BUCKET_CODES = frozenset({"404", "NoSuchBucket", "NotFound"})
# Per-key DeleteObjects errors worth another try; AccessDenied and the like are not.
RETRYABLE_KEY_ERRORS = frozenset(
    {"InternalError", "SlowDown", "ServiceUnavailable", "RequestTimeout", "OperationAborted"}
)
KEY_ATTEMPTS = 3
KEY_RETRY_BASE_SECONDS = 0.2

# Every IAM action the job may use, in one place: it renders the AssumeRole
# session policy, iam-policy.json, and the test that fails when the job calls
# an API not covered here. (sts:GetCallerIdentity needs no permission.)
IAM_ACTIONS = (
    "s3:ListBucket",  # HeadBucket, ListObjectsV2
    "s3:GetBucketVersioning",
    "s3:CreateBucket",
    "s3:DeleteObject",  # DeleteObjects
    "s3:ListBucketVersions",  # ListObjectVersions, with --include-versions
    "s3:DeleteObjectVersion",  # DeleteObjects by version id
    "sns:Publish",
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobSettings:
    bucket: str
    prefix: str
    retention_days: int
    sns_topic_arn: str | None
    include_versions: bool
    progress_interval: float


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
)


@dataclass
class Counts:
    """What the run did so far; the summary line reports it even after a failure."""

    listed: int = 0
    matched: int = 0
    deleted: int = 0
    failed: int = 0

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


@dataclass(frozen=True)
class BatchResult:
    deleted: int
    errors: list[dict[str, Any]]


def run(
    settings: Settings, job: JobSettings, clients: Clients, counts: Counts, stop: StopRequest
) -> None:
    """Delete (or, in dry-run, report) every expired object under the prefix."""
    cutoff = datetime.now(UTC) - timedelta(days=job.retention_days)
    log.info(
        "cleanup started",
        extra={"bucket": job.bucket, "prefix": job.prefix, "cutoff": cutoff.isoformat()},
    )
    s3 = clients.s3
    if not ensure_bucket(s3, job.bucket, settings.region, dry_run=settings.dry_run):
        return
    progress = Progress(counts, job.progress_interval)
    versioned = is_versioned(s3, job.bucket, job.include_versions)
    lister = expired_versions if versioned and job.include_versions else expired_keys
    items = lister(s3, job.bucket, job.prefix, cutoff, counts=counts, progress=progress, stop=stop)
    if settings.dry_run:
        for item in items:
            counts.matched += 1
            log.info("would delete", extra={"bucket": job.bucket, **_describe(item)})
    else:
        delete_all(
            s3,
            job.bucket,
            items,
            counts=counts,
            workers=settings.max_workers,
            progress=progress,
            stop=stop,
        )
    log.info("cleanup done", extra=counts.as_dict())
    if job.sns_topic_arn and not settings.dry_run:
        clients.sns.publish(
            TopicArn=job.sns_topic_arn,
            Subject=f"S3 cleanup of {job.bucket}"[:100],
            Message=json.dumps({"bucket": job.bucket, "prefix": job.prefix, **counts.as_dict()}),
        )
    if counts.failed:
        raise PartialFailure(f"{counts.failed} object(s) could not be deleted")


def delete_all(
    s3: S3Client,
    bucket: str,
    items: Iterable[ObjectIdentifierTypeDef],
    *,
    counts: Counts,
    workers: int,
    progress: Progress,
    stop: StopRequest,
) -> None:
    """Delete ``items`` in full batches on a pool while listing goes on.

    At most ``workers`` batches are in flight: the listing waits for the
    oldest one before it submits another, which bounds memory. Every batch
    that was sent is counted, even when another one failed. Each batch runs
    in a copy of the caller's context, so its log lines keep the target's
    account and region.
    """
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 - keeps start-up fast

    pending: deque[Future[BatchResult]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="delete") as pool:
        try:
            batch: list[ObjectIdentifierTypeDef] = []
            for item in items:
                counts.matched += 1
                batch.append(item)
                if len(batch) == DELETE_BATCH_LIMIT:
                    stop.check()
                    pending.append(
                        pool.submit(logs.carrying_context(delete_batch), s3, bucket, batch)
                    )
                    batch = []
                    while len(pending) >= workers:
                        _collect(pending.popleft(), counts, bucket)
                        progress.tick()
            if batch:
                stop.check()
                pending.append(pool.submit(logs.carrying_context(delete_batch), s3, bucket, batch))
        finally:
            _drain(pending, counts, bucket)


def _collect(future: Future[BatchResult], counts: Counts, bucket: str) -> None:
    result = future.result()
    counts.deleted += result.deleted
    counts.failed += len(result.errors)
    for error in result.errors:
        log.warning(
            "could not delete",
            extra={
                "bucket": bucket,
                "key": error.get("Key"),
                "version_id": error.get("VersionId"),
                "code": error.get("Code"),
                "error": error.get("Message"),
            },
        )


def _drain(pending: deque[Future[BatchResult]], counts: Counts, bucket: str) -> None:
    """Collect every batch still in flight; re-raise the first failure after."""
    first_error: BaseException | None = None
    while pending:
        try:
            _collect(pending.popleft(), counts, bucket)
        except Exception as error:  # noqa: BLE001 - kept and re-raised below
            first_error = first_error or error
    if first_error is not None:
        raise first_error


def ensure_bucket(s3: S3Client, bucket: str, region: str, *, dry_run: bool) -> bool:
    """Make sure the bucket exists; return whether it does now.

    In dry-run a missing bucket is only reported, and there is nothing to list.
    """
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") not in _MISSING_BUCKET_CODES:
            raise
    else:
        return True
    if dry_run:
        log.info("would create bucket", extra={"bucket": bucket, "region": region})
        return False
    create_bucket(s3, bucket, region)
    return True


def create_bucket(s3: S3Client, bucket: str, region: str) -> None:
    """Create the bucket in ``region``; one that we already own counts as done.

    us-east-1 is S3's default location and refuses an explicit
    LocationConstraint; every other region requires one.
    """
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            location = cast("BucketLocationConstraintType", region)
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": location}
            )
    except s3.exceptions.BucketAlreadyOwnedByYou:
        log.info("bucket already exists", extra={"bucket": bucket})
        return
    log.info("created bucket", extra={"bucket": bucket, "region": region})


def is_versioned(s3: S3Client, bucket: str, include_versions: bool) -> bool:
    """Whether the bucket keeps versions; warn when they would be left behind."""
    status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    versioned = status in ("Enabled", "Suspended")
    if versioned and not include_versions:
        log.warning(
            "bucket is versioned: deleting current versions leaves noncurrent versions and "
            "delete markers behind; --include-versions removes those older than the cutoff",
            extra={"bucket": bucket, "versioning": status},
        )
    return versioned


def expired_keys(
    s3: S3Client,
    bucket: str,
    prefix: str,
    cutoff: datetime,
    *,
    counts: Counts,
    progress: Progress,
    stop: StopRequest,
) -> Iterator[ObjectIdentifierTypeDef]:
    """Yield keys under ``prefix`` last modified before ``cutoff``, page by page."""
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE_SIZE}
    )
    for page in pages:
        for item in page.get("Contents", []):
            counts.listed += 1
            # The prefix check repeats the server's filter: nothing outside it is
            # ever deleted, whatever an endpoint returns.
            if item["LastModified"] < cutoff and item["Key"].startswith(prefix):
                yield {"Key": item["Key"]}
        progress.tick()
        stop.check()


def expired_versions(
    s3: S3Client,
    bucket: str,
    prefix: str,
    cutoff: datetime,
    *,
    counts: Counts,
    progress: Progress,
    stop: StopRequest,
) -> Iterator[ObjectIdentifierTypeDef]:
    """Yield every version and delete marker under ``prefix`` older than ``cutoff``.

    Deleting by version id removes them for good and creates no new delete
    marker, so a second run finds nothing left: the cleanup stays idempotent.
    """
    pages = s3.get_paginator("list_object_versions").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": LIST_PAGE_SIZE}
    )
    for page in pages:
        for item in chain(page.get("Versions", []), page.get("DeleteMarkers", [])):
            counts.listed += 1
            if item["LastModified"] < cutoff and item["Key"].startswith(prefix):
                yield {"Key": item["Key"], "VersionId": item["VersionId"]}
        progress.tick()
        stop.check()


def delete_batch(s3: S3Client, bucket: str, objects: list[ObjectIdentifierTypeDef]) -> BatchResult:
    """Delete up to 1,000 objects in one call; retry keys that failed transiently.

    Keys S3 reports with a transient error are sent again, at most
    ``KEY_ATTEMPTS`` times in all, with exponential backoff. Deleting a key
    twice is harmless, so a retry never does more than the first call meant.
    """
    if len(objects) > DELETE_BATCH_LIMIT:
        raise ValueError(
            f"DeleteObjects takes at most {DELETE_BATCH_LIMIT} keys, got {len(objects)}"
        )
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - loaded by now

    todo = objects
    final_errors: list[dict[str, Any]] = []
    for attempt in range(1, KEY_ATTEMPTS + 1):
        try:
            response = s3.delete_objects(Bucket=bucket, Delete={"Objects": todo, "Quiet": True})
        except (ClientError, BotoCoreError) as error:
            if attempt == 1:
                raise  # nothing of this batch is known to be done
            # Earlier attempts deleted the rest of the batch: count those, and
            # these keys as failed, so the counts still match what happened.
            final_errors += [
                {**item, "Code": type(error).__name__, "Message": str(error)} for item in todo
            ]
            break
        errors = [dict(error) for error in response.get("Errors", [])]
        retry = [error for error in errors if error.get("Code") in RETRYABLE_KEY_ERRORS]
        final_errors += [error for error in errors if error not in retry]
        if not retry or attempt == KEY_ATTEMPTS:
            final_errors += retry
            break
        failed = {(error.get("Key"), error.get("VersionId")) for error in retry}
        todo = [item for item in todo if (item["Key"], item.get("VersionId")) in failed]
        log.info("retrying keys", extra={"bucket": bucket, "keys": len(todo), "attempt": attempt})
        time.sleep(KEY_RETRY_BASE_SECONDS * 2 ** (attempt - 1))
    log.debug("deleted batch", extra={"bucket": bucket, "size": len(objects)})
    return BatchResult(deleted=len(objects) - len(final_errors), errors=final_errors)


def _describe(item: ObjectIdentifierTypeDef) -> dict[str, str]:
    described = {"key": item["Key"]}
    if "VersionId" in item:
        described["version_id"] = item["VersionId"]
    return described

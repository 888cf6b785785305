"""S3 cleanup: delete objects under a prefix once they pass a retention age.

Why it is built this way:
- Idempotent: the bucket is created only if missing (``BucketAlreadyOwnedByYou``
  counts as success) and deleting what is already gone changes nothing, so a
  second apply run finds nothing left to do.
- Dry-run sends no write call at all: it lists and reports, nothing more.
- Listing uses the paginator with full pages and deletion uses
  ``DeleteObjects`` batches of at most 1,000 keys, never one call per object.
- Keys ``DeleteObjects`` reports as failed are counted and logged; the run
  then raises ``PartialFailure`` so it cannot pass for a success.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, cast

from . import validate
from .config import Setting, Settings
from .errors import PartialFailure

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType

    from .aws import Clients

__all__ = ["DESCRIPTION", "SETTINGS", "Counts", "JobSettings", "run"]

DESCRIPTION = "Delete objects under S3_PREFIX in S3_BUCKET that are older than RETENTION_DAYS."
DELETE_BATCH_LIMIT = 1000  # the most keys DeleteObjects accepts in one call
LIST_PAGE_SIZE = 1000  # the largest page ListObjectsV2 returns
_MISSING_BUCKET_CODES = frozenset({"404", "NoSuchBucket", "NotFound"})

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobSettings:
    bucket: str
    prefix: str
    retention_days: int
    sns_topic_arn: str | None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "bucket",
        ("S3_BUCKET",),
        validate.bucket_name,
        flag="--bucket",
        required=True,
        help="bucket to clean",
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


def run(settings: Settings, job: JobSettings, clients: Clients, counts: Counts) -> None:
    """Delete (or, in dry-run, report) every expired object under the prefix."""
    cutoff = datetime.now(UTC) - timedelta(days=job.retention_days)
    log.info(
        "cleanup started",
        extra={"bucket": job.bucket, "prefix": job.prefix, "cutoff": cutoff.isoformat()},
    )
    s3 = clients.s3
    if not ensure_bucket(s3, job.bucket, settings.region, dry_run=settings.dry_run):
        return
    batch: list[str] = []
    for key in expired_keys(s3, job.bucket, job.prefix, cutoff, counts):
        counts.matched += 1
        if settings.dry_run:
            log.info("would delete", extra={"bucket": job.bucket, "key": key})
            continue
        batch.append(key)
        if len(batch) == DELETE_BATCH_LIMIT:
            delete_batch(s3, job.bucket, batch, counts)
            batch = []
    if batch:
        delete_batch(s3, job.bucket, batch, counts)
    if job.sns_topic_arn and not settings.dry_run:
        clients.sns.publish(
            TopicArn=job.sns_topic_arn,
            Subject=f"S3 cleanup of {job.bucket}"[:100],
            Message=json.dumps({"bucket": job.bucket, "prefix": job.prefix, **counts.as_dict()}),
        )
    if counts.failed:
        raise PartialFailure(f"{counts.failed} object(s) could not be deleted")


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


def expired_keys(
    s3: S3Client, bucket: str, prefix: str, cutoff: datetime, counts: Counts
) -> Iterator[str]:
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
                yield item["Key"]


def delete_batch(s3: S3Client, bucket: str, keys: list[str], counts: Counts) -> None:
    """Delete up to 1,000 keys in one call and count per-key failures."""
    if len(keys) > DELETE_BATCH_LIMIT:
        raise ValueError(f"DeleteObjects takes at most {DELETE_BATCH_LIMIT} keys, got {len(keys)}")
    response = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
    )
    errors = response.get("Errors", [])
    for error in errors:
        log.warning(
            "could not delete",
            extra={
                "bucket": bucket,
                "key": error.get("Key"),
                "code": error.get("Code"),
                "error": error.get("Message"),
            },
        )
    counts.failed += len(errors)
    counts.deleted += len(keys) - len(errors)
    log.info("deleted batch", extra={"bucket": bucket, "size": len(keys), "failed": len(errors)})

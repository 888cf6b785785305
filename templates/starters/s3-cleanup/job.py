"""S3 cleanup: delete objects under a prefix once they pass a retention age.

This module declares the job for the runtime: its settings, the IAM grants
it needs, its counts. It imports no AWS code, so ``--help`` and a refused
configuration answer before boto3 is loaded. The work is in the modules
beside it, which ``run`` imports once the settings are valid:
``cleanup`` (the run: listing, batching, progress, the audit trail),
``deleting`` (conditional batch deletes, retries and settling),
``versions`` (versions and delete markers aged as S3 lifecycle ages them)
and ``listing`` (page size, and each listed item checked before use).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .runtime.settings import validate
from .runtime.settings.config import Setting, Settings

if TYPE_CHECKING:
    from .runtime.access.aws import Clients
    from .runtime.outcome.errors import StopRequest

__all__ = ["DESCRIPTION", "IAM_ACTIONS", "REGIONAL", "SETTINGS", "Counts", "JobSettings", "run"]

DESCRIPTION = "Delete objects under S3_PREFIX in S3_BUCKET that are older than RETENTION_DAYS."

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


def run(
    settings: Settings, job: JobSettings, clients: Clients, counts: Counts, stop: StopRequest
) -> None:
    """Delete (or, in dry-run, report) every expired object under the prefix."""
    from . import cleanup  # noqa: PLC0415 - the work imports AWS code: only once settings are valid

    cleanup.run(settings, job, clients, counts, stop)

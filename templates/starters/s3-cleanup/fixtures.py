"""What the s3-cleanup job's tests need around them: the environment a run
needs to succeed, bad job settings, buckets that exist on first use, and
the account the job contract's tests run against (``many_pages``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID

__all__ = [
    "BAD_JOB_INPUTS",
    "BUCKET",
    "FAN_OUT_ENV",
    "JOB_ENV",
    "buckets_exist",
    "many_pages",
    "real_buckets",
    "s3_backend",
    "seed_objects",
]

BUCKET = "example-cleanup-bucket"
# What the job needs, on top of the defaults, to run successfully.
JOB_ENV: dict[str, str] = {"S3_BUCKET": BUCKET}
# The same for a run over many targets: bucket names are global, so each
# target gets its own.
FAN_OUT_ENV: dict[str, str] = {**JOB_ENV, "S3_BUCKET": "cleanup-{account}-{region}"}
# Job settings the guardrail tests expect refused before any AWS call.
BAD_JOB_INPUTS: list[dict[str, str]] = [
    {"S3_BUCKET": "Not_A_Bucket"},
    {"S3_PREFIX": "/"},
    {"RETENTION_DAYS": "-5"},
]


def seed_objects(
    bucket: str, keys: list[str], age_days: float, account: str = DEFAULT_ACCOUNT_ID
) -> None:
    """Put objects straight into moto's backend, last modified ``age_days`` ago.

    S3 cannot backdate an object; moto's in-process backend can, and seeding
    there is far faster than one PutObject call per key.
    """
    backend = s3_backend(account)
    moment = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=age_days)
    for key in keys:
        backend.put_object(bucket, key, b"x").last_modified = moment


@pytest.fixture(autouse=True)
def buckets_exist(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Most tests are about something other than the bucket: in them, any
    bucket the job asks for exists (moto makes it on first use). The job
    itself never creates one; tests of a missing bucket ask for ``real_buckets``.
    """
    if "real_buckets" in request.fixturenames:
        return
    from moto.s3.models import S3Backend

    real_get = S3Backend.get_bucket

    def get_or_make(self: Any, bucket_name: str) -> Any:
        if bucket_name not in self.buckets and bucket_name not in _s3_bucket_owners():
            self.create_bucket(bucket_name, _region())
        return real_get(self, bucket_name)

    monkeypatch.setattr(S3Backend, "get_bucket", get_or_make)


def s3_backend(account: str = DEFAULT_ACCOUNT_ID) -> Any:
    """moto's S3 backend of ``account`` in the tests' partition (aws, aws-cn or
    aws-us-gov, from the project's region): where the job's calls land."""
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    return s3_backends[account][get_partition(_region())]


def _region() -> str:
    from .conftest import REGION  # conftest imports this module: not at import time

    return REGION


def _s3_bucket_owners() -> Any:
    from moto.s3.models import s3_backends

    return s3_backends.bucket_accounts


@pytest.fixture
def real_buckets() -> None:
    """Asked for by tests where a missing bucket must stay missing."""


@pytest.fixture
def many_pages(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The job contract's account (``tests/test_job_contract.py``): one where
    the job's listing takes more than one page and an apply run has more
    than one change to make. Returns the listing's operation name, whose
    pages the contract counts.

    Here: five expired objects under the default prefix, listed two a page
    (``listing.LIST_PAGE_SIZE`` made small: 1,001 objects would take the same
    path, only slower), all in one delete batch."""
    from {{ cookiecutter.package_name }} import listing

    monkeypatch.setattr(listing, "LIST_PAGE_SIZE", 2)
    seed_objects(BUCKET, [f"temp/contract-{number}" for number in range(5)], age_days=90)
    return "ListObjectsV2"

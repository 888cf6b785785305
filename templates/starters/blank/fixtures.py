"""What the blank job's tests need around them: the environment a run needs
to succeed (nothing yet), job settings that must be refused, and the
account the job contract's tests run against (``many_pages``).

Add a job setting with no default and it goes into JOB_ENV; add its bad
values to BAD_JOB_INPUTS and the guardrail tests check each is refused
before any AWS call. When the job lists something else, or changes items,
make ``many_pages`` fill the account with that.
"""

from __future__ import annotations

import pytest

__all__ = ["BAD_JOB_INPUTS", "FAN_OUT_ENV", "JOB_ENV", "many_pages"]

# What the job needs, on top of the defaults, to run successfully.
JOB_ENV: dict[str, str] = {}
# The same for a run over many targets.
FAN_OUT_ENV: dict[str, str] = dict(JOB_ENV)
# Job settings the guardrail tests expect refused before any AWS call.
BAD_JOB_INPUTS: list[dict[str, str]] = []


@pytest.fixture
def many_pages(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The job contract's account (``tests/test_job_contract.py``): one where
    the job's listing takes more than one page and, once the job changes
    things, an apply run has more than one change to make. Returns the
    listing's operation name, whose pages the contract counts.

    Here: three buckets, served one a page (moto answers ``ListBuckets`` in
    one page whatever the count)."""
    import boto3

    from .conftest import REGION, make_bucket, serve_in_pages

    s3 = boto3.client("s3", region_name=REGION)
    for number in range(3):
        make_bucket(s3, f"contract-bucket-{number}")
    serve_in_pages(monkeypatch, "ListBuckets", "Buckets", token="ContinuationToken", size=1)
    return "ListBuckets"

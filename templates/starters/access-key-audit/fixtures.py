"""What the access-key-audit job's tests need around them: the environment a
run needs to succeed (nothing: an account with no stale key exits 0), bad job
settings, and IAM users with keys of a chosen age and last use.

IAM cannot backdate a key's CreateDate, and nothing in its API sets a key's
last use; moto's in-process backend can, so ``seed_key`` reaches into it (as
s3-cleanup's ``seed_objects`` does for S3). ``many_pages`` is the account
the job contract's tests run against.
"""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID

__all__ = ["BAD_JOB_INPUTS", "FAN_OUT_ENV", "JOB_ENV", "many_pages", "moto_iam_region", "seed_key"]

# What the job needs, on top of the defaults, to run successfully.
JOB_ENV: dict[str, str] = {}
# The same for a run over many targets.
FAN_OUT_ENV: dict[str, str] = dict(JOB_ENV)
# Job settings the guardrail tests expect refused before any AWS call.
BAD_JOB_INPUTS: list[dict[str, str]] = [
    {"MAX_KEY_AGE_DAYS": "-1"},
    {"MAX_KEY_AGE_DAYS": " "},
    {"MAX_KEY_AGE_DAYS": "abc"},
    {"MAX_UNUSED_DAYS": "0"},
    {"EXEMPT_TAG_KEY": "x" * 129},
    # Not an IAM tag key: only letters, numbers, spaces and _ . : / = + - @.
    {"EXEMPT_TAG_KEY": ","},
    {"EXEMPT_TAG_KEY": "{" * 2 + " 7*7 " + "}" * 2},  # a template expression
    {"EXEMPT_TAG_KEY": "{account}"},
    {"EXEMPT_TAG_KEY": "exempt\x07"},
    {"EXEMPT_TAG_KEY": "exempt\U0001f600"},
    {"EXEMPT_TAG_KEY": "exempt\nkey"},
    {"EXEMPT_TAG_KEY": "aws:exempt"},
    {"REPORT_PATH": "s3://"},
    {"REPORT_PATH": "s3://example-bucket/"},
    {"REPORT_PATH": "/no/such/directory/report.jsonl"},
    {"REPORT_PATH": "s3:///key.jsonl"},
    {"REPORT_PATH": "/x/{foo}.jsonl"},
    {"REPORT_PATH": "x" * 300 + ".jsonl"},
]


def seed_key(
    user: str,
    *,
    age_days: float,
    used_days_ago: float | None = None,
    service: str = "s3",
    status: str = "Active",
    tags: dict[str, str] | None = None,
    account: str = DEFAULT_ACCOUNT_ID,
) -> str:
    """Give ``user`` (made if missing) an access key created ``age_days`` ago,
    last used ``used_days_ago`` (None: never); return the key's id.

    Everything is made where moto serves the run's IAM calls from
    (``moto_iam_region``): moto keeps one IAM per partition, as AWS does, and
    names a user's ARN after the region it was made in, so a user made in
    another partition is one the run never sees.
    """
    from moto.iam.models import AccessKeyLastUsed, iam_backends
    from moto.utilities.utils import get_partition

    region = moto_iam_region()
    backend: Any = iam_backends[account][get_partition(region)]
    if user not in backend.users:
        backend.create_user(region, user, path="/", tags=[])
    if tags:
        backend.tag_user(user, [{"Key": key, "Value": value} for key, value in tags.items()])
    key = backend.create_access_key(user, prefix="AKIA", status=status)
    now = datetime.now(UTC).replace(tzinfo=None)
    key.create_date = now - timedelta(days=age_days)
    if used_days_ago is not None:
        key.last_used = AccessKeyLastUsed(now - timedelta(days=used_days_ago), service, region)
    access_key_id: str = key.access_key_id
    return access_key_id


def moto_iam_region() -> str:
    """The region moto reads in the run's IAM calls, whose partition's IAM
    answers them.

    moto reads the region in the endpoint's host name, else the signing
    region. For ``cn-north-1`` both give ``aws-cn``, as AWS does; GovCloud's
    IAM endpoint, ``iam.us-gov.amazonaws.com``, names ``us-gov``, which moto
    serves from ``aws``, while through an endpoint URL (moto's server) the
    signing region gives ``aws-us-gov``. Asking moto's own rule, with the
    host botocore calls, keeps the seeded users where the run looks.
    """
    from moto.core.responses import BaseResponse

    from .conftest import REGION  # conftest imports this module: not at import time

    if os.environ.get("AWS_ENDPOINT_URL_IAM") or os.environ.get("AWS_ENDPOINT_URL"):
        return REGION  # no region in the host: moto reads the signing region
    host, signing_region = _iam_endpoint(REGION)
    in_host = BaseResponse.region_regex.search(f"https://{host}")
    return in_host.group("region") if in_host else signing_region


@functools.cache
def _iam_endpoint(region: str) -> tuple[str, str]:
    """IAM's host name and signing region for ``region``, from botocore's
    endpoint data (no session: the test's AWS profile and files stay unread)."""
    from botocore.loaders import create_loader
    from botocore.regions import EndpointResolver

    resolver = EndpointResolver(create_loader().load_data("endpoints"))
    endpoint: Any = resolver.construct_endpoint("iam", region) or {}
    scope = endpoint.get("credentialScope", {}).get("region", region)
    return str(endpoint.get("hostname", "")), str(scope)


@pytest.fixture
def many_pages(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The job contract's account (``tests/test_job_contract.py``): one where
    the job's listing takes more than one page and an apply run has more
    than one change to make. Returns the listing's operation name, whose
    pages the contract counts.

    Here: three users, each with a key older than the default
    ``MAX_KEY_AGE_DAYS``, served one user a page (moto answers
    ``ListUsers`` in one page whatever the count)."""
    from .conftest import serve_in_pages  # conftest imports this module: not at import time

    for number in range(3):
        seed_key(f"contract-user-{number}", age_days=400)
    serve_in_pages(
        monkeypatch, "ListUsers", "Users", token="Marker", size=1, truncated="IsTruncated"
    )
    return "ListUsers"

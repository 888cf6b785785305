"""What the access-key-audit job's tests need around them: the environment a
run needs to succeed (nothing: an account with no stale key exits 0), bad job
settings, and IAM users with keys of a chosen age and last use.

IAM cannot backdate a key's CreateDate, and nothing in its API sets a key's
last use; moto's in-process backend can, so ``seed_key`` reaches into it (as
s3-cleanup's ``seed_objects`` does for S3). ``many_pages`` is the account
the job contract's tests run against.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID

__all__ = ["BAD_JOB_INPUTS", "FAN_OUT_ENV", "JOB_ENV", "many_pages", "seed_key"]

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
    last used ``used_days_ago`` (None: never); return the key's id."""
    from moto.iam.models import AccessKeyLastUsed, iam_backends

    backend: Any = iam_backends[account]["aws"]
    if user not in backend.users:
        backend.create_user(None, user, path="/", tags=[])
    if tags:
        backend.tag_user(user, [{"Key": key, "Value": value} for key, value in tags.items()])
    key = backend.create_access_key(user, prefix="AKIA", status=status)
    now = datetime.now(UTC).replace(tzinfo=None)
    key.create_date = now - timedelta(days=age_days)
    if used_days_ago is not None:
        key.last_used = AccessKeyLastUsed(now - timedelta(days=used_days_ago), service, "us-east-1")
    access_key_id: str = key.access_key_id
    return access_key_id


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

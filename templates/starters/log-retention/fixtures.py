"""What the log-retention job's tests need around them: the environment a
run needs to succeed (nothing: every setting has a default), job settings
that must be refused before any AWS call, and the account the job
contract's tests run against (``many_pages``)."""

from __future__ import annotations

import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID

__all__ = ["BAD_JOB_INPUTS", "FAN_OUT_ENV", "JOB_ENV", "many_pages"]

# What the job needs, on top of the defaults, to run successfully.
JOB_ENV: dict[str, str] = {}
# The same for a run over many targets: every target gets the same settings.
FAN_OUT_ENV: dict[str, str] = dict(JOB_ENV)
# Job settings the guardrail tests expect refused before any AWS call.
BAD_JOB_INPUTS: list[dict[str, str]] = [
    {"RETENTION_DAYS": "2"},  # a number CloudWatch Logs does not accept
    {"RETENTION_DAYS": "0"},
    {"RETENTION_DAYS": "30x"},
    {"RETENTION_DAYS": " "},  # blank: never read as "the default"
    {"RETENTION_MODE": "shorten"},
    {"LOG_GROUP_PREFIX": "/aws/lambda/*"},  # not a character of a log group name
    {"EXEMPT_TAG_KEY": " "},
    {"EXEMPT_TAG_KEY": "x" * 129},
    {"EXEMPT_TAG_KEY": "exempt,please"},  # not a character of a tag key
    {"EXEMPT_TAG_KEY": "exempt\u2028key"},  # a line separator would split a text log line
]


@pytest.fixture
def many_pages(aws: None) -> str:
    """The job contract's account (``tests/test_job_contract.py``): one where
    the job's listing takes more than one page and an apply run has more
    than one change to make. Returns the listing's operation name, whose
    pages the contract counts.

    Here: 51 log groups that keep logs forever, one more than a page of
    ``DescribeLogGroups`` holds (made in moto's backend: far faster than a
    call each)."""
    from moto.logs.models import logs_backends

    from .conftest import REGION  # conftest imports this module: not at import time

    backend = logs_backends[DEFAULT_ACCOUNT_ID][REGION]
    for number in range(51):
        backend.create_log_group(f"/contract/group-{number:02d}", {})
    return "DescribeLogGroups"

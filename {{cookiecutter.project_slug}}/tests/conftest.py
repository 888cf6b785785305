# Maintained by the template: a template update replaces this file. Your tests go in test_job.py.
"""Shared fixtures: a sealed AWS environment, moto, and a CLI runner.

Every test runs with fake credentials, no profile files, the instance
metadata service disabled and no endpoint override, so nothing can reach a
real AWS account or any address off this machine.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import botocore.client
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from {{ cookiecutter.package_name }} import job
from {{ cookiecutter.package_name }}.runtime.output import (
    redact,
)
from {{ cookiecutter.package_name }}.runtime.run.cli import (
    # The job's own fixtures and settings (JOB_ENV, FAN_OUT_ENV, BAD_JOB_INPUTS).
    main,
)

from .job_fixtures import *  # noqa: F403

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType

REGION = {{ cookiecutter.aws_region | tojson }}
ACCOUNT_ID = "123456789012"  # moto's default account
# REGION's partition, and another region in it for fan-out tests: a run
# never crosses partitions, and moto keeps each apart as AWS does.
PARTITION, _REGIONS = next(
    (partition, regions)
    for prefix, partition, regions in (
        ("cn-", "aws-cn", ("cn-northwest-1", "cn-north-1")),
        ("us-gov-", "aws-us-gov", ("us-gov-east-1", "us-gov-west-1")),
        ("", "aws", ("eu-west-1", "us-west-2")),
    )
    if REGION.startswith(prefix)
)
OTHER_REGION = next(region for region in _REGIONS if region != REGION)


@dataclass
class CliRun:
    code: int
    lines: list[dict[str, Any]]
    stderr: str

    @property
    def summary(self) -> dict[str, Any]:
        return self.lines[-1]

    def messages(self) -> list[str]:
        return [line["message"] for line in self.lines]


@pytest.fixture(autouse=True, scope="session")
def sigint_as_at_a_terminal() -> Iterator[None]:
    """Tests send SIGINT as Ctrl-C at a terminal would, however pytest was started.

    A shell script's ``pytest &`` (and some CI launchers) starts it with
    SIGINT ignored, and the run keeps an ignored SIGINT ignored (docs/safety.md,
    "Signals"): without this, every test that sends one would fail there.
    """
    if signal.getsignal(signal.SIGINT) != signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture(autouse=True)
def sealed_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_REGION",
        "AWS_MAX_ATTEMPTS",
        "AWS_RETRY_MODE",
        "ASSUME_ROLE_ARN",
        "ALLOWED_ACCOUNT_IDS",
        "DRY_RUN",
        "ENVIRONMENT",
        "LOG_LEVEL",
        "CONNECT_TIMEOUT",
        "READ_TIMEOUT",
        "TARGET_ACCOUNTS",
        "TARGET_ROLE_NAME",
        "TARGET_REGIONS",
        "MAX_PARALLEL_TARGETS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    # The baked allow-list may name real accounts; tests run in moto's.
    monkeypatch.setenv("ALLOWED_ACCOUNT_IDS", ACCOUNT_ID)


@pytest.fixture(autouse=True)
def no_secrets_from_other_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start each test with no registered secret values.

    A run registers the secrets it reads for the rest of the process, which
    is right for a run (and a warm Lambda container) but would let one
    test's secret scrub another test's output and hide what it checks.
    """
    monkeypatch.setattr(redact, "_secrets", set())
    monkeypatch.setattr(redact, "_long", [])
    monkeypatch.setattr(redact, "_short", [])


def make_bucket(s3: S3Client, name: str) -> None:
    """Create a bucket in the client's region (us-east-1 takes no constraint).

    A bucket this account already owns is kept, in every region as in
    us-east-1: a job's fixtures may have made it on first use.
    """
    region = s3.meta.region_name
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            location = cast("BucketLocationConstraintType", region)
            configuration: Any = {"LocationConstraint": location}
            s3.create_bucket(Bucket=name, CreateBucketConfiguration=configuration)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass


# What an intercept hook gets to make a call as it would have gone.
Send = Callable[[str, dict[str, Any]], Any]
Hook = Callable[[str, dict[str, Any], Send], Any]


def intercept(monkeypatch: pytest.MonkeyPatch, hook: Hook) -> None:
    """Put ``hook`` between every client and moto, in-process, for one test.

    The hook is called with each call's operation name, its parameters and
    ``send``, which makes a call (this one, or another) as it would have
    gone. It returns the answer, as sent or changed, or raises the error a
    real account would give (``client_error``), which then takes botocore's
    real error path. Hooks installed one after another all run, the last
    one first.
    """
    inner = vars(botocore.client.BaseClient)["_make_api_call"]

    def call(self: Any, operation_name: str, api_params: Any) -> Any:
        def send(name: str, params: dict[str, Any]) -> Any:
            return inner(self, name, params)

        return hook(operation_name, api_params, send)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", call)


def client_error(operation_name: str, code: str, status: int, message: str = "") -> ClientError:
    """The error AWS answers ``operation_name`` with, as botocore raises it."""
    response: Any = {
        "Error": {"Code": code, "Message": message or f"{code} (injected)"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation_name)


def serve_in_pages(
    monkeypatch: pytest.MonkeyPatch,
    operation: str,
    items: str,
    *,
    token: str,
    size: int,
    truncated: str | None = None,
) -> None:
    """Answer ``operation`` with ``size`` of its ``items`` a page, as AWS
    does with a longer listing, for one test.

    moto answers some listings in one page however long they are (S3
    ``ListBuckets``, IAM ``ListUsers``); a test of what a job does between
    pages needs the pages. ``token`` is the continuation field the request
    sends back and the answer carries (``ContinuationToken``, ``Marker``);
    ``truncated`` a flag the answer also carries (IAM's ``IsTruncated``).
    """

    def page(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name != operation:
            return send(operation_name, api_params)
        start = int(api_params.get(token) or 0)
        answer = dict(send(operation_name, {k: v for k, v in api_params.items() if k != token}))
        every = list(answer.get(items, []))
        answer[items] = every[start : start + size]
        more = start + size < len(every)
        answer.pop(token, None)
        if more:
            answer[token] = str(start + size)
        if truncated is not None:
            answer[truncated] = more
        return answer

    intercept(monkeypatch, page)


@pytest.fixture
def api_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the operation name of every AWS call made by any client."""
    calls: list[str] = []

    def record(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        calls.append(operation_name)
        return send(operation_name, api_params)

    intercept(monkeypatch, record)
    return calls


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@dataclass(frozen=True)
class Organization:
    management: str
    members: tuple[str, ...]  # active member accounts
    suspended: str  # a closed member: listed, but not ACTIVE

    @property
    def active(self) -> tuple[str, ...]:
        return (self.management, *self.members)


@pytest.fixture
def organization(aws: None) -> Organization:
    """An AWS Organization in moto: three active members and one suspended."""
    import boto3

    org = boto3.client("organizations", region_name=REGION)
    org.create_organization(FeatureSet="ALL")

    def create(name: str) -> str:
        status = org.create_account(Email=f"{name}@example.com", AccountName=name)
        account_id = status["CreateAccountStatus"].get("AccountId")
        assert account_id, status  # moto creates the account at once (AWS: IN_PROGRESS first)
        return account_id

    members = tuple(create(f"member-{number}") for number in range(3))
    suspended = create("closed")
    org.close_account(AccountId=suspended)
    return Organization(management=ACCOUNT_ID, members=members, suspended=suspended)


@pytest.fixture
def deny_assume_role(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Accounts added to the returned set answer AssumeRole with AccessDenied.

    moto lets any role be assumed; a real account refuses when the role is
    missing or does not trust the caller. This gives the same error.
    """
    denied: set[str] = set()

    def refuse(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "AssumeRole" and api_params["RoleArn"].split(":")[4] in denied:
            message = "not authorized: sts:AssumeRole"
            raise client_error(operation_name, "AccessDenied", 403, message)
        return send(operation_name, api_params)

    intercept(monkeypatch, refuse)
    return denied


class RunCli(Protocol):
    def __call__(self, *argv: str, env: Mapping[str, str] | None = None) -> CliRun: ...


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Run ``main`` in-process with extra environment; parse its JSON log lines."""

    def run(*argv: str, env: Mapping[str, str] | None = None) -> CliRun:
        capsys.readouterr()
        code = main(job, list(argv), {**os.environ, **(env or {})})
        out, err = capsys.readouterr()
        lines = [json.loads(line) for line in out.splitlines() if line.strip()]
        return CliRun(code=code, lines=lines, stderr=err)

    return run

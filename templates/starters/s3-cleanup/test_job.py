"""The S3 cleanup job against moto: dry-run, apply, idempotency, batching."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from {{ cookiecutter.package_name }} import deleting, job, listing
from {{ cookiecutter.package_name }}.runtime.access.aws import (
    Clients,
    session_policy,
)
from {{ cookiecutter.package_name }}.runtime.outcome.errors import (
    AwsError,
    Interrupted,
    PartialFailure,
    StopRequest,
)
from {{ cookiecutter.package_name }}.runtime.run import (
    cli,
)
from {{ cookiecutter.package_name }}.runtime.run.cli import (
    build_parser,
)
from {{ cookiecutter.package_name }}.runtime.settings import (
    config,
)

{% if cookiecutter.deploy_target == "lambda" -%}
from . import test_handler
{% endif -%}
from .conftest import (
    ACCOUNT_ID,
    BUCKET,
    REGION,
    Organization,
    RunCli,
    Send,
    client_error,
    intercept,
    make_bucket,
    s3_backend,
    seed_objects,
)
{%- if cookiecutter.deploy_target == "lambda" %}
from .test_handler import function_environment  # noqa: F401  (asked for by name below)
{%- endif %}

OLD = ["temp/a.log", "temp/b.log", "temp/deep/c.log"]
NEW = ["temp/new.log"]
OUTSIDE = ["keep/old.log", "temporary/old.log"]
READ_ONLY = {"GetBucketVersioning", "ListObjectsV2", "ListObjectVersions"}

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef


@dataclass
class Recorder:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, dict(params)))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def writes(self) -> list[str]:
        return [name for name in self.names() if name not in READ_ONLY]


@dataclass
class Harness:
    clients: Clients
    recorder: Recorder

    def run(self, *argv: str, **env: str) -> job.Counts:
        args = build_parser(job).parse_args(list(argv))
        settings, job_settings = config.load(
            args, {"S3_BUCKET": BUCKET, **env}, job.JobSettings, job.SETTINGS
        )
        clients = Clients(settings, "test-run")  # in the run's own region
        clients.session.events.register("before-parameter-build", self.recorder)
        counts = job.Counts()
        job.run(settings, job_settings, clients, counts, StopRequest())
        return counts

    def remaining(self, bucket: str = BUCKET) -> set[str]:
        pages = self.clients.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        keys: set[str] = set()
        for page in pages:
            for item in page.get("Contents", []):
                assert "Key" in item, item  # S3 names every object it lists
                keys.add(item["Key"])
        return keys


@pytest.fixture
def harness(aws: None) -> Harness:
    args = build_parser(job).parse_args([])
    settings, _ = config.load(args, {"S3_BUCKET": BUCKET}, job.JobSettings, job.SETTINGS)
    clients = Clients(settings, "test-run")
    recorder = Recorder()
    clients.session.events.register("before-parameter-build", recorder)
    return Harness(clients, recorder)


@pytest.fixture
def seeded(harness: Harness) -> Harness:
    make_bucket(harness.clients.s3, BUCKET)
    seed_objects(BUCKET, OLD + OUTSIDE, age_days=45)
    seed_objects(BUCKET, NEW, age_days=1)
    harness.recorder.calls.clear()
    return harness


def test_dry_run_reports_and_sends_no_write_call(seeded: Harness) -> None:
    counts = seeded.run()
    assert (counts.matched, counts.deleted, counts.failed) == (3, 0, 0)
    assert counts.listed == 4  # only keys under temp/ are listed
    assert seeded.recorder.writes() == []
    assert seeded.remaining() == set(OLD + NEW + OUTSIDE)


def test_apply_deletes_only_expired_objects_under_the_prefix(seeded: Harness) -> None:
    counts = seeded.run("--apply")
    assert (counts.matched, counts.deleted, counts.failed) == (3, 3, 0)
    assert seeded.remaining() == set(NEW + OUTSIDE)


def test_apply_twice_equals_apply_once(seeded: Harness) -> None:
    seeded.run("--apply")
    after_first = seeded.remaining()
    counts = seeded.run("--apply")
    assert (counts.matched, counts.deleted) == (0, 0)
    assert seeded.remaining() == after_first
    assert "DeleteObjects" not in seeded.recorder.names()[-3:]


def test_retention_days_bound_the_cutoff(seeded: Harness) -> None:
    assert seeded.run("--apply", "--retention-days", "60").matched == 0
    assert seeded.run("--apply", "--retention-days", "0").deleted == 4
    assert seeded.remaining() == set(OUTSIDE)


def test_prefix_flag_and_environment(seeded: Harness) -> None:
    counts = seeded.run("--apply", "--prefix", "keep/", S3_PREFIX="temp/")
    assert counts.deleted == 1
    assert "keep/old.log" not in seeded.remaining()
    assert "temp/a.log" in seeded.remaining()


def test_deletes_go_in_batches_of_at_most_1000_keys(harness: Harness) -> None:
    make_bucket(harness.clients.s3, BUCKET)
    seed_objects(BUCKET, [f"temp/{i:05d}" for i in range(2500)], age_days=90)
    harness.recorder.calls.clear()
    counts = harness.run("--apply")
    deletes = [params for name, params in harness.recorder.calls if name == "DeleteObjects"]
    batches = sorted(len(params["Delete"]["Objects"]) for params in deletes)
    assert batches == [500, 1000, 1000]
    assert harness.recorder.names().count("ListObjectsV2") == 3
    assert (counts.matched, counts.deleted) == (2500, 2500)
    assert harness.remaining() == set()


@pytest.mark.parametrize("mode", [(), ("--apply",)], ids=["dry-run", "apply"])
def test_a_missing_bucket_is_an_error_naming_it_and_nothing_is_created(
    real_buckets: None, harness: Harness, mode: tuple[str, ...]
) -> None:
    with pytest.raises(AwsError, match=f"no such bucket: {BUCKET}$"):
        harness.run(*mode)
    assert harness.recorder.writes() == []
    assert harness.clients.s3.list_buckets()["Buckets"] == []


def test_a_missing_bucket_exits_5_from_the_cli(
    real_buckets: None, aws: None, run_cli: RunCli
) -> None:
    done = run_cli("--apply", "--bucket", "exmaple-bucket")
    assert done.code == 5
    assert any("no such bucket: exmaple-bucket" in line["message"] for line in done.lines)


def test_per_key_failures_are_counted_and_fail_the_run(
    seeded: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = seeded.clients.s3
    real_delete = s3.delete_objects

    def refuse_first_key(**kwargs: Any) -> Any:
        objects = kwargs["Delete"]["Objects"]
        kwargs["Delete"]["Objects"] = [item for item in objects if item["Key"] != OLD[0]]
        response: dict[str, Any] = {}
        if kwargs["Delete"]["Objects"]:
            response = dict(real_delete(**kwargs))
        if len(kwargs["Delete"]["Objects"]) < len(objects):
            response["Errors"] = [{"Key": OLD[0], "Code": "InternalError", "Message": "x"}]
        return response

    monkeypatch.setattr(s3, "delete_objects", refuse_first_key)
    counts = job.Counts()
    args = build_parser(job).parse_args(["--apply"])
    settings, job_settings = config.load(args, {"S3_BUCKET": BUCKET}, job.JobSettings, job.SETTINGS)
    with pytest.raises(PartialFailure, match="1 object"):
        job.run(settings, job_settings, seeded.clients, counts, StopRequest())
    assert (counts.matched, counts.deleted, counts.failed) == (3, 2, 1)
    assert seeded.remaining() & set(OLD) == {OLD[0]}


def test_transient_key_failures_are_retried(
    seeded: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = seeded.clients.s3
    real_delete = s3.delete_objects
    refused: list[str] = []

    def slow_down_once(**kwargs: Any) -> Any:
        objects = kwargs["Delete"]["Objects"]
        if refused:
            return real_delete(**kwargs)
        refused.append(objects[0]["Key"])
        kwargs["Delete"]["Objects"] = objects[1:]
        response = real_delete(**kwargs)
        response["Errors"] = [{"Key": objects[0]["Key"], "Code": "SlowDown", "Message": "x"}]
        return response

    monkeypatch.setattr(s3, "delete_objects", slow_down_once)
    counts = job.Counts()
    args = build_parser(job).parse_args(["--apply"])
    settings, job_settings = config.load(args, {"S3_BUCKET": BUCKET}, job.JobSettings, job.SETTINGS)
    job.run(settings, job_settings, seeded.clients, counts, StopRequest())
    assert (counts.matched, counts.deleted, counts.failed) == (3, 3, 0)
    assert seeded.remaining() == set(NEW + OUTSIDE)


def test_access_denied_keys_are_not_retried(
    seeded: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = seeded.clients.s3
    calls: list[int] = []

    def deny_all(**kwargs: Any) -> Any:
        objects = kwargs["Delete"]["Objects"]
        calls.append(len(objects))
        errors = [{"Key": o["Key"], "Code": "AccessDenied", "Message": "no"} for o in objects]
        return {"Errors": errors}

    monkeypatch.setattr(s3, "delete_objects", deny_all)
    objects: list[ObjectIdentifierTypeDef] = [{"Key": key} for key in OLD]
    result = deleting.delete_batch(s3, BUCKET, "temp/", objects, StopRequest())
    assert (len(result.deleted), len(result.failed)) == (0, 3)
    assert calls == [3]


def test_a_stop_request_ends_the_run_between_batches(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_bucket(harness.clients.s3, BUCKET)
    seed_objects(BUCKET, [f"temp/{i:05d}" for i in range(3500)], age_days=90)
    stop = StopRequest()
    real_delete = deleting.delete_batch

    def delete_then_signal(*args: Any) -> deleting.BatchResult:
        result = real_delete(*args)
        stop.request(15)  # as if SIGTERM arrived while this batch was in flight
        return result

    monkeypatch.setattr(deleting, "delete_batch", delete_then_signal)
    args = build_parser(job).parse_args(["--apply", "--max-workers", "1"])
    settings, job_settings = config.load(args, {"S3_BUCKET": BUCKET}, job.JobSettings, job.SETTINGS)
    counts = job.Counts()
    with pytest.raises(Interrupted):
        job.run(settings, job_settings, harness.clients, counts, stop)
    left = len(harness.remaining())
    assert counts.deleted == 3500 - left  # the counts match what really happened
    assert 0 < counts.deleted < 3500
    monkeypatch.setattr(deleting, "delete_batch", real_delete)
    again = harness.run("--apply")  # a re-run finishes the rest
    assert again.deleted == left
    assert harness.remaining() == set()


# S3 operation -> the IAM action it needs (None: no permission needed).
OPERATION_ACTIONS = {
    "GetCallerIdentity": None,
    "ListObjectsV2": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "GetBucketVersioning": "s3:GetBucketVersioning",
    "Publish": "sns:Publish",
}


def test_every_call_the_job_makes_is_covered_by_iam_actions(harness: Harness) -> None:
    import boto3

    setup_sns = boto3.client("sns", region_name=REGION)  # not recorded: test set-up
    setup_s3 = boto3.client("s3", region_name=REGION)
    topic = setup_sns.create_topic(Name="cleanup")["TopicArn"]
    make_bucket(setup_s3, BUCKET)
    seed_objects(BUCKET, OLD, age_days=45)
    harness.recorder.calls.clear()
    harness.run("--apply", SNS_TOPIC_ARN=topic)  # deletes, publishes
    setup_s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    seed_objects(BUCKET, OLD, age_days=45)
    harness.run("--apply", "--include-versions", SNS_TOPIC_ARN=topic)
    needed: set[str] = set()
    for name, params in harness.recorder.calls:
        if name == "DeleteObjects":
            objects = params["Delete"]["Objects"]
            by_version = any("VersionId" in item for item in objects)
            needed.add("s3:DeleteObjectVersion" if by_version else "s3:DeleteObject")
            if any("ETag" in item for item in objects):
                needed.add("s3:GetObject")  # a delete conditional on an ETag needs both
            continue
        assert name in OPERATION_ACTIONS, f"{name}: map it to an IAM action, add it to IAM_ACTIONS"
        if OPERATION_ACTIONS[name]:
            needed.add(str(OPERATION_ACTIONS[name]))
    assert needed <= set(job.IAM_ACTIONS), needed - set(job.IAM_ACTIONS)
    assert {"s3:DeleteObjectVersion", "s3:GetObject"} <= needed


def test_delete_batch_refuses_more_than_1000_keys(harness: Harness) -> None:
    with pytest.raises(ValueError, match="at most 1000"):
        deleting.delete_batch(
            harness.clients.s3, BUCKET, "temp/", [{"Key": "k"}] * 1001, StopRequest()
        )
    assert harness.recorder.writes() == []


def test_summary_is_published_to_sns_only_when_applying(seeded: Harness) -> None:
    topic = seeded.clients.sns.create_topic(Name="cleanup")["TopicArn"]
    seeded.recorder.calls.clear()
    seeded.run(SNS_TOPIC_ARN=topic)
    assert "Publish" not in seeded.recorder.names()
    seeded.run("--apply", SNS_TOPIC_ARN=topic)
    (publish,) = [p for n, p in seeded.recorder.calls if n == "Publish"]
    assert publish["TopicArn"] == topic
    assert '"deleted": 3' in publish["Message"]


def test_cli_end_to_end_reports_counts_in_the_summary(aws: None, run_cli: RunCli) -> None:
    import boto3

    make_bucket(boto3.client("s3", region_name=REGION), BUCKET)
    seed_objects(BUCKET, OLD, age_days=45)
    dry = run_cli("--bucket", BUCKET)
    assert dry.code == 0
    assert (dry.summary["matched"], dry.summary["deleted"], dry.summary["dry_run"]) == (3, 0, True)
    assert sum(line["message"] == "would delete" for line in dry.lines) == 3
    applied = run_cli("--bucket", BUCKET, env={"DRY_RUN": "false"})
    assert (applied.summary["matched"], applied.summary["deleted"]) == (3, 3)
    assert applied.summary["dry_run"] is False


def test_missing_sns_topic_is_an_aws_error_exit_5(aws: None, run_cli: RunCli) -> None:
    import boto3

    make_bucket(boto3.client("s3", region_name=REGION), BUCKET)
    seed_objects(BUCKET, OLD, age_days=45)
    topic = f"arn:aws:sns:{REGION}:123456789012:missing"
    result = run_cli("--apply", "--bucket", BUCKET, env={"SNS_TOPIC_ARN": topic})
    assert result.code == 5
    assert result.summary["deleted"] == 3  # counts reflect the work done before the failure


def test_deleting_overlaps_listing_with_bounded_workers(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_bucket(harness.clients.s3, BUCKET)
    seed_objects(BUCKET, [f"temp/{i:05d}" for i in range(5000)], age_days=90)
    lock = threading.Lock()
    state = {"calls": 0, "in_flight": 0, "most": 0, "lists_during_delete": 0}
    # The first two batches wait for each other: the second can only start
    # if the next page was listed while the first was in flight, and the
    # barrier breaks (failing the test) unless both run at once.
    both_in_flight = threading.Barrier(2, timeout=30)
    real_delete = deleting.delete_batch

    def delete_in_step(*args: Any) -> deleting.BatchResult:
        with lock:
            state["calls"] += 1
            first_two = state["calls"] <= 2
            state["in_flight"] += 1
            state["most"] = max(state["most"], state["in_flight"])
        try:
            if first_two:
                both_in_flight.wait()
            return real_delete(*args)
        finally:
            with lock:
                state["in_flight"] -= 1

    def count_lists(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "ListObjectsV2" and state["in_flight"]:
            state["lists_during_delete"] += 1

    monkeypatch.setattr(deleting, "delete_batch", delete_in_step)
    harness.clients.s3.meta.events.register("before-parameter-build", count_lists)
    args = build_parser(job).parse_args(["--apply", "--max-workers", "2"])
    settings, job_settings = config.load(args, {"S3_BUCKET": BUCKET}, job.JobSettings, job.SETTINGS)
    counts = job.Counts()
    job.run(settings, job_settings, harness.clients, counts, StopRequest())
    assert (counts.matched, counts.deleted) == (5000, 5000)
    assert state["most"] == 2  # bounded by MAX_WORKERS, and really parallel
    assert state["lists_during_delete"] >= 1  # the next page was fetched meanwhile
    assert harness.remaining() == set()


def test_progress_lines_report_the_counts(aws: None, run_cli: RunCli) -> None:
    import boto3

    make_bucket(boto3.client("s3", region_name=REGION), BUCKET)
    seed_objects(BUCKET, [f"temp/{i:05d}" for i in range(2500)], age_days=90)
    result = run_cli("--apply", "--bucket", BUCKET, env={"PROGRESS_INTERVAL": "0"})
    progress = [line for line in result.lines if line["message"] == "progress"]
    assert len(progress) >= 3
    for line in progress:
        assert {"listed", "matched", "deleted", "failed", "skipped", "listed_per_s"} <= line.keys()
    listed = [line["listed"] for line in progress]
    assert listed == sorted(listed)
    assert result.summary["deleted"] == 2500


def backdate_versions(key: str, *ages: float) -> None:
    """Set the age of each stored version (and delete marker) of ``key``, oldest first."""
    versions = s3_backend(ACCOUNT_ID).buckets[BUCKET].keys.getlist(key)
    assert len(versions) == len(ages)
    now = datetime.now(UTC).replace(tzinfo=None)
    for version, age in zip(versions, ages, strict=True):
        version.last_modified = now - timedelta(days=age)


@pytest.fixture
def versioned(harness: Harness) -> Harness:
    s3 = harness.clients.s3
    make_bucket(s3, BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for key in ("temp/old", "temp/old", "temp/mixed", "temp/mixed", "temp/gone", "keep/old"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    s3.delete_object(Bucket=BUCKET, Key="temp/gone")  # leaves a delete marker
    backdate_versions("temp/old", 60, 50)  # both versions expired
    backdate_versions("temp/mixed", 60, 1)  # expired noncurrent, fresh current
    backdate_versions("temp/gone", 60, 40)  # expired version and delete marker
    backdate_versions("keep/old", 90)  # outside the prefix
    harness.recorder.calls.clear()
    return harness


def all_versions(harness: Harness) -> set[tuple[str, bool]]:
    pages = harness.clients.s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET)
    return {
        (item["Key"], item["IsLatest"])
        for page in pages
        for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
    }


def test_versioned_bucket_is_flagged_and_versions_are_kept_by_default(
    versioned: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    counts = versioned.run("--apply")
    assert (counts.matched, counts.deleted) == (1, 1)  # only temp/old's current version
    assert any("noncurrent versions" in record.getMessage() for record in caplog.records)
    assert "ListObjectVersions" not in versioned.recorder.names()
    assert ("temp/old", False) in all_versions(versioned)  # still there, now noncurrent


def test_include_versions_removes_expired_versions_and_markers_idempotently(
    versioned: Harness,
) -> None:
    dry = versioned.run("--include-versions")
    assert dry.matched == 4  # temp/old twice, temp/gone's version and its marker
    assert versioned.recorder.writes() == []
    counts = versioned.run("--apply", "--include-versions")
    assert (counts.matched, counts.deleted, counts.failed) == (4, 4, 0)
    left = {("temp/mixed", True), ("temp/mixed", False), ("keep/old", True)}
    assert all_versions(versioned) == left  # temp/mixed's old version is noncurrent for 1 day
    again = versioned.run("--apply", INCLUDE_VERSIONS="true")
    assert (again.matched, again.deleted) == (0, 0)
    assert all_versions(versioned) == left


def bucket_keys(account: str, bucket: str) -> set[str]:
    return set(s3_backend(account).get_bucket(bucket).keys)


def test_fan_out_apply_cleans_every_account_s_own_bucket(
    organization: Organization, run_cli: RunCli
) -> None:
    for account in organization.active:
        s3_backend(account).create_bucket(f"cleanup-{account}", REGION)
        seed_objects(f"cleanup-{account}", OLD + OUTSIDE, age_days=45, account=account)
        seed_objects(f"cleanup-{account}", NEW, age_days=1, account=account)
    env = {
        "S3_BUCKET": "cleanup-{account}",
        "TARGET_ACCOUNTS": "organization",
        "TARGET_ROLE_NAME": "automation",
        "ALLOWED_ACCOUNT_IDS": ",".join(organization.active),
    }

    done = run_cli("--apply", env=env)

    assert done.code == 0
    for account in organization.active:
        assert bucket_keys(account, f"cleanup-{account}") == set(NEW + OUTSIDE), account
    deleted = {
        line["account"]: line["deleted"]
        for line in done.lines
        if line["message"] == "target finished"
    }
    assert deleted == dict.fromkeys(organization.active, len(OLD))
    assert done.summary["deleted"] == len(OLD) * len(organization.active)

    again = run_cli("--apply", env=env)
    assert (again.code, again.summary["deleted"], again.summary["matched"]) == (0, 0, 0)


def test_fan_out_delete_workers_log_with_the_target_s_account(
    organization: Organization, run_cli: RunCli
) -> None:
    account = organization.members[0]
    s3_backend(account).create_bucket(f"cleanup-{account}", REGION)
    seed_objects(f"cleanup-{account}", OLD, age_days=45, account=account)
    env = {
        "S3_BUCKET": "cleanup-{account}",
        "TARGET_ACCOUNTS": account,
        "TARGET_ROLE_NAME": "automation",
        "ALLOWED_ACCOUNT_IDS": account,
        "LOG_LEVEL": "DEBUG",
    }

    done = run_cli("--apply", env=env)

    batches = [line for line in done.lines if line["message"] == "deleted batch"]
    assert batches
    assert {(line["account"], line["region"]) for line in batches} == {(account, REGION)}
    assert done.code == 0


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        (
            {"TARGET_ACCOUNTS": "organization", "S3_BUCKET": "shared-bucket"},
            "with several target accounts it must contain {account}",
        ),
        (
            {"TARGET_REGIONS": "us-east-1,eu-west-1", "S3_BUCKET": "cleanup-{account}"},
            "with several target regions it must contain {region}",
        ),
        ({"S3_BUCKET": "cleanup-{acount}"}, "unknown placeholder {acount}"),
        (
            {"TARGET_REGIONS": "ap-southeast-2", "S3_BUCKET": "x" * 40 + "-{account}-{region}"},
            "must be 3 to 63 characters long",
        ),
    ],
)
def test_bucket_names_must_differ_per_target_and_stay_valid(
    run_cli: RunCli, api_calls: list[str], env: dict[str, str], problem: str
) -> None:
    if "TARGET_ACCOUNTS" in env:
        env = {"TARGET_ROLE_NAME": "automation", **env}
    done = run_cli(env=env)
    assert done.code == 1
    assert problem in done.stderr
    assert api_calls == []


def test_account_placeholder_is_filled_in_for_a_single_run(aws: None, run_cli: RunCli) -> None:
    make_bucket(boto3_s3(), f"cleanup-{ACCOUNT_ID}")
    seed_objects(f"cleanup-{ACCOUNT_ID}", OLD, age_days=45)

    done = run_cli("--apply", env={"S3_BUCKET": "cleanup-{account}"})

    assert (done.code, done.summary["deleted"]) == (0, len(OLD))
    assert bucket_keys(ACCOUNT_ID, f"cleanup-{ACCOUNT_ID}") == set()


def boto3_s3() -> Any:
    import boto3

    return boto3.client("s3", region_name=REGION)


def apply_run(harness: Harness, *argv: str) -> tuple[job.Counts, BaseException | None]:
    """Run with --apply and one worker; return the counts and what was raised."""
    args = build_parser(job).parse_args(["--apply", "--max-workers", "1", *argv])
    settings, job_settings = config.load(args, {"S3_BUCKET": BUCKET}, job.JobSettings, job.SETTINGS)
    counts = job.Counts()
    try:
        job.run(settings, job_settings, harness.clients, counts, StopRequest())
    except Exception as error:  # noqa: BLE001 - the test inspects it
        return counts, error
    return counts, None


def assert_true_counts(counts: job.Counts) -> None:
    assert counts.matched == counts.deleted + counts.failed + counts.skipped
    assert min(counts.as_dict().values()) >= 0


KEYS_2500 = [f"temp/{i:05d}" for i in range(2500)]


def test_a_batch_that_fails_for_good_counts_its_keys_and_the_run_goes_on(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    make_bucket(harness.clients.s3, BUCKET)
    seed_objects(BUCKET, KEYS_2500, age_days=90)
    s3 = harness.clients.s3
    real_delete = s3.delete_objects

    def second_batch_fails(**kwargs: Any) -> Any:
        if kwargs["Delete"]["Objects"][0]["Key"] == "temp/01000":
            raise client_error("DeleteObjects", "InternalError", 500)  # retries spent
        return real_delete(**kwargs)

    monkeypatch.setattr(s3, "delete_objects", second_batch_fails)
    counts, error = apply_run(harness)
    assert isinstance(error, PartialFailure)
    assert "1000 object(s)" in str(error)
    assert (counts.matched, counts.deleted, counts.failed) == (2500, 1500, 1000)
    assert counts.listed == 2500  # the listing went on after the failure
    assert harness.remaining() == set(KEYS_2500[1000:2000])  # the batches after it went on
    assert_true_counts(counts)
    settling = "delete call failed; settling its keys"
    (failed,) = [r for r in caplog.records if r.getMessage() == settling]
    assert failed.__dict__["sample"] == KEYS_2500[1000:1010]  # a bounded sample
    assert "InternalError" in failed.__dict__["error"]
    lines = [r for r in caplog.records if r.getMessage() == "could not delete"]
    assert len(lines) == 100  # LOG_KEYS_LIMIT, then one line with the rest
    assert any(r.__dict__.get("keys_not_logged") == 900 for r in caplog.records)


def test_a_network_lost_for_good_ends_the_run_with_3_without_trying_every_batch(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ConnectionClosedError

    make_bucket(harness.clients.s3, BUCKET)
    seed_objects(BUCKET, KEYS_2500, age_days=90)
    s3 = harness.clients.s3
    sent: list[str] = []

    def reset(**kwargs: Any) -> Any:
        sent.append(kwargs["Delete"]["Objects"][0]["Key"])
        raise ConnectionClosedError(endpoint_url="http://127.0.0.1:1/")

    monkeypatch.setenv("MAX_WORKERS", "1")  # one batch in flight at a time
    monkeypatch.setattr(s3, "delete_objects", reset)
    counts, error = apply_run(harness)
    assert isinstance(error, ConnectionClosedError)
    assert cli.exit_code_for(error) == cli.ExitCode.NETWORK
    assert sent == ["temp/00000"]  # the later batches were never sent
    assert_true_counts(counts)
    assert harness.remaining() >= set(KEYS_2500)


def test_a_batch_deleted_before_its_answer_was_lost_counts_as_deleted(
    seeded: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ConnectionClosedError

    s3 = seeded.clients.s3
    real_delete = s3.delete_objects

    def delete_then_reset(**kwargs: Any) -> Any:
        real_delete(**kwargs)
        raise ConnectionClosedError(endpoint_url="http://127.0.0.1:1/")

    monkeypatch.setattr(s3, "delete_objects", delete_then_reset)
    counts, error = apply_run(seeded)
    assert error is None
    assert (counts.matched, counts.deleted, counts.failed) == (3, 3, 0)
    assert seeded.remaining() == set(NEW + OUTSIDE)


def test_a_batch_that_failed_and_cannot_be_settled_counts_as_failed(
    seeded: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ConnectionClosedError

    s3 = seeded.clients.s3

    def reset(**_: Any) -> Any:
        raise ConnectionClosedError(endpoint_url="http://127.0.0.1:1/")

    monkeypatch.setattr(s3, "delete_objects", reset)
    monkeypatch.setattr(deleting, "_listed_etags", lambda *_: None)  # the range is too long to read
    counts, error = apply_run(seeded)
    # A connection lost for good ends the run (exit 3) once the batch is counted.
    assert isinstance(error, ConnectionClosedError)
    assert cli.exit_code_for(error) == cli.ExitCode.NETWORK
    assert (counts.matched, counts.deleted, counts.failed) == (3, 0, 3)


@pytest.mark.parametrize(
    ("slow_over", "deleted"), [(500, 1000), (300, 0)], ids=["halves-succeed", "halves-time-out"]
)
def test_a_timed_out_batch_is_retried_once_in_halves(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, slow_over: int, deleted: int
) -> None:
    from botocore.exceptions import ReadTimeoutError

    make_bucket(harness.clients.s3, BUCKET)
    seed_objects(BUCKET, KEYS_2500[:1000], age_days=90)
    s3 = harness.clients.s3
    real_delete = s3.delete_objects
    seen: list[int] = []

    def slow_for_big_batches(**kwargs: Any) -> Any:
        seen.append(len(kwargs["Delete"]["Objects"]))
        if seen[-1] > slow_over:
            raise ReadTimeoutError(endpoint_url="http://127.0.0.1:1/")
        return real_delete(**kwargs)

    monkeypatch.setattr(s3, "delete_objects", slow_for_big_batches)
    counts, error = apply_run(harness)
    assert seen == [1000, 500, 500]  # never split below halves: three calls at most
    assert (counts.matched, counts.deleted, counts.failed) == (1000, deleted, 1000 - deleted)
    assert (error is None) == (deleted == 1000)
    assert len(harness.remaining()) == 1000 - deleted


def test_an_answer_naming_keys_never_sent_is_an_aws_error_with_true_counts(
    seeded: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = seeded.clients.s3
    real_delete = s3.delete_objects

    def phantom_errors(**kwargs: Any) -> Any:
        response = dict(real_delete(**kwargs))
        response["Errors"] = [
            {"Key": f"temp/never-sent-{i}", "Code": "InternalError"} for i in range(2000)
        ]
        return response

    monkeypatch.setattr(s3, "delete_objects", phantom_errors)
    counts, error = apply_run(seeded)
    assert isinstance(error, AwsError)
    assert "'temp/never-sent-0', which was not in the request" in str(error)
    assert (counts.matched, counts.deleted, counts.failed) == (3, 3, 0)  # settled by a listing


@pytest.mark.parametrize("field_name", ["LastModified", "Key", "ETag"])
def test_a_listing_item_without_a_field_exits_5_naming_it(
    aws: None, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, field_name: str
) -> None:
    make_bucket(boto3_s3(), BUCKET)
    seed_objects(BUCKET, OLD, age_days=45)

    def strip_field(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        response = send(operation_name, api_params)
        if operation_name == "ListObjectsV2":
            del response["Contents"][1][field_name]
        return response

    intercept(monkeypatch, strip_field)
    done = run_cli("--apply", "--bucket", BUCKET)
    assert done.code == 5
    errors = " ".join(line["message"] for line in done.lines if line["level"] == "ERROR")
    assert f"malformed listing of bucket {BUCKET}: an item has no usable {field_name}" in errors
    assert done.summary["deleted"] == 0  # the listing stopped before a batch was sent


CONTROL_KEY = "temp/bad\x01key\x1f.log"


def test_a_key_xml_cannot_carry_is_deleted_alone_and_named(
    seeded: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    seed_objects(BUCKET, [CONTROL_KEY], age_days=45)
    counts, error = apply_run(seeded)
    assert error is None
    assert (counts.matched, counts.deleted, counts.failed) == (4, 4, 0)
    assert seeded.remaining() == set(NEW + OUTSIDE)
    batched = [
        item["Key"]
        for name, params in seeded.recorder.calls
        if name == "DeleteObjects"
        for item in params["Delete"]["Objects"]
    ]
    assert sorted(batched) == sorted(OLD)
    (alone,) = [params for name, params in seeded.recorder.calls if name == "DeleteObject"]
    assert alone["Key"] == CONTROL_KEY
    assert alone["IfMatch"].startswith('"')  # conditional on the listed ETag too
    warnings = [r for r in caplog.records if "deleting it alone" in r.getMessage()]
    assert [r.__dict__["key"] for r in warnings] == [repr(CONTROL_KEY)]


def test_a_key_xml_cannot_carry_fails_alone(
    seeded: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_objects(BUCKET, [CONTROL_KEY], age_days=45)

    def refuse(**_: Any) -> Any:
        raise client_error("DeleteObject", "InternalError", 500)

    monkeypatch.setattr(seeded.clients.s3, "delete_object", refuse)
    counts, error = apply_run(seeded)
    assert isinstance(error, PartialFailure)
    assert (counts.matched, counts.deleted, counts.failed) == (4, 3, 1)
    assert seeded.remaining() == set(NEW + OUTSIDE) | {CONTROL_KEY}


def test_each_delete_carries_the_etag_it_was_listed_with(seeded: Harness) -> None:
    s3 = seeded.clients.s3
    listed = {key: s3.head_object(Bucket=BUCKET, Key=key)["ETag"] for key in OLD}
    seeded.recorder.calls.clear()
    seeded.run("--apply")
    sent = {
        item["Key"]: item.get("ETag")
        for name, params in seeded.recorder.calls
        if name == "DeleteObjects"
        for item in params["Delete"]["Objects"]
    }
    assert sent == listed


def test_keys_changed_since_listed_are_skipped_never_deleted_nor_retried(
    seeded: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = seeded.clients.s3
    real_delete = s3.delete_objects
    sent: list[list[str]] = []

    def first_key_changed(**kwargs: Any) -> Any:
        objects = kwargs["Delete"]["Objects"]
        sent.append([item["Key"] for item in objects])
        kwargs["Delete"]["Objects"] = [item for item in objects if item["Key"] != OLD[0]]
        response = dict(real_delete(**kwargs))
        response["Errors"] = [
            {"Key": OLD[0], "Code": "PreconditionFailed", "Message": "At least one..."}
        ]
        return response

    monkeypatch.setattr(s3, "delete_objects", first_key_changed)
    counts, error = apply_run(seeded)
    assert error is None  # a skip is not a failure
    assert (counts.matched, counts.deleted, counts.failed, counts.skipped) == (3, 2, 0, 1)
    assert sent == [sorted(OLD)]  # sent once: never retried
    assert OLD[0] in seeded.remaining()


def test_a_key_already_gone_under_a_conditional_delete_counts_as_deleted(
    seeded: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = seeded.clients.s3
    real_delete = s3.delete_objects

    def gone_meanwhile(**kwargs: Any) -> Any:
        response = dict(real_delete(**kwargs))
        response["Errors"] = [{"Key": OLD[0], "Code": "NoSuchKey", "Message": "gone"}]
        return response

    monkeypatch.setattr(s3, "delete_objects", gone_meanwhile)
    counts, error = apply_run(seeded)
    assert error is None
    assert (counts.matched, counts.deleted, counts.failed, counts.skipped) == (3, 3, 0, 0)


@pytest.mark.parametrize("limit", ["0", "2", "all"])
def test_dry_run_and_apply_log_the_same_capped_audit_trail(
    aws: None, run_cli: RunCli, limit: str
) -> None:
    make_bucket(boto3_s3(), BUCKET)
    keys = [f"temp/{i}.log" for i in range(5)]
    seed_objects(BUCKET, keys, age_days=45)
    env = {"LOG_KEYS_LIMIT": limit}
    shown = 5 if limit == "all" else int(limit)
    for argv, message in (((), "would delete"), (("--apply",), "deleted")):
        done = run_cli(*argv, "--bucket", BUCKET, env=env)
        assert done.code == 0
        per_key = [line["key"] for line in done.lines if line["message"] == message]
        assert len(per_key) == shown
        assert set(per_key) <= set(keys)
        rest = [
            line["keys_not_logged"]
            for line in done.lines
            if line["message"] == f"{message}: more keys not logged one by one"
        ]
        assert rest == ([5 - shown] if shown < 5 else [])


@pytest.mark.parametrize("raw", ["-1", "lots", "1.5"])
def test_log_keys_limit_is_validated(run_cli: RunCli, raw: str) -> None:
    done = run_cli(env={"S3_BUCKET": BUCKET, "LOG_KEYS_LIMIT": raw})
    assert done.code == 1
    assert "LOG_KEYS_LIMIT" in done.stderr


def test_the_cutoff_reaches_the_log_as_a_datetime(
    seeded: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    seeded.run()
    (started,) = [r for r in caplog.records if r.getMessage() == "cleanup started"]
    assert isinstance(started.__dict__["cutoff"], datetime)


def put_versions(s3: Any, key: str, *ages: float, marker_last: bool = False) -> None:
    """Write versions of ``key`` (a delete marker last if asked), aged oldest first."""
    for _ in ages[: len(ages) - marker_last]:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    if marker_last:
        s3.delete_object(Bucket=BUCKET, Key=key)
    backdate_versions(key, *ages)


@pytest.mark.parametrize("page_size", [1, 2, 1000])
def test_versions_age_from_when_they_became_noncurrent(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, page_size: int
) -> None:
    s3 = harness.clients.s3
    make_bucket(s3, BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    put_versions(s3, "temp/replaced-yesterday", 60, 1)  # the old version: noncurrent 1 day
    put_versions(s3, "temp/all-old", 90, 50)  # expired current: everything goes
    put_versions(s3, "temp/three", 90, 45, 2)  # only the oldest: noncurrent since 45 days
    put_versions(s3, "temp/deleted-long-ago", 90, 40, marker_last=True)  # all, marker last
    put_versions(s3, "temp/deleted-lately", 90, 5, marker_last=True)  # nothing yet
    put_versions(s3, "temp/lone-marker", 60, 40, marker_last=True)
    lone = s3.list_object_versions(Bucket=BUCKET, Prefix="temp/lone-marker")["Versions"][0]
    assert "VersionId" in lone, lone  # a versioned bucket's versions have ids
    s3.delete_object(Bucket=BUCKET, Key="temp/lone-marker", VersionId=lone["VersionId"])
    monkeypatch.setattr(listing, "LIST_PAGE_SIZE", page_size)  # one key's versions span pages
    before = version_ages(harness)

    dry = harness.run("--include-versions")
    counts = harness.run("--apply", "--include-versions")

    expected_gone = {
        ("temp/all-old", 90),
        ("temp/all-old", 50),
        ("temp/three", 90),
        ("temp/deleted-long-ago", 90),
        ("temp/deleted-long-ago", 40),
        ("temp/lone-marker", 40),
    }
    assert before - version_ages(harness) == expected_gone
    assert dry.matched == counts.matched == counts.deleted == len(expected_gone)
    again = harness.run("--apply", "--include-versions")
    assert (again.matched, again.deleted) == (0, 0)  # applying twice equals applying once


def version_ages(harness: Harness) -> set[tuple[str, int]]:
    now = datetime.now(UTC)
    pages = harness.clients.s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET)
    return {
        (item["Key"], round((now - item["LastModified"]) / timedelta(days=1)))
        for page in pages
        for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
    }


def test_a_marker_is_kept_while_a_version_it_hides_could_not_be_deleted(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = harness.clients.s3
    make_bucket(s3, BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    put_versions(s3, "temp/deleted-long-ago", 90, 40, marker_last=True)
    real_delete = s3.delete_objects

    def versions_fail(**kwargs: Any) -> Any:
        objects = kwargs["Delete"]["Objects"]
        errors = [
            {"Key": o["Key"], "VersionId": o["VersionId"], "Code": "AccessDenied"} for o in objects
        ]
        return {"Errors": errors} if len(objects) == 1 else real_delete(**kwargs)

    monkeypatch.setattr(s3, "delete_objects", versions_fail)
    counts, error = apply_run(harness, "--include-versions")
    assert isinstance(error, PartialFailure)
    assert (counts.matched, counts.deleted, counts.failed) == (1, 0, 1)
    assert len(version_ages(harness)) == 2  # the version, and the marker that hides it


def test_a_failed_batch_is_settled_key_by_key_by_one_listing(
    seeded: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ConnectionClosedError

    s3 = seeded.clients.s3
    real_delete = s3.delete_objects

    def partly_done_then_reset(**kwargs: Any) -> Any:
        s3.put_object(Bucket=BUCKET, Key=OLD[0], Body=b"rewritten")  # a new ETag
        real_delete(Bucket=BUCKET, Delete={"Objects": [{"Key": OLD[1]}]})
        raise ConnectionClosedError(endpoint_url="http://127.0.0.1:1/")

    monkeypatch.setattr(s3, "delete_objects", partly_done_then_reset)
    counts, error = apply_run(seeded)
    assert isinstance(error, ConnectionClosedError)  # keys left failed: the run ends, exit 3
    assert (counts.deleted, counts.failed, counts.skipped) == (1, 1, 1)
    assert seeded.remaining() & set(OLD) == {OLD[0], OLD[2]}


def test_a_stop_ends_the_listing_that_settles_a_failed_batch_before_its_next_page(
    seeded: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of two keys, so settling the batch's range would take two pages;
    a stop (SIGTERM) that comes while the first is read ends the listing
    there. The keys it did not settle count as failed, and the run stops."""
    from botocore.exceptions import ConnectionClosedError

    s3 = seeded.clients.s3
    stop = StopRequest()
    settle_pages: list[str] = []

    def reset(**_: Any) -> Any:
        raise ConnectionClosedError(endpoint_url="http://127.0.0.1:1/")

    def stop_at_the_settling_listing(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "ListObjectsV2" and "StartAfter" in params:
            settle_pages.append(params["StartAfter"])
            stop.request(15)

    monkeypatch.setattr(s3, "delete_objects", reset)
    monkeypatch.setattr(listing, "LIST_PAGE_SIZE", 2)
    s3.meta.events.register("before-parameter-build", stop_at_the_settling_listing)
    args = build_parser(job).parse_args(["--apply", "--max-workers", "1"])
    settings, job_settings = config.load(args, {"S3_BUCKET": BUCKET}, job.JobSettings, job.SETTINGS)
    counts = job.Counts()
    with pytest.raises(Interrupted):
        job.run(settings, job_settings, seeded.clients, counts, stop)
    assert len(settle_pages) == 1  # the stop came before the second page was asked for
    assert (counts.matched, counts.deleted, counts.failed) == (3, 0, 3)
    assert_true_counts(counts)
    assert seeded.remaining() == set(OLD + NEW + OUTSIDE)


def test_a_failed_batch_of_versions_counts_every_version_as_failed(
    versioned: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(**_: Any) -> Any:
        raise client_error("DeleteObjects", "InternalError", 500)

    monkeypatch.setattr(versioned.clients.s3, "delete_objects", fail)
    counts, error = apply_run(versioned, "--include-versions")
    assert isinstance(error, PartialFailure)
    # temp/old's two versions and temp/gone's; its marker stays while they do
    assert (counts.matched, counts.deleted, counts.failed) == (3, 0, 3)
    assert ("temp/gone", True) in all_versions(versioned)


def test_refused_credentials_stop_the_run_with_the_batch_counted(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_bucket(harness.clients.s3, BUCKET)
    seed_objects(BUCKET, KEYS_2500, age_days=90)

    def deny(**_: Any) -> Any:
        raise client_error("DeleteObjects", "AccessDenied", 403)

    monkeypatch.setattr(harness.clients.s3, "delete_objects", deny)
    counts, error = apply_run(harness)
    assert cli.exit_code_for(error) == cli.ExitCode.PERMISSION
    assert (counts.matched, counts.deleted, counts.failed) == (1000, 0, 1000)
    assert counts.listed < 2500  # it stopped: every later batch would be refused too
    assert harness.remaining() == set(KEYS_2500)


# The AssumeRole session policy, judged by moto's IAM enforcement: moto does
# not apply session policies, so a role gets the rendered policy as its own.


@pytest.fixture
def enforced_iam(aws: None) -> Iterator[None]:
    """moto's IAM enforcement on, from the first call made after setup."""
    from moto import settings

    previous = settings.INITIAL_NO_AUTH_ACTION_COUNT
    yield
    settings.INITIAL_NO_AUTH_ACTION_COUNT = previous


def test_a_delete_outside_the_run_s_prefix_is_refused(enforced_iam: None) -> None:
    import boto3
    from botocore.exceptions import ClientError
    from moto import settings

    # The scoping under test is the same in every partition; moto enforces
    # IAM on its own roles only in the aws one, so this test runs there.
    region = "us-east-1"
    bucket = "scoped-bucket"
    make_bucket(boto3.client("s3", region_name=region), bucket)
    s3 = boto3.client("s3", region_name=region)
    for key in ("temp/old", "other/old", "temp-sibling/old"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    scope = {
        "partition": "aws",
        "account": ACCOUNT_ID,
        "region": region,
        "S3_BUCKET": bucket,
        "S3_PREFIX": "temp/",
        "SNS_TOPIC_ARN": None,
    }
    iam = boto3.client("iam", region_name=region)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ACCOUNT_ID}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.create_role(RoleName="scoped", AssumeRolePolicyDocument=json.dumps(trust))
    policy = session_policy(job.IAM_ACTIONS, [scope])
    iam.put_role_policy(RoleName="scoped", PolicyName="session", PolicyDocument=policy)
    credentials = boto3.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/scoped", RoleSessionName="run"
    )["Credentials"]
    scoped = boto3.client(
        "s3",
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0  # every call from here on is judged

    for outside in ("other/old", "temp-sibling/old"):
        with pytest.raises(ClientError) as refused:
            scoped.delete_object(Bucket=bucket, Key=outside)
        assert refused.value.response.get("Error", {}).get("Code") == "AccessDenied"
    with pytest.raises(ClientError) as other_bucket:
        scoped.list_objects_v2(Bucket="another-bucket")
    assert other_bucket.value.response.get("Error", {}).get("Code") == "AccessDenied"
    scoped.delete_object(Bucket=bucket, Key="temp/old")  # inside the prefix: allowed
    settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
    left = {item.get("Key") for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert left == {"other/old", "temp-sibling/old"}
{%- if cookiecutter.deploy_target == "lambda" %}


# What a Lambda event may and may not change for this job.
@pytest.mark.usefixtures("function_environment")
def test_the_event_from_the_incident_changes_nothing(
    aws: None,
    capsys: pytest.CaptureFixture[str],
    api_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3

    make_bucket(boto3.client("s3"), "another-bucket")
    seed_objects("another-bucket", ["i/fresh"], age_days=0)
    # Even a stack that lets events choose the bucket, prefix and retention.
    monkeypatch.setenv("EVENT_OVERRIDABLE_SETTINGS", "S3_BUCKET,S3_PREFIX,RETENTION_DAYS")
    api_calls.clear()
    event = {
        "settings": {
            "DRY_RUN": "false",
            "ALLOWED_ACCOUNT_IDS": ACCOUNT_ID,
            "S3_BUCKET": "another-bucket",
            "S3_PREFIX": "i",
            "RETENTION_DAYS": 0,
        }
    }
    summary, lines = test_handler.invoke(event, capsys)

    assert (summary["exit_code"], summary["dry_run"]) == (1, True)
    assert api_calls == []
    assert test_handler.problems(lines) == [
        "DRY_RUN: an event may not apply while the function is in dry-run",
        "ALLOWED_ACCOUNT_IDS: is decided by the deployment; an event can never change it",
    ]
    assert set(s3_backend(ACCOUNT_ID).get_bucket("another-bucket").keys) == {"i/fresh"}


@pytest.mark.usefixtures("function_environment")
def test_a_blank_retention_keeps_the_function_s_retention(
    aws: None,
    capsys: pytest.CaptureFixture[str],
    api_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3

    make_bucket(boto3.client("s3"), BUCKET)
    seed_objects(BUCKET, ["temp/forty-days"], age_days=40)
    monkeypatch.setenv("DRY_RUN", "false")
    monkeypatch.setenv("RETENTION_DAYS", "365")
    monkeypatch.setenv("EVENT_OVERRIDABLE_SETTINGS", "RETENTION_DAYS")
    api_calls.clear()
    summary, _ = test_handler.invoke({"settings": {"RETENTION_DAYS": ""}}, capsys)

    assert summary["exit_code"] == 1
    assert api_calls == []
    assert set(s3_backend(ACCOUNT_ID).get_bucket(BUCKET).keys) == {"temp/forty-days"}


@pytest.mark.usefixtures("function_environment")
def test_an_applying_function_runs_a_listed_override_for_real(
    aws: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    make_bucket(boto3.client("s3"), BUCKET)
    seed_objects(BUCKET, ["temp/a", "temp/b"], age_days=90)
    seed_objects(BUCKET, ["temp/new"], age_days=1)
    monkeypatch.setenv("DRY_RUN", "false")
    monkeypatch.setenv("RETENTION_DAYS", "365")
    monkeypatch.setenv("EVENT_OVERRIDABLE_SETTINGS", "RETENTION_DAYS")

    dry, _ = test_handler.invoke({"settings": {"DRY_RUN": "true", "RETENTION_DAYS": 30}}, capsys)
    kept, _ = test_handler.invoke({}, capsys)
    applied, _ = test_handler.invoke({"settings": {"RETENTION_DAYS": 30}}, capsys)

    assert (dry["exit_code"], dry["dry_run"], dry["matched"], dry["deleted"]) == (0, True, 2, 0)
    assert (kept["exit_code"], kept["matched"], kept["deleted"]) == (0, 0, 0)
    assert (applied["exit_code"], applied["dry_run"], applied["deleted"]) == (0, False, 2)
    assert set(s3_backend(ACCOUNT_ID).get_bucket(BUCKET).keys) == {"temp/new"}
{%- endif %}

"""The S3 cleanup job against moto: dry-run, apply, idempotency, batching."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from {{ cookiecutter.package_name }} import config, job
from {{ cookiecutter.package_name }}.aws import Clients
from {{ cookiecutter.package_name }}.cli import build_parser
from {{ cookiecutter.package_name }}.errors import PartialFailure

from .conftest import BUCKET, REGION, RunCli, make_bucket, seed_objects

OLD = ["temp/a.log", "temp/b.log", "temp/deep/c.log"]
NEW = ["temp/new.log"]
OUTSIDE = ["keep/old.log", "temporary/old.log"]
READ_ONLY = {"HeadBucket", "ListObjectsV2", "GetCallerIdentity"}


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
        args = build_parser().parse_args(list(argv))
        settings, job_settings = config.load(
            args, {"S3_BUCKET": BUCKET, **env}, job.JobSettings, job.SETTINGS
        )
        clients = Clients(settings, "test-run")  # in the run's own region
        clients.session.events.register("before-parameter-build", self.recorder)
        counts = job.Counts()
        job.run(settings, job_settings, clients, counts)
        return counts

    def remaining(self, bucket: str = BUCKET) -> set[str]:
        pages = self.clients.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}


@pytest.fixture
def harness(aws: None) -> Harness:
    args = build_parser().parse_args([])
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
    batches = [len(params["Delete"]["Objects"]) for params in deletes]
    assert batches == [1000, 1000, 500]
    assert harness.recorder.names().count("ListObjectsV2") == 3
    assert (counts.matched, counts.deleted) == (2500, 2500)
    assert harness.remaining() == set()


def test_dry_run_does_not_create_a_missing_bucket(harness: Harness) -> None:
    counts = harness.run()
    assert counts.matched == 0
    assert harness.recorder.writes() == []
    assert harness.clients.s3.list_buckets()["Buckets"] == []


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_apply_creates_the_bucket_in_its_region(harness: Harness, region: str) -> None:
    harness.run("--apply", "--region", region)
    location = harness.clients.s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"]
    assert location == (None if region == "us-east-1" else region)


def test_creating_an_existing_bucket_is_idempotent(harness: Harness) -> None:
    job.create_bucket(harness.clients.s3, BUCKET, "eu-west-1")
    job.create_bucket(harness.clients.s3, BUCKET, "eu-west-1")  # BucketAlreadyOwnedByYou
    assert [b["Name"] for b in harness.clients.s3.list_buckets()["Buckets"]] == [BUCKET]


def test_per_key_failures_are_counted_and_fail_the_run(
    seeded: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = seeded.clients.s3
    real_delete = s3.delete_objects

    def refuse_first_key(**kwargs: Any) -> Any:
        objects = kwargs["Delete"]["Objects"]
        kwargs["Delete"]["Objects"] = objects[1:]
        response = real_delete(**kwargs)
        response["Errors"] = [{"Key": objects[0]["Key"], "Code": "InternalError", "Message": "x"}]
        return response

    monkeypatch.setattr(s3, "delete_objects", refuse_first_key)
    counts = job.Counts()
    args = build_parser().parse_args(["--apply"])
    settings, job_settings = config.load(args, {"S3_BUCKET": BUCKET}, job.JobSettings, job.SETTINGS)
    with pytest.raises(PartialFailure, match="1 object"):
        job.run(settings, job_settings, seeded.clients, counts)
    assert (counts.matched, counts.deleted, counts.failed) == (3, 2, 1)
    assert len(seeded.remaining() & set(OLD)) == 1


def test_delete_batch_refuses_more_than_1000_keys(harness: Harness) -> None:
    with pytest.raises(ValueError, match="at most 1000"):
        job.delete_batch(harness.clients.s3, BUCKET, ["k"] * 1001, job.Counts())
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

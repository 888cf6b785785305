"""The blank job: one read-only call, and dry-run guarding every change."""

from __future__ import annotations

import signal

import pytest

from {{ cookiecutter.package_name }} import job
from {{ cookiecutter.package_name }}.runtime.access.aws import (
    Clients,
)
from {{ cookiecutter.package_name }}.runtime.outcome.errors import (
    Interrupted,
    StopRequest,
)
from {{ cookiecutter.package_name }}.runtime.run.cli import (
    build_parser,
)
from {{ cookiecutter.package_name }}.runtime.settings import (
    config,
)

from .conftest import RunCli, client_error, make_bucket


@pytest.fixture
def clients(aws: None) -> Clients:
    settings, _ = load()
    return Clients(settings, "test-run")


def load(*argv: str) -> tuple[config.Settings, job.JobSettings]:
    args = build_parser(job).parse_args(list(argv))
    return config.load(args, {}, job.JobSettings, job.SETTINGS)


def planned_bucket_change(clients: Clients, name: str) -> list[job.Change]:
    def create() -> None:
        make_bucket(clients.s3, name)

    return [job.Change(f"create bucket {name}", create)]


def bucket_names(clients: Clients) -> list[str | None]:
    return [bucket.get("Name") for bucket in clients.s3.list_buckets().get("Buckets", [])]


def test_out_of_the_box_the_job_only_reads(clients: Clients) -> None:
    make_bucket(clients.s3, "existing")
    counts = job.Counts()
    settings, job_settings = load("--apply")
    job.run(settings, job_settings, clients, counts, StopRequest())
    assert (counts.checked, counts.planned, counts.changed) == (1, 0, 0)
    assert bucket_names(clients) == ["existing"]


def test_dry_run_reports_planned_changes_without_applying(
    clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(job, "plan", lambda c, j, n, s: planned_bucket_change(c, "planned"))
    counts = job.Counts()
    settings, job_settings = load()
    job.run(settings, job_settings, clients, counts, StopRequest())
    assert (counts.planned, counts.changed) == (1, 0)
    assert bucket_names(clients) == []


def test_apply_applies_planned_changes(clients: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job, "plan", lambda c, j, n, s: planned_bucket_change(c, "planned"))
    counts = job.Counts()
    settings, job_settings = load("--apply")
    job.run(settings, job_settings, clients, counts, StopRequest())
    assert (counts.planned, counts.changed) == (1, 1)
    assert bucket_names(clients) == ["planned"]


def test_cli_summary_carries_the_counts(aws: None, run_cli: RunCli) -> None:
    result = run_cli()
    assert result.code == 0
    assert {"checked", "planned", "changed"} <= result.summary.keys()
    assert result.summary["dry_run"] is True


def test_a_stop_request_ends_the_run_between_changes(
    clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    stop = StopRequest()

    def plan_two(c: Clients, j: job.JobSettings, n: job.Counts, s: StopRequest) -> list[job.Change]:
        first, second = planned_bucket_change(c, "first") + planned_bucket_change(c, "second")

        def apply_then_signal() -> None:
            first.apply()
            stop.request(2)  # as if Ctrl-C arrived during the first change

        return [job.Change(first.description, apply_then_signal), second]

    monkeypatch.setattr(job, "plan", plan_two)
    counts = job.Counts()
    settings, job_settings = load("--apply")
    with pytest.raises(Interrupted):
        job.run(settings, job_settings, clients, counts, stop)
    assert counts.changed == 1
    assert bucket_names(clients) == ["first"]


@pytest.mark.parametrize(("cut_short_by", "code"), [("a stop", 130), ("a failure", 5)])
def test_a_change_cut_short_while_it_settles_is_counted_and_logged(
    aws: None, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, cut_short_by: str, code: int
) -> None:
    def plan_one(c: Clients, j: job.JobSettings, n: job.Counts, s: StopRequest) -> list[job.Change]:
        (create,) = planned_bucket_change(c, "made")

        def settle() -> None:
            if cut_short_by == "a stop":
                s.request(signal.SIGINT)  # as if Ctrl-C arrived while it waits
                s.check()
            raise client_error("HeadBucket", "InternalError", 500)  # the wait failed

        return [job.Change(create.description, create.apply, settle)]

    monkeypatch.setattr(job, "plan", plan_one)
    result = run_cli("--apply")
    assert result.code == code
    assert (result.summary["planned"], result.summary["changed"]) == (1, 1)
    changed = [line for line in result.lines if line["message"] == "changed"]
    assert [line["change"] for line in changed] == ["create bucket made"]


# Operation -> the IAM action it needs (None: no permission needed).
OPERATION_ACTIONS = {"GetCallerIdentity": None, "ListBuckets": "s3:ListAllMyBuckets"}


def test_every_call_the_job_makes_is_covered_by_iam_actions(
    aws: None, run_cli: RunCli, api_calls: list[str]
) -> None:
    # Twice: a first run finds work to do, the second finds it done, and a
    # job often reads differently then (what exists is looked at, not made).
    assert run_cli("--apply").code == 0
    assert run_cli("--apply").code == 0
    for name in api_calls:
        assert name in OPERATION_ACTIONS, f"{name}: map it to an IAM action, add it to IAM_ACTIONS"
    needed = {action for name in api_calls if (action := OPERATION_ACTIONS[name])}
    assert needed <= set(job.IAM_ACTIONS)

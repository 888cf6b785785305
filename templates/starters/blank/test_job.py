"""The blank job: one read-only call, and dry-run guarding every change."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }} import config, job
from {{ cookiecutter.package_name }}.aws import Clients
from {{ cookiecutter.package_name }}.cli import build_parser

from .conftest import RunCli, make_bucket


@pytest.fixture
def clients(aws: None) -> Clients:
    settings, _ = load()
    return Clients(settings, "test-run")


def load(*argv: str) -> tuple[config.Settings, job.JobSettings]:
    args = build_parser().parse_args(list(argv))
    return config.load(args, {}, job.JobSettings, job.SETTINGS)


def planned_bucket_change(clients: Clients, name: str) -> list[job.Change]:
    def create() -> None:
        make_bucket(clients.s3, name)

    return [job.Change(f"create bucket {name}", create)]


def bucket_names(clients: Clients) -> list[str]:
    return [bucket["Name"] for bucket in clients.s3.list_buckets().get("Buckets", [])]


def test_out_of_the_box_the_job_only_reads(clients: Clients) -> None:
    make_bucket(clients.s3, "existing")
    counts = job.Counts()
    settings, job_settings = load("--apply")
    job.run(settings, job_settings, clients, counts)
    assert (counts.checked, counts.planned, counts.changed) == (1, 0, 0)
    assert bucket_names(clients) == ["existing"]


def test_dry_run_reports_planned_changes_without_applying(
    clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(job, "plan", lambda c, j, n: planned_bucket_change(c, "planned"))
    counts = job.Counts()
    settings, job_settings = load()
    job.run(settings, job_settings, clients, counts)
    assert (counts.planned, counts.changed) == (1, 0)
    assert bucket_names(clients) == []


def test_apply_applies_planned_changes(clients: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job, "plan", lambda c, j, n: planned_bucket_change(c, "planned"))
    counts = job.Counts()
    settings, job_settings = load("--apply")
    job.run(settings, job_settings, clients, counts)
    assert (counts.planned, counts.changed) == (1, 1)
    assert bucket_names(clients) == ["planned"]


def test_cli_summary_carries_the_counts(aws: None, run_cli: RunCli) -> None:
    result = run_cli()
    assert result.code == 0
    assert {"checked", "planned", "changed"} <= result.summary.keys()
    assert result.summary["dry_run"] is True

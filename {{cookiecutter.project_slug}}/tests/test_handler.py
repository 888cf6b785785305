"""The Lambda handler, invoked in-process against moto the way the runtime calls it."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.handler import lambda_handler

{% if cookiecutter.starter_job == "s3-cleanup" -%}
from .conftest import ACCOUNT_ID, BUCKET, JOB_ENV, make_bucket, seed_objects
{% else -%}
from .conftest import JOB_ENV
{% endif %}

@dataclass
class LambdaContext:
    aws_request_id: str = "8f5e2a3c-request"


@pytest.fixture(autouse=True)
def function_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the SAM template puts in the function's environment."""
    for name, value in JOB_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DRY_RUN", "true")


def invoke(event: object, capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], list[Any]]:
    capsys.readouterr()
    summary = lambda_handler(event, LambdaContext())
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return summary, lines


def test_a_scheduled_run_returns_the_summary_it_logged_last(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, lines = invoke({"source": "aws.events", "detail": {}}, capsys)

    assert summary["exit_code"] == 0
    assert summary["dry_run"] is True
    assert summary["run_id"] == "8f5e2a3c-request"  # logs join the invocation's request id
    logged = lines[-1]
    assert logged["message"] == "run finished"
    assert {key: logged[key] for key in summary if key != "run_id"} == {
        key: value for key, value in summary.items() if key != "run_id"
    }
    assert json.loads(json.dumps(summary)) == summary  # the runtime serialises it


def test_the_runtime_s_own_log_handler_does_not_duplicate_lines(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    runtime_handler = logging.StreamHandler()  # stands in for the runtime's handler
    root.addHandler(runtime_handler)
    try:
        _, lines = invoke({}, capsys)
    finally:
        root.removeHandler(runtime_handler)
    assert runtime_handler not in root.handlers
    assert capsys.readouterr().err == ""
    assert [line["message"] for line in lines].count("run finished") == 1


def test_unknown_or_malformed_overrides_are_refused_all_at_once(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, lines = invoke({"settings": {"DRY_RUM": "false", "LOG_LEVEL": ["DEBUG"]}}, capsys)

    assert summary["exit_code"] == 1
    assert summary["dry_run"] is True
    (error,) = [line for line in lines if line["level"] == "ERROR"]
    assert error["problems"] == [
        "DRY_RUM: is not a setting of this script",
        "LOG_LEVEL: must be text, a number or true/false",
    ]


def test_an_event_that_is_not_an_object_is_refused(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, _ = invoke(["DRY_RUN=false"], capsys)
    assert summary["exit_code"] == 1


def test_overrides_are_validated_like_the_environment(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, lines = invoke({"settings": {"MAX_WORKERS": 0}}, capsys)
    assert summary["exit_code"] == 1
    assert any("MAX_WORKERS" in problem for line in lines for problem in line.get("problems", []))
{%- if cookiecutter.starter_job == "s3-cleanup" %}


def test_an_event_can_apply_and_the_job_runs_for_real(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    import boto3

    make_bucket(boto3.client("s3"), BUCKET)
    seed_objects(BUCKET, ["temp/a", "temp/b"], age_days=90)
    seed_objects(BUCKET, ["temp/new"], age_days=1)

    dry, _ = invoke({}, capsys)
    applied, _ = invoke({"settings": {"DRY_RUN": False, "RETENTION_DAYS": 30}}, capsys)

    assert (dry["exit_code"], dry["matched"], dry["deleted"]) == (0, 2, 0)
    assert (applied["exit_code"], applied["dry_run"], applied["deleted"]) == (0, False, 2)
    from moto.s3.models import s3_backends

    assert set(s3_backends[ACCOUNT_ID]["global"].get_bucket(BUCKET).keys) == {"temp/new"}
{%- endif %}

"""The log-retention job against moto: dry-run, apply, modes, failures, paging."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from {{ cookiecutter.package_name }} import job, policies
from {{ cookiecutter.package_name }}.runtime.access.aws import (
    Clients,
    session_policy,
)
from {{ cookiecutter.package_name }}.runtime.access.item_errors import (
    DENIALS_IN_A_ROW,
)
from {{ cookiecutter.package_name }}.runtime.outcome.errors import (
    Interrupted,
    PartialFailure,
    StopRequest,
)
from {{ cookiecutter.package_name }}.runtime.run.cli import (
    build_parser,
)
from {{ cookiecutter.package_name }}.runtime.settings import (
    config,
)

from .conftest import (
    ACCOUNT_ID,
    OTHER_REGION,
    PARTITION,
    REGION,
    Organization,
    RunCli,
    Send,
    client_error,
    intercept,
)

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

# The retention periods CloudWatch Logs accepts, as its API reference lists them.
CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


def logs_client(region: str = REGION) -> CloudWatchLogsClient:
    """A client for test set-up and checks, outside the run."""
    import boto3

    client: CloudWatchLogsClient = boto3.client("logs", region_name=region)
    return client


def make_groups(
    *names: str, days: int | None = None, tags: dict[str, str] | None = None, region: str = REGION
) -> None:
    client = logs_client(region)
    for name in names:
        if tags:
            client.create_log_group(logGroupName=name, tags=tags)
        else:
            client.create_log_group(logGroupName=name)
        if days is not None:
            client.put_retention_policy(logGroupName=name, retentionInDays=days)


def retention(region: str = REGION) -> dict[str, int | None]:
    """Every log group of the region -> its retention in days (None: never expire)."""
    pages = logs_client(region).get_paginator("describe_log_groups").paginate()
    retentions: dict[str, int | None] = {}
    for page in pages:
        for group in page["logGroups"]:
            assert "logGroupName" in group, group  # CloudWatch Logs names every group it lists
            retentions[group["logGroupName"]] = group.get("retentionInDays")
    return retentions


def load(*argv: str, **env: str) -> tuple[config.Settings, job.JobSettings]:
    args = build_parser(job).parse_args(list(argv))
    return config.load(args, env, job.JobSettings, job.SETTINGS)


def run_job(*argv: str, stop: StopRequest | None = None, **env: str) -> job.Counts:
    settings, job_settings = load(*argv, **env)
    counts = job.Counts()
    job.run(settings, job_settings, Clients(settings, "test-run"), counts, stop or StopRequest())
    return counts


def changes(lines: list[dict[str, Any]], message: str) -> list[str]:
    return sorted(line["change"] for line in lines if line["message"] == message)


def test_dry_run_plans_and_changes_nothing(
    aws: None, run_cli: RunCli, api_calls: list[str]
) -> None:
    make_groups("/aws/lambda/x", "/aws/lambda/y")
    make_groups("/aws/lambda/kept", days=7)
    api_calls.clear()
    done = run_cli()
    assert done.code == 0
    assert done.summary["dry_run"] is True
    assert {key: done.summary[key] for key in ("checked", "planned", "changed", "failed")} == {
        "checked": 3,
        "planned": 2,
        "changed": 0,
        "failed": 0,
    }
    assert changes(done.lines, "would change") == [
        "/aws/lambda/x: never expire -> 30 days",
        "/aws/lambda/y: never expire -> 30 days",
    ]
    assert changes(done.lines, "changed") == []
    # no write call; tags are read only for the two groups that would change
    assert sorted(set(api_calls)) == [
        "DescribeLogGroups",
        "GetCallerIdentity",
        "ListTagsForResource",
    ]
    assert api_calls.count("ListTagsForResource") == 2
    assert retention() == {"/aws/lambda/x": None, "/aws/lambda/y": None, "/aws/lambda/kept": 7}


def test_apply_sets_the_retention_and_a_rerun_plans_nothing(
    aws: None, run_cli: RunCli, api_calls: list[str]
) -> None:
    make_groups("/aws/lambda/x", "orders-service")
    done = run_cli("--apply")
    assert done.code == 0
    assert (done.summary["planned"], done.summary["changed"], done.summary["failed"]) == (2, 2, 0)
    assert changes(done.lines, "changed") == [
        "/aws/lambda/x: never expire -> 30 days",
        "orders-service: never expire -> 30 days",
    ]
    assert retention() == {"/aws/lambda/x": 30, "orders-service": 30}
    api_calls.clear()
    again = run_cli("--apply")
    assert (again.code, again.summary["planned"], again.summary["changed"]) == (0, 0, 0)
    assert "PutRetentionPolicy" not in api_calls


def test_retention_days_is_the_retention_set(aws: None, run_cli: RunCli) -> None:
    make_groups("/aws/lambda/x", "/aws/lambda/y")
    assert run_cli("--apply", "--retention-days", "365").code == 0
    assert run_cli("--apply", env={"RETENTION_DAYS": "90", "RETENTION_MODE": "exact"}).code == 0
    assert retention() == {"/aws/lambda/x": 90, "/aws/lambda/y": 90}


def test_the_prefix_limits_the_listing_and_the_changes(
    aws: None, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_groups("/aws/lambda/a", "/aws/lambda/b", "/aws/ecs/c", "lambda-lookalike")
    sent: list[dict[str, Any]] = []

    def record(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "DescribeLogGroups":
            sent.append(dict(api_params))
        return send(operation_name, api_params)

    intercept(monkeypatch, record)
    done = run_cli("--apply", env={"LOG_GROUP_PREFIX": "/aws/lambda/"})
    assert done.code == 0
    assert (done.summary["checked"], done.summary["changed"]) == (2, 2)
    assert [params["logGroupNamePrefix"] for params in sent] == ["/aws/lambda/"]
    assert retention() == {
        "/aws/lambda/a": 30,
        "/aws/lambda/b": 30,
        "/aws/ecs/c": None,
        "lambda-lookalike": None,
    }
    flag = run_cli("--apply", "--log-group-prefix", "/aws/ecs/")
    assert (flag.code, flag.summary["changed"]) == (0, 1)
    assert retention()["lambda-lookalike"] is None


# Groups that keep logs forever, shorter, as long as and longer than the
# target (30 days) -> their retention after an apply run, by mode.
MODE_CASES = {
    "never-expire-only": {"never": 30, "shorter": 7, "same": 30, "longer": 365},
    "at-least": {"never": 30, "shorter": 30, "same": 30, "longer": 365},
    "exact": {"never": 30, "shorter": 30, "same": 30, "longer": 30},
}


@pytest.mark.parametrize("mode", sorted(MODE_CASES))
def test_each_mode_s_rule_for_shorter_longer_and_never_expiring_groups(
    aws: None, run_cli: RunCli, mode: str
) -> None:
    make_groups("never")
    make_groups("shorter", days=7)
    make_groups("same", days=30)
    make_groups("longer", days=365)
    before = retention()
    expected = MODE_CASES[mode]
    planned = sum(expected[name] != before[name] for name in expected)
    dry = run_cli(env={"RETENTION_MODE": mode})
    assert (dry.code, dry.summary["checked"], dry.summary["planned"]) == (0, 4, planned)
    assert retention() == before
    done = run_cli("--apply", "--retention-mode", mode)
    assert (done.code, done.summary["changed"]) == (0, planned)
    assert retention() == expected
    again = run_cli("--apply", "--retention-mode", mode)
    assert again.summary["planned"] == 0


def test_the_change_names_the_group_and_both_retentions(aws: None, run_cli: RunCli) -> None:
    make_groups("/aws/lambda/x")
    make_groups("/aws/lambda/short", days=7)
    make_groups("/aws/lambda/long", days=3653)
    done = run_cli(env={"RETENTION_MODE": "exact"})
    assert changes(done.lines, "would change") == [
        "/aws/lambda/long: 3653 days -> 30 days",
        "/aws/lambda/short: 7 days -> 30 days",
        "/aws/lambda/x: never expire -> 30 days",
    ]


def flat(text: str) -> str:
    return " ".join(text.split())


def deleting_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if "start deleting logs" in line["message"]]


def test_the_default_run_gives_every_never_expire_group_30_days_audit_logs_included(
    aws: None, run_cli: RunCli
) -> None:
    make_groups("/aws/cloudtrail/audit", "/org/security/audit", "/aws/lambda/x")
    make_groups("/aws/lambda/kept", days=365)
    dry = run_cli()
    assert (dry.code, dry.summary["planned"], dry.summary["start_deleting"]) == (0, 3, 3)
    (line,) = deleting_lines(dry.lines)
    assert (
        line["message"]
        == "with --apply, 3 log group(s) would start deleting logs older than 30 days"
    )
    assert (line["level"], line["start_deleting"], line["retention_days"]) == ("WARNING", 3, 30)
    done = run_cli("--apply")
    assert done.code == 0
    (line,) = deleting_lines(done.lines)
    assert line["message"] == "3 log group(s) will start deleting logs older than 30 days"
    assert done.lines.index(line) < done.messages().index("changed")  # said before any change
    assert retention() == {
        "/aws/cloudtrail/audit": 30,
        "/org/security/audit": 30,
        "/aws/lambda/x": 30,
        "/aws/lambda/kept": 365,
    }


@pytest.mark.parametrize(
    ("mode", "planned", "start_deleting"),
    [("never-expire-only", 1, 1), ("at-least", 2, 1), ("exact", 3, 2)],
)
def test_start_deleting_counts_the_groups_that_will_lose_logs(
    aws: None, run_cli: RunCli, mode: str, planned: int, start_deleting: int
) -> None:
    make_groups("never")
    make_groups("shorter", days=7)  # raised: deletes nothing it keeps today
    make_groups("longer", days=365)  # exact shortens it: deletes logs
    done = run_cli(env={"RETENTION_MODE": mode})
    assert (done.summary["planned"], done.summary["start_deleting"]) == (planned, start_deleting)
    (line,) = deleting_lines(done.lines)
    assert line["start_deleting"] == start_deleting


def test_with_nothing_to_delete_the_line_says_0_at_info(aws: None, run_cli: RunCli) -> None:
    make_groups("shorter", days=7)
    done = run_cli(env={"RETENTION_MODE": "at-least"})
    (line,) = deleting_lines(done.lines)
    assert (line["level"], line["start_deleting"]) == ("INFO", 0)


def test_the_help_says_what_the_default_run_deletes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "1000")  # one line: no name broken at its hyphen
    shown = flat(build_parser(job).format_help())
    assert (
        "CloudWatch Logs then deletes their logs older than RETENTION_DAYS: with --apply "
        "and the defaults (no LOG_GROUP_PREFIX, 30 days), every log group of the region "
        "that keeps logs forever, audit logs included, starts deleting its logs older than "
        "30 days."
    ) in shown
    assert load()[1].retention_days == 30  # the default the help names


def test_the_help_names_the_default_exemption_tag_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """As the flags' help shows their defaults: tagging a group to protect it
    needs the key, and EXEMPT_TAG_KEY has no flag whose help would show it."""
    monkeypatch.setenv("COLUMNS", "1000")
    shown = flat(build_parser(job).format_help())
    default = load()[1].exempt_tag_key
    assert default == "log-retention:exempt"
    assert f"Groups tagged EXEMPT_TAG_KEY (default {default!r}; any value, " in shown
    assert "the key in any case) are left alone" in shown


def test_the_docs_say_what_the_default_run_deletes() -> None:
    """docs/job.md in full; the README, in brief."""
    root = Path(__file__).resolve().parent.parent
    job_page = flat((root / "docs" / "job.md").read_text("utf-8"))
    readme = flat((root / "README.md").read_text("utf-8"))
    assert (
        "gives 30 days to every log group of the region that keeps its logs forever, audit "
        "and compliance logs included: with `--apply`, each of them starts deleting its logs "
        "older than 30 days. Every mode does this to groups that keep logs forever; `exact` "
        "also shortens longer retentions."
    ) in job_page
    assert "`with --apply, N log group(s) would start deleting logs older than 30 days`" in job_page
    assert (
        "**Setting a retention deletes logs**: with `--apply`, the default run makes every log "
        "group of the region that keeps its logs forever start deleting those older than 30 days."
    ) in readme
    for text in (job_page, readme):
        assert "the only one that can make CloudWatch Logs delete logs sooner" not in text


@pytest.mark.parametrize(
    "key",
    ["log-retention:exempt", "Log-Retention:Exempt", "LOG-RETENTION:EXEMPT"],
)
def test_a_group_tagged_exempt_in_any_case_is_never_changed(
    aws: None, run_cli: RunCli, key: str
) -> None:
    make_groups("/audit/trail", tags={key: ""})
    make_groups("/aws/lambda/x")
    done = run_cli("--apply", env={"RETENTION_MODE": "exact"})
    assert done.code == 0
    summary = done.summary
    assert (summary["exempt"], summary["planned"], summary["start_deleting"]) == (1, 1, 1)
    exempt = [line["log_group"] for line in done.lines if line["message"] == "log group exempt"]
    assert exempt == ["/audit/trail"]
    assert retention() == {"/audit/trail": None, "/aws/lambda/x": 30}


@pytest.mark.parametrize(
    "key",
    [
        " log-retention:exempt",
        "log-retention:exempt  ",
        "log-retention:\uff45\uff58\uff45\uff4d\uff50\uff54",
        "log-retention: exempt",
        "log_retention:exempt",
        "log-retention-exempt",
        "log\u2011retention:exempt",
        "log-retention:\u200bexempt",
        "log-r\u0435tention:exempt",
        "log-retenti\u03bfn:exempt",
    ],
    ids=[
        "space-before",
        "spaces-after",
        "full-width-letters",
        "space-inside",
        "underscore",
        "no-colon",
        "non-breaking-hyphen",
        "zero-width-space",
        "cyrillic-e",
        "greek-omicron",
    ],
)
def test_a_tag_that_nearly_matches_keeps_the_group_with_a_warning(
    aws: None, run_cli: RunCli, key: str
) -> None:
    make_groups("/audit/trail", tags={key: "true"})
    done = run_cli("--apply")
    assert done.code == 0
    assert (done.summary["exempt"], done.summary["changed"]) == (1, 0)
    (warning,) = [line for line in done.lines if line["message"].startswith("log group kept")]
    assert warning["level"] == "WARNING"
    assert (warning["log_group"], warning["tag_keys"]) == ("/audit/trail", [key])
    assert retention() == {"/audit/trail": None}


def test_a_different_tag_key_exempts_nothing(aws: None, run_cli: RunCli) -> None:
    make_groups("a", tags={"log-retention:exempted": "x"})
    make_groups("b", tags={"exempt": "x"})
    done = run_cli("--apply")
    assert (done.summary["exempt"], done.summary["changed"]) == (0, 2)


def test_exempt_tag_key_names_the_tag(aws: None, run_cli: RunCli) -> None:
    make_groups("kept", tags={"Keep Forever": "yes"})
    make_groups("default-tag", tags={"log-retention:exempt": "yes"})
    done = run_cli("--apply", env={"EXEMPT_TAG_KEY": " keep forever "})
    assert done.code == 0
    assert retention() == {"kept": None, "default-tag": 30}


def test_tags_are_read_only_for_groups_that_would_change(
    aws: None, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_groups("never-a", "never-b")
    make_groups("short", days=7)
    make_groups("long", days=365)
    read: list[str] = []

    def record(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "ListTagsForResource":
            read.append(api_params["resourceArn"])
        return send(operation_name, api_params)

    intercept(monkeypatch, record)
    assert run_cli().code == 0
    arn = f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT_ID}:log-group:"
    assert read == [f"{arn}never-a", f"{arn}never-b"]
    read.clear()
    assert run_cli(env={"RETENTION_MODE": "at-least"}).code == 0
    assert sorted(read) == [f"{arn}never-a", f"{arn}never-b", f"{arn}short"]


def test_exemption_matches_any_case_and_keeps_near_misses() -> None:
    wanted = "log-retention:exempt"
    assert policies.exemption(["Log-Retention:EXEMPT"], wanted) == policies.Exemption(True, ())
    assert policies.exemption(["a", "b"], wanted) == policies.Exemption(False, ())
    assert policies.exemption([], wanted) == policies.Exemption(False, ())
    near = " log-retention:exempt"
    assert policies.exemption([near, "other"], wanted) == policies.Exemption(True, (near,))
    assert policies.exemption([near, wanted], wanted) == policies.Exemption(True, ())
    assert policies.exemption(["keep  forever"], "Keep Forever") == policies.Exemption(
        True, ("keep  forever",)
    )
    # punctuation set aside, as the key audit's rule does: a near miss, kept and warned
    assert policies.exemption(["log-retention-exempt"], wanted) == policies.Exemption(
        True, ("log-retention-exempt",)
    )
    assert policies.exemption(["log-retention:keep"], wanted) == policies.Exemption(False, ())


@pytest.mark.parametrize("days", ["2", "0", "-1", "31", "3654", " ", "30x", "thirty", "1.5"])
def test_a_retention_cloudwatch_would_refuse_exits_1_before_any_aws_call(
    aws: None, run_cli: RunCli, api_calls: list[str], days: str
) -> None:
    done = run_cli("--apply", env={"RETENTION_DAYS": days})
    assert done.code == 1
    assert api_calls == []
    assert "RETENTION_DAYS" in done.stderr


def test_every_retention_cloudwatch_accepts_is_accepted() -> None:
    assert job.VALID_RETENTION_DAYS == CLOUDWATCH_RETENTION_DAYS
    for days in CLOUDWATCH_RETENTION_DAYS:
        assert load(RETENTION_DAYS=str(days))[1].retention_days == days
    assert load()[1].retention_days == 30  # the default


@pytest.mark.parametrize(
    ("variable", "value"),
    [("RETENTION_MODE", "shorten"), ("LOG_GROUP_PREFIX", "/aws/*"), ("LOG_GROUP_PREFIX", "a b")],
)
def test_other_bad_settings_exit_1_before_any_aws_call(
    aws: None, run_cli: RunCli, api_calls: list[str], variable: str, value: str
) -> None:
    done = run_cli("--apply", env={variable: value})
    assert done.code == 1
    assert api_calls == []
    assert variable in done.stderr


def test_the_default_mode_is_never_expire_only() -> None:
    _, job_settings = load()
    assert (job_settings.retention_mode, job_settings.log_group_prefix) == (
        "never-expire-only",
        None,
    )


def test_a_group_denied_is_counted_failed_one_deleted_gone_and_the_rest_still_change(
    aws: None, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_groups("a", "b-denied", "c-deleted", "d")
    denied = {"b-denied"}

    def deny_one(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "PutRetentionPolicy" and api_params["logGroupName"] in denied:
            raise client_error(operation_name, "AccessDeniedException", 400)
        return send(operation_name, api_params)

    real_plan = policies.plan

    def plan_then_delete(
        clients: Clients, settings: job.JobSettings, counts: job.Counts, stop: StopRequest
    ) -> Any:
        planned = real_plan(clients, settings, counts, stop)
        logs_client().delete_log_group(logGroupName="c-deleted")  # gone before it is changed
        return planned

    intercept(monkeypatch, deny_one)
    monkeypatch.setattr(policies, "plan", plan_then_delete)
    done = run_cli("--apply")
    assert done.code == 5
    summary = done.summary
    assert {key: summary[key] for key in ("planned", "changed", "failed", "gone")} == {
        "planned": 4,
        "changed": 2,
        "failed": 1,
        "gone": 1,
    }
    failures = {
        line["log_group"]: line["error_code"]
        for line in done.lines
        if line["message"] == "could not change"
    }
    assert failures == {"b-denied": "AccessDeniedException"}
    gone = [line for line in done.lines if line["message"] == "log group gone"]
    assert [(line["log_group"], line["level"]) for line in gone] == [("c-deleted", "WARNING")]
    assert all(
        line["level"] == "WARNING" for line in done.lines if line["message"] == "could not change"
    )
    assert retention() == {"a": 30, "b-denied": None, "d": 30}

    monkeypatch.setattr(policies, "plan", real_plan)  # a re-run plans only what is left
    again = run_cli("--apply")
    assert (again.summary["planned"], again.summary["failed"]) == (1, 1)  # still denied
    denied.clear()  # the permission is granted
    fixed = run_cli("--apply")
    assert (fixed.code, fixed.summary["planned"], fixed.summary["changed"]) == (0, 1, 1)
    assert retention() == {"a": 30, "b-denied": 30, "d": 30}


def test_a_group_deleted_before_its_change_alone_is_no_failure(
    aws: None, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_groups("a", "b")

    def delete_b_first(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "PutRetentionPolicy" and api_params["logGroupName"] == "b":
            raise client_error(operation_name, "ResourceNotFoundException", 400)
        return send(operation_name, api_params)

    intercept(monkeypatch, delete_b_first)
    done = run_cli("--apply")
    assert done.code == 0
    assert (done.summary["changed"], done.summary["gone"], done.summary["failed"]) == (1, 1, 0)


def test_a_failure_is_raised_only_after_every_group_was_tried(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_groups("a", "b", "c")

    def fail_first(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "PutRetentionPolicy" and api_params["logGroupName"] == "a":
            raise client_error(operation_name, "OperationAbortedException", 400)
        return send(operation_name, api_params)

    intercept(monkeypatch, fail_first)
    settings, job_settings = load("--apply")
    counts = job.Counts()
    with pytest.raises(PartialFailure, match="1 log group"):
        job.run(settings, job_settings, Clients(settings, "test-run"), counts, StopRequest())
    assert (counts.changed, counts.failed) == (2, 1)
    assert retention() == {"a": None, "b": 30, "c": 30}


ENDPOINT = f"https://logs.{REGION}.amazonaws.com/"


def access_denied(operation_name: str) -> Exception:
    return client_error(operation_name, "AccessDeniedException", 400)


def account_wide_errors() -> list[tuple[Callable[[str], Exception], int, int]]:
    """(the error every PutRetentionPolicy gets, the exit code, the groups tried)."""
    from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

    return [
        (lambda name: client_error(name, "ExpiredTokenException", 400), 2, 1),
        (lambda name: client_error(name, "UnrecognizedClientException", 400), 2, 1),
        (lambda name: ConnectionClosedError(endpoint_url=ENDPOINT), 3, 1),  # a reset
        (lambda name: EndpointConnectionError(endpoint_url=ENDPOINT), 3, 1),
        (access_denied, 4, DENIALS_IN_A_ROW),
    ]


@pytest.mark.parametrize(
    "case",
    account_wide_errors(),
    ids=["expired-token", "invalid-credentials", "connection-reset", "unreachable", "denied"],
)
def test_an_error_about_the_account_ends_the_run_without_trying_every_group(
    aws: None,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[Callable[[str], Exception], int, int],
) -> None:
    error, code, tried = case
    make_groups(*(f"group-{number}" for number in range(8)))
    puts: list[str] = []

    def fail(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "PutRetentionPolicy":
            puts.append(api_params["logGroupName"])
            raise error(operation_name)
        return send(operation_name, api_params)

    intercept(monkeypatch, fail)
    done = run_cli("--apply")
    assert done.code == code
    assert len(puts) == tried  # the other groups were not tried
    assert (done.summary["planned"], done.summary["failed"], done.summary["changed"]) == (
        8,
        tried,
        0,
    )
    assert set(retention().values()) == {None}


def test_denials_with_a_success_between_are_about_their_groups(
    aws: None, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_groups(*(f"group-{number}" for number in range(7)))
    denied = {"group-0", "group-1", "group-3", "group-4", "group-6"}  # never 3 in a row

    def deny(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "PutRetentionPolicy" and api_params["logGroupName"] in denied:
            raise access_denied(operation_name)
        return send(operation_name, api_params)

    intercept(monkeypatch, deny)
    done = run_cli("--apply")
    assert done.code == 5  # every group was tried
    assert (done.summary["failed"], done.summary["changed"]) == (5, 2)
    assert retention()["group-2"] == retention()["group-5"] == 30


def test_a_group_whose_tags_cannot_be_read_is_not_changed(
    aws: None, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_groups("a-gone", "b-denied", "c")

    def fail_tags(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "ListTagsForResource":
            if api_params["resourceArn"].endswith(":a-gone"):
                raise client_error(operation_name, "ResourceNotFoundException", 400)
            if api_params["resourceArn"].endswith(":b-denied"):
                raise access_denied(operation_name)
        return send(operation_name, api_params)

    intercept(monkeypatch, fail_tags)
    done = run_cli("--apply")
    assert done.code == 5
    summary = done.summary
    assert {key: summary[key] for key in ("planned", "changed", "gone", "failed")} == {
        "planned": 3,
        "changed": 1,
        "gone": 1,
        "failed": 1,
    }
    assert retention() == {"a-gone": None, "b-denied": None, "c": 30}
    denied = [line for line in done.lines if line["message"].startswith("could not read tags")]
    assert [(line["log_group"], line["error_code"]) for line in denied] == [
        ("b-denied", "AccessDeniedException")
    ]


def test_tags_denied_on_every_group_end_the_run_with_4_before_any_change(
    aws: None, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, api_calls: list[str]
) -> None:
    make_groups(*(f"group-{number}" for number in range(6)))
    api_calls.clear()

    def deny_tags(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "ListTagsForResource":
            denied.append(api_params["resourceArn"])
            raise access_denied(operation_name)
        return send(operation_name, api_params)

    denied: list[str] = []
    intercept(monkeypatch, deny_tags)
    done = run_cli("--apply")
    assert done.code == 4
    assert len(denied) == 3  # item_errors.DENIALS_IN_A_ROW
    assert "PutRetentionPolicy" not in api_calls
    assert set(retention().values()) == {None}


def test_more_groups_than_one_page_are_all_handled(aws: None, api_calls: list[str]) -> None:
    names = [f"/aws/lambda/fn-{number:03d}" for number in range(120)]
    make_groups(*names)
    api_calls.clear()
    counts = run_job("--apply")
    assert (counts.checked, counts.planned, counts.changed) == (120, 120, 120)
    assert api_calls.count("DescribeLogGroups") == 3  # 50 a page
    assert set(retention().values()) == {30}


def test_a_stop_request_ends_the_run_between_changes(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_groups("first", "second", "third")
    stop = StopRequest()
    real_plan = policies.plan

    def plan_then_signal(
        c: Clients, j: job.JobSettings, n: job.Counts, s: StopRequest
    ) -> list[policies.Change]:
        first, *rest = real_plan(c, j, n, s)

        def apply_then_signal() -> None:
            first.apply()
            stop.request(15)  # as if SIGTERM arrived during the first change

        return [
            policies.Change(first.description, first.log_group, None, 30, apply_then_signal),
            *rest,
        ]

    monkeypatch.setattr(policies, "plan", plan_then_signal)
    settings, job_settings = load("--apply")
    counts = job.Counts()
    with pytest.raises(Interrupted):
        job.run(settings, job_settings, Clients(settings, "test-run"), counts, stop)
    assert (counts.planned, counts.changed) == (3, 1)
    assert retention() == {"first": 30, "second": None, "third": None}
    monkeypatch.setattr(policies, "plan", real_plan)
    assert run_job("--apply").changed == 2  # a re-run finishes the rest


# Operation -> the IAM action it needs (None: no permission needed).
OPERATION_ACTIONS = {
    "GetCallerIdentity": None,
    "DescribeLogGroups": "logs:DescribeLogGroups",
    "ListTagsForResource": "logs:ListTagsForResource",
    "PutRetentionPolicy": "logs:PutRetentionPolicy",
}


def test_every_call_the_job_makes_is_covered_by_iam_actions(
    aws: None, run_cli: RunCli, api_calls: list[str]
) -> None:
    make_groups("/aws/lambda/x")
    api_calls.clear()
    assert run_cli("--apply", "--log-group-prefix", "/aws/").code == 0
    assert run_cli("--apply", env={"RETENTION_MODE": "exact", "RETENTION_DAYS": "7"}).code == 0
    assert {"PutRetentionPolicy", "ListTagsForResource"} <= set(api_calls)
    for name in api_calls:
        assert name in OPERATION_ACTIONS, f"{name}: map it to an IAM action, add it to IAM_ACTIONS"
    needed = {action for name in api_calls if (action := OPERATION_ACTIONS[name])}
    assert needed <= set(job.IAM_ACTIONS)


@pytest.mark.parametrize("prefix", [None, "/aws/lambda/"])
def test_the_session_policy_may_change_the_target_s_log_groups_with_or_without_a_prefix(
    prefix: str | None,
) -> None:
    scope = {
        "partition": "aws",
        "account": ACCOUNT_ID,
        "region": REGION,
        "LOG_GROUP_PREFIX": prefix,
        "RETENTION_DAYS": "30",
        "RETENTION_MODE": "never-expire-only",
    }
    granted = {
        (action, statement["Resource"])
        for statement in json.loads(session_policy(job.IAM_ACTIONS, [scope]))["Statement"]
        for action in statement["Action"]
    }
    log_groups = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:*"
    assert granted == {
        ("logs:DescribeLogGroups", "*"),
        ("logs:ListTagsForResource", log_groups),
        ("logs:PutRetentionPolicy", log_groups),
    }


def test_fan_out_sets_the_retention_in_every_account_and_region(
    organization: Organization, run_cli: RunCli
) -> None:
    from moto.logs.models import logs_backends

    regions = (REGION, OTHER_REGION)
    for account in organization.active:
        for region in regions:
            logs_backends[account][region].create_log_group(f"/aws/lambda/{account}", {})
    env = {
        "TARGET_ACCOUNTS": "organization",
        "TARGET_ROLE_NAME": "automation",
        "TARGET_REGIONS": ",".join(regions),
        "ALLOWED_ACCOUNT_IDS": ",".join(organization.active),
    }
    done = run_cli("--apply", env=env)
    assert done.code == 0
    targets = len(organization.active) * len(regions)
    assert done.summary["targets"] == targets
    assert (done.summary["checked"], done.summary["changed"]) == (targets, targets)
    for account in organization.active:
        for region in regions:
            group = logs_backends[account][region].groups[f"/aws/lambda/{account}"]
            assert group.retention_in_days == 30
    again = run_cli("--apply", env=env)
    assert (again.code, again.summary["planned"]) == (0, 0)

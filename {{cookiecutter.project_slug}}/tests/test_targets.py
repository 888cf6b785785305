# Maintained by the template: a template update replaces this file. Your tests go in test_job.py.
"""Fan-out: many accounts and regions, each with its own credentials, guard and result."""

from __future__ import annotations

import itertools
import json
import shlex
import signal
import threading
from pathlib import Path
from typing import Any

import botocore.handlers
import pytest

from {{ cookiecutter.package_name }} import job
from {{ cookiecutter.package_name }}.runtime.run import (
    targets,
)
from {{ cookiecutter.package_name }}.runtime.run.cli import (
    ExitCode,
    build_parser,
    most_severe,
)
from {{ cookiecutter.package_name }}.runtime.settings import (
    config,
)

from .conftest import (
    ACCOUNT_ID,
    FAN_OUT_ENV,
    OTHER_REGION,
    PARTITION,
    REGION,
    Organization,
    RunCli,
    Send,
    intercept,
)

# A regional job runs in every region asked for; a global one (IAM) once per
# account, in the run's own region, and refuses TARGET_REGIONS.
REGIONS = (REGION, OTHER_REGION) if job.REGIONAL else (REGION,)
REGIONS_ENV = {"TARGET_REGIONS": ",".join(REGIONS)} if job.REGIONAL else {}


def org_env(organization: Organization, **extra: str) -> dict[str, str]:
    return {
        **FAN_OUT_ENV,
        "TARGET_ACCOUNTS": "organization",
        "TARGET_ROLE_NAME": "automation",
        "ALLOWED_ACCOUNT_IDS": ",".join(organization.active),
        **extra,
    }


def finished(lines: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    return {
        (line["account"], line["region"]): line["exit_code"]
        for line in lines
        if line["message"] == "target finished"
    }


def test_organization_runs_every_active_account_in_every_region(
    organization: Organization, run_cli: RunCli
) -> None:
    done = run_cli(env=org_env(organization, **REGIONS_ENV))

    expected = {(account, region) for account in organization.active for region in REGIONS}
    assert finished(done.lines) == dict.fromkeys(expected, 0)
    assert organization.suspended not in {account for account, _ in finished(done.lines)}
    assert done.code == 0
    assert done.summary["targets"] == len(expected)
    assert done.summary["targets_by_exit_code"] == {"0": len(expected)}
    assert done.summary["failed_targets"] == []


def test_each_target_checks_who_it_is_under_the_role_it_assumed(
    organization: Organization, run_cli: RunCli
) -> None:
    done = run_cli(env=org_env(organization))

    identities = {
        line["account"]: line["arn"]
        for line in done.lines
        if line["message"] == "resolved AWS identity" and "region" in line
    }
    assert set(identities) == set(organization.active)
    for account, arn in identities.items():
        assert arn.startswith(f"arn:{PARTITION}:sts::{account}:assumed-role/automation/")


def test_every_target_line_carries_its_account_and_region(
    organization: Organization, run_cli: RunCli
) -> None:
    done = run_cli(env=org_env(organization, **REGIONS_ENV))

    start = done.messages().index("fan-out started")
    target_lines = done.lines[start + 1 : -1]
    assert target_lines
    for line in target_lines:
        assert line["account"] in organization.active, line
        assert line["region"] in REGIONS, line


def test_a_role_that_cannot_be_assumed_fails_only_its_target(
    organization: Organization, run_cli: RunCli, deny_assume_role: set[str]
) -> None:
    broken = organization.members[1]
    deny_assume_role.add(broken)

    done = run_cli(env=org_env(organization))

    results = finished(done.lines)
    assert results.pop((broken, REGION)) == ExitCode.PERMISSION
    assert results == dict.fromkeys(((a, REGION) for a in organization.active if a != broken), 0)
    assert done.code == ExitCode.PERMISSION
    assert done.summary["failed_targets"] == [
        {
            "account": broken,
            "region": REGION,
            "exit_code": int(ExitCode.PERMISSION),
            "error": done.summary["failed_targets"][0]["error"],
        }
    ]
    assert "AccessDenied" in done.summary["failed_targets"][0]["error"]
    errors = [line for line in done.lines if line["level"] == "ERROR"]
    assert [(line["account"], line["error_type"]) for line in errors] == [(broken, "ClientError")]


def test_the_allow_list_limits_which_organization_accounts_run(
    organization: Organization, run_cli: RunCli
) -> None:
    allowed = organization.members[:2]

    done = run_cli(env=org_env(organization, ALLOWED_ACCOUNT_IDS=",".join(allowed)))

    assert {account for account, _ in finished(done.lines)} == set(allowed)
    skipped = next(line for line in done.lines if line["message"].startswith("skipping"))
    assert set(skipped["skipped_accounts"]) == set(organization.active) - set(allowed)
    assert done.code == 0


def test_listed_accounts_outside_the_allow_list_are_refused_before_any_call(
    run_cli: RunCli, api_calls: list[str]
) -> None:
    done = run_cli(
        env={
            **FAN_OUT_ENV,
            "TARGET_ACCOUNTS": f"{ACCOUNT_ID},210987654321",
            "TARGET_ROLE_NAME": "automation",
            "ALLOWED_ACCOUNT_IDS": ACCOUNT_ID,
        }
    )

    assert done.code == ExitCode.CONFIG
    assert "210987654321 not in ALLOWED_ACCOUNT_IDS" in done.stderr
    assert api_calls == []


# Two profiles with keys of their own, beside the keys in the environment.
DEFAULT_KEY = "AKIADEFAULTPROFILE01"  # pragma: allowlist secret
OPS_KEY = "AKIAOPSPROFILE000001"  # pragma: allowlist secret
PROFILE_CREDENTIALS = (
    f"[default]\naws_access_key_id = {DEFAULT_KEY}\naws_secret_access_key = default-secret\n"
    f"[ops]\naws_access_key_id = {OPS_KEY}\naws_secret_access_key = ops-secret\n"
)


def keys_signing(monkeypatch: pytest.MonkeyPatch, event: str) -> list[str]:
    """The access key id each request of ``event`` (``before-send.sts.AssumeRole``)
    is signed with, read from its Authorization header: every botocore
    session made from now on reports its requests here."""
    keys: list[str] = []

    def record(request: Any, **_: Any) -> None:
        header = request.headers.get("Authorization", b"")
        text = header.decode() if isinstance(header, bytes) else str(header)
        keys.append(text.split("Credential=", 1)[1].split("/", 1)[0])

    handlers = [*botocore.handlers.BUILTIN_HANDLERS, (event, record)]
    monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", handlers)
    return keys


@pytest.mark.parametrize("how", ["flag", "variable"])
def test_a_named_profile_is_where_every_target_s_credentials_and_settings_come_from(
    organization: Organization,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    how: str,
) -> None:
    """The profile's key assumes every target's role, never the default
    profile's or the environment's; and each target's session is the
    profile's, with its settings: the default profile's endpoint (where no
    server listens) is never used."""
    credentials = tmp_path / "credentials"
    credentials.write_text(PROFILE_CREDENTIALS, encoding="utf-8")
    config_file = tmp_path / "config"
    config_file.write_text(
        "[default]\nendpoint_url = http://127.0.0.1:9\n[profile ops]\n", encoding="utf-8"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_file))
    argv: tuple[str, ...] = ("--profile", "ops")
    if how == "variable":
        monkeypatch.setenv("AWS_PROFILE", "ops")
        argv = ()
    signed = keys_signing(monkeypatch, "before-send.sts.AssumeRole")
    done = run_cli(*argv, env=org_env(organization, AWS_MAX_ATTEMPTS="1"))
    assert finished(done.lines) == dict.fromkeys(((a, REGION) for a in organization.active), 0)
    assert done.code == 0
    assert signed == [OPS_KEY] * len(organization.active)


def test_regions_alone_fan_out_in_the_run_s_own_account(
    aws: None, run_cli: RunCli, api_calls: list[str]
) -> None:
    done = run_cli(env={**FAN_OUT_ENV, "TARGET_REGIONS": f"{REGION},{OTHER_REGION}"})

    if job.REGIONAL:
        assert finished(done.lines) == {(ACCOUNT_ID, REGION): 0, (ACCOUNT_ID, OTHER_REGION): 0}
        assert done.code == 0
    else:  # a global service has no regions to fan out to
        assert done.code == ExitCode.CONFIG
        assert "TARGET_REGIONS: this job's service is global" in done.stderr
        assert api_calls == []


def test_targets_run_in_parallel_but_never_more_than_the_limit(
    organization: Organization, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first three targets meet at a barrier, which they can pass only if
    three run at once; the jobs run on three threads at most, so never four."""
    limit = 3
    running = 0
    most = 0
    started = 0
    workers: set[int] = set()
    lock = threading.Lock()
    all_in = threading.Barrier(limit)

    def parallel_job(*_: Any) -> None:
        nonlocal running, most, started
        with lock:
            running += 1
            most = max(most, running)
            started += 1
            first = started <= limit
            workers.add(threading.get_ident())
        if first:
            all_in.wait(timeout=60)  # breaks (and fails the test) unless 3 are running
        with lock:
            running -= 1

    monkeypatch.setattr(job, "run", parallel_job)
    env = org_env(organization, **REGIONS_ENV, MAX_PARALLEL_TARGETS=str(limit))
    done = run_cli(env=env)

    assert done.code == 0
    assert done.summary["targets"] == 4 * len(REGIONS)
    assert not all_in.broken
    assert most == limit
    assert len(workers) == limit


def test_every_target_s_calls_are_timed_by_the_run_s_watchdog(
    organization: Organization, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[str]] = []

    def watched_job(*args: Any) -> None:
        clients = args[2]
        watch = clients.watchdog
        assert watch is not None
        clients.sts.meta.events.register("before-send", lambda **_: seen.append(watch.in_flight()))
        clients.sts.get_caller_identity()

    monkeypatch.setattr(job, "run", watched_job)
    done = run_cli(env=org_env(organization))

    assert done.code == 0
    assert len(seen) == len(organization.active)
    assert all("GetCallerIdentity" in names for names in seen)


def test_one_target_s_unexpected_error_does_not_stop_the_others(
    organization: Organization, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = organization.members[0]
    real_run = job.run

    def run(settings: Any, job_settings: Any, clients: Any, counts: Any, stop: Any) -> None:
        if clients.identity().account == broken:
            raise RuntimeError("a bug in one target")
        real_run(settings, job_settings, clients, counts, stop)

    monkeypatch.setattr(job, "run", run)
    done = run_cli(env=org_env(organization))

    results = finished(done.lines)
    assert results.pop((broken, REGION)) == ExitCode.UNEXPECTED
    assert set(results.values()) == {0}
    assert len(results) == len(organization.active) - 1
    assert done.code == ExitCode.UNEXPECTED


def test_a_stop_request_leaves_targets_not_yet_started_alone(
    organization: Organization, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []

    def stopping_job(*args: Any) -> None:
        clients, stop = args[2], args[4]
        ran.append(clients.identity().account)
        stop.request(signal.SIGTERM)  # as the handler does when ECS stops the task

    monkeypatch.setattr(job, "run", stopping_job)
    done = run_cli(env=org_env(organization, MAX_PARALLEL_TARGETS="1"))

    results = finished(done.lines)
    assert len(ran) == 1
    # The target that was running when the stop came ends 143 too: a stop is never lost.
    assert set(results.values()) == {ExitCode.TERMINATED}
    assert len(results) == len(organization.active)
    assert done.code == ExitCode.TERMINATED


def test_target_settings_are_checked_together(run_cli: RunCli, api_calls: list[str]) -> None:
    done = run_cli(env={**FAN_OUT_ENV, "TARGET_ACCOUNTS": ACCOUNT_ID})
    assert done.code == ExitCode.CONFIG
    assert "TARGET_ROLE_NAME: is required with TARGET_ACCOUNTS" in done.stderr

    done = run_cli(env={**FAN_OUT_ENV, "TARGET_ROLE_NAME": "automation"})
    assert "TARGET_ROLE_NAME: is only used with TARGET_ACCOUNTS" in done.stderr

    done = run_cli(
        env={
            **FAN_OUT_ENV,
            "TARGET_ACCOUNTS": "12345",
            "TARGET_REGIONS": "mars-1",
            "MAX_PARALLEL_TARGETS": "0",
        }
    )
    for name in ("TARGET_ACCOUNTS", "TARGET_REGIONS", "MAX_PARALLEL_TARGETS"):
        assert f"error: {name}" in done.stderr
    assert api_calls == []


def test_the_summary_lists_at_most_100_failed_targets(
    aws: None, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def many_failures(*_: Any, **__: Any) -> list[targets.TargetResult]:
        return [
            targets.TargetResult(
                targets.Target(f"{n:012d}", REGION), f"{n:012d}", job.Counts(), RuntimeError(), 1
            )
            for n in range(1, 103)
        ]

    monkeypatch.setattr(targets, "run_all", many_failures)
    done = run_cli(env={**FAN_OUT_ENV, "TARGET_ACCOUNTS": ACCOUNT_ID, "TARGET_ROLE_NAME": "r"})

    assert done.code == ExitCode.UNEXPECTED
    assert done.summary["targets"] == 102
    assert done.summary["targets_by_exit_code"] == {"99": 102}
    assert len(done.summary["failed_targets"]) == 100
    assert done.summary["failed_targets_not_listed"] == 2
    assert done.summary["failed_targets"][0]["error"] == "RuntimeError"


def test_the_worst_exit_code_wins() -> None:
    assert most_severe([]) == ExitCode.OK
    assert most_severe([ExitCode.OK, ExitCode.AWS_ERROR, ExitCode.PERMISSION]) == (
        ExitCode.PERMISSION
    )
    assert most_severe([ExitCode.UNEXPECTED, ExitCode.REFUSED]) == ExitCode.UNEXPECTED
    assert most_severe([ExitCode.UNEXPECTED, ExitCode.INTERRUPTED]) == ExitCode.INTERRUPTED
    # Findings outrank success, and any failure outranks findings.
    assert most_severe([ExitCode.OK, ExitCode.FINDINGS]) == ExitCode.FINDINGS
    assert most_severe([ExitCode.FINDINGS, ExitCode.AWS_ERROR]) == ExitCode.AWS_ERROR


def test_counts_of_targets_add_up() -> None:
    total, one, two = job.Counts(), job.Counts(), job.Counts()
    first = next(iter(total.as_dict()))
    setattr(one, first, 2)
    setattr(two, first, 3)
    targets.add_counts(total, one)
    targets.add_counts(total, two)
    assert total.as_dict()[first] == 5


def test_the_docs_fan_out_example_is_a_configuration_the_script_accepts() -> None:
    """The example of docs/operations.md, "Many accounts and regions"."""
    page = Path(__file__).resolve().parent.parent / "docs" / "operations.md"
    section = page.read_text(encoding="utf-8").split("\n## Many accounts and regions\n", 1)[1]
    example = section.split("```bash\n", 1)[1].split("```", 1)[0]
    words = shlex.split(example.replace("\\\n", " "))
    assignments = list(itertools.takewhile(lambda word: "=" in word, words))
    env = dict(word.split("=", 1) for word in assignments)
    command, *argv = words[len(assignments) :]
    assert command == {{ cookiecutter.project_slug | tojson }}
    settings, _ = config.load(
        build_parser(job).parse_args(argv), env, job.JobSettings, job.SETTINGS
    )
    assert settings.target_accounts == "organization"
    assert settings.target_regions is None or job.REGIONAL


def test_target_regions_for_a_global_job_is_refused_with_the_other_problems(
    aws: None, run_cli: RunCli, api_calls: list[str]
) -> None:
    env = {**FAN_OUT_ENV, "TARGET_REGIONS": f"{REGION},{OTHER_REGION}", "MAX_PARALLEL_TARGETS": "0"}
    done = run_cli(env=env)
    assert done.code == ExitCode.CONFIG
    assert "error: MAX_PARALLEL_TARGETS" in done.stderr
    assert ("TARGET_REGIONS: this job's service is global" in done.stderr) is not job.REGIONAL
    assert api_calls == []


def test_the_run_s_own_role_session_may_only_list_and_assume_the_target_role(
    organization: Organization, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/runner"
    policies: dict[str, Any] = {}

    def record(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "AssumeRole":
            policies[api_params["RoleArn"]] = json.loads(api_params["Policy"])
        return send(operation_name, api_params)

    intercept(monkeypatch, record)
    done = run_cli(env=org_env(organization, ASSUME_ROLE_ARN=runner))

    assert done.code == 0
    granted = {
        (tuple(statement["Action"]), statement["Resource"])
        for statement in policies[runner]["Statement"]
    }
    target_roles = f"arn:{PARTITION}:iam::*:role/automation"
    assert granted == {(("organizations:ListAccounts",), "*"), (("sts:AssumeRole",), target_roles)}

"""The access-key-audit job against moto: findings, dry-run, apply, report, exit codes."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import stat
import tempfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from {{ cookiecutter.package_name }} import job, own_keys, reporting
from {{ cookiecutter.package_name }}.runtime.access import (
    item_errors,
)
from {{ cookiecutter.package_name }}.runtime.access.aws import (
    session_policy,
)
from {{ cookiecutter.package_name }}.runtime.run import (
    targets,
)
from {{ cookiecutter.package_name }}.runtime.run.cli import (
    build_parser,
)
from {{ cookiecutter.package_name }}.runtime.settings import (
    config,
)

from .conftest import (
    ACCOUNT_ID,
    PARTITION,
    REGION,
    Organization,
    RunCli,
    Send,
    client_error,
    intercept,
    make_bucket,
    seed_key,
)

# What an AWS secret access key looks like: 40 characters of base64.
SECRET_SHAPE = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])")


def iam() -> Any:
    return boto3.client("iam", region_name=REGION)


def key_status(user: str, key_id: str) -> str | None:
    keys = iam().list_access_keys(UserName=user)["AccessKeyMetadata"]
    return next((key["Status"] for key in keys if key["AccessKeyId"] == key_id), None)


def report_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def findings_logged(done: Any) -> dict[str, dict[str, Any]]:
    """Logged findings by key id ending: the logs scrub whole key ids."""
    actions = {"would deactivate", "deactivated", "failed"}
    return {line["key_id_suffix"]: line for line in done.lines if line["message"] in actions}


def ends(*key_ids: str) -> set[str]:
    return {key_id[-4:] for key_id in key_ids}


@pytest.fixture
def keys(aws: None) -> dict[str, str]:
    """One key of each kind, in moto's default account."""
    return {
        "old": seed_key("old-user", age_days=200, used_days_ago=1),
        "young": seed_key("young-user", age_days=10, used_days_ago=1),
        "never_used": seed_key("idle-user", age_days=120),
        "unused": seed_key("young-user", age_days=60, used_days_ago=95),
        "exempt": seed_key("exempt-user", age_days=400, tags={"access-key-audit:exempt": "yes"}),
        "inactive": seed_key("old-user", age_days=300, status="Inactive"),
    }


STALE = ("old", "never_used", "unused")


def test_dry_run_reports_stale_keys_changes_nothing_and_exits_7(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    report = tmp_path / "report.jsonl"
    done = run_cli(env={"REPORT_PATH": str(report)})

    assert done.code == 7
    assert done.summary["findings"] == len(STALE)
    assert (done.summary["deactivated"], done.summary["failed"]) == (0, 0)
    assert done.summary["exempt_users"] == 1
    logged = findings_logged(done)
    assert set(logged) == ends(*(keys[name] for name in STALE))
    assert {line["message"] for line in logged.values()} == {"would deactivate"}
    old = logged[keys["old"][-4:]]
    assert (old["user"], old["age_days"], old["reasons"]) == ("old-user", 200, ["age"])
    assert old["last_used_service"] == "s3"
    assert old["last_used"] is not None
    never = logged[keys["never_used"][-4:]]
    assert (never["last_used"], never["last_used_service"]) == (None, None)
    assert never["reasons"] == ["age", "unused"]
    assert logged[keys["unused"][-4:]]["reasons"] == ["unused"]
    lines = {line["access_key_id"]: line for line in report_lines(report)}
    assert set(lines) == {keys[name] for name in STALE}
    assert {line["action"] for line in lines.values()} == {"would deactivate"}
    assert {line["previous_status"] for line in lines.values()} == {"Active"}
    assert {line["account"] for line in lines.values()} == {ACCOUNT_ID}
    for name, key_id in keys.items():
        assert key_status(*user_of(name), key_id) == (
            "Inactive" if name == "inactive" else "Active"
        )


def user_of(name: str) -> tuple[str]:
    return (
        {
            "old": "old-user",
            "young": "young-user",
            "never_used": "idle-user",
            "unused": "young-user",
            "exempt": "exempt-user",
            "inactive": "old-user",
        }[name],
    )


def test_apply_deactivates_never_deletes_and_a_rerun_finds_nothing(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    report = tmp_path / "report.jsonl"
    done = run_cli("--apply", env={"REPORT_PATH": str(report)})

    assert done.code == 0
    assert (done.summary["findings"], done.summary["deactivated"]) == (len(STALE), len(STALE))
    for name, key_id in keys.items():
        expected = "Inactive" if name in (*STALE, "inactive") else "Active"
        assert key_status(*user_of(name), key_id) == expected, name  # still listed: not deleted
    lines = report_lines(report)
    assert {line["action"] for line in lines} == {"deactivated"}
    assert {line["previous_status"] for line in lines} == {"Active"}

    again = run_cli("--apply", env={"REPORT_PATH": str(report)})
    assert (again.code, again.summary["findings"]) == (0, 0)
    assert report.read_text(encoding="utf-8") == ""  # a clean run leaves an empty report
    dry = run_cli()
    assert (dry.code, dry.summary["findings"]) == (0, 0)


def test_thresholds_come_from_the_settings(keys: dict[str, str], run_cli: RunCli) -> None:
    done = run_cli("--max-key-age-days", "500", env={"MAX_UNUSED_DAYS": "500"})
    assert (done.code, done.summary["findings"]) == (0, 0)
    done = run_cli("--max-key-age-days", "5", env={"MAX_UNUSED_DAYS": "5000"})
    expected = ends(*(keys[name] for name in ("old", "young", "never_used", "unused")))
    assert set(findings_logged(done)) == expected
    assert done.code == 7


def test_an_account_with_no_users_exits_0(aws: None, run_cli: RunCli) -> None:
    done = run_cli()
    assert (done.code, done.summary["users"], done.summary["findings"]) == (0, 0, 0)


def test_a_failed_deactivation_is_counted_the_others_still_go_exit_5(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = keys["never_used"]

    def call(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "UpdateAccessKey" and api_params["AccessKeyId"] == broken:
            raise client_error(operation_name, "ServiceFailure", 500)
        return send(operation_name, api_params)

    intercept(monkeypatch, call)
    report = tmp_path / "report.jsonl"
    done = run_cli("--apply", env={"REPORT_PATH": str(report), "AWS_MAX_ATTEMPTS": "1"})

    assert done.code == 5
    assert (done.summary["deactivated"], done.summary["failed"]) == (len(STALE) - 1, 1)
    assert key_status("idle-user", broken) == "Active"
    assert key_status("old-user", keys["old"]) == "Inactive"
    actions = {line["access_key_id"]: line["action"] for line in report_lines(report)}
    assert actions[broken] == "failed"
    assert actions[keys["old"]] == actions[keys["unused"]] == "deactivated"
    assert (
        "ServiceFailure"
        in next(line for line in report_lines(report) if line["action"] == "failed")["error"]
    )


def test_the_report_goes_to_an_s3_object(keys: dict[str, str], run_cli: RunCli) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    make_bucket(s3, "audit-reports")
    done = run_cli(env={"REPORT_PATH": "s3://audit-reports/keys/{account}.jsonl"})

    assert done.code == 7
    body = s3.get_object(Bucket="audit-reports", Key=f"keys/{ACCOUNT_ID}.jsonl")["Body"].read()
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert {line["access_key_id"] for line in lines} == {keys[name] for name in STALE}


def test_a_local_report_replaces_the_old_one_whole(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    report = tmp_path / "report.jsonl"
    report.write_text("an older report\n", encoding="utf-8")
    assert run_cli(env={"REPORT_PATH": str(report)}).code == 7
    assert len(report_lines(report)) == len(STALE)
    assert [path.name for path in tmp_path.iterdir()] == ["report.jsonl"]  # no temporary left


@pytest.mark.parametrize(
    "env",
    [
        {"MAX_KEY_AGE_DAYS": "-1"},
        {"MAX_KEY_AGE_DAYS": " "},
        {"MAX_KEY_AGE_DAYS": "abc"},
        {"MAX_UNUSED_DAYS": "1.5"},
        {"REPORT_PATH": "s3://"},
        {"REPORT_PATH": "s3://Bad_Bucket/key"},
        {"REPORT_PATH": "s3://bucket-name"},
        {"REPORT_PATH": "https://example.com/report"},
        {"REPORT_PATH": "/no/such/directory/report.jsonl"},
        {"REPORT_PATH": "x" * 300 + ".jsonl"},
        {"REPORT_PATH": "/" + "d" * 300 + "/report.jsonl"},
        {"EXEMPT_TAG_KEY": ","},
        {"EXEMPT_TAG_KEY": "{" * 2 + " 7*7 " + "}" * 2},  # a template expression
        {"EXEMPT_TAG_KEY": "{account}"},
        {"EXEMPT_TAG_KEY": "exempt\x00"},
        {"EXEMPT_TAG_KEY": "exempt\U0001f600"},
        {"EXEMPT_TAG_KEY": "exempt\nkey"},
        {"EXEMPT_TAG_KEY": "aws:exempt"},
        {"EXEMPT_TAG_KEY": "AWS:exempt"},
    ],
)
def test_bad_settings_are_refused_before_any_aws_call(
    run_cli: RunCli, api_calls: list[str], env: dict[str, str]
) -> None:
    done = run_cli(env=env)
    assert done.code == 1
    assert api_calls == []
    assert next(iter(env)) in json.dumps(done.lines)


def test_a_report_path_that_is_a_directory_is_refused(
    run_cli: RunCli, api_calls: list[str], tmp_path: Path
) -> None:
    assert run_cli(env={"REPORT_PATH": str(tmp_path)}).code == 1
    assert api_calls == []


@pytest.mark.parametrize("suffix", ["reports/", "reports/.", "reports/..", "file/", "file/."])
def test_a_report_path_written_as_a_directory_is_refused(
    run_cli: RunCli, api_calls: list[str], tmp_path: Path, suffix: str
) -> None:
    """``reports/`` reads as ``reports`` to pathlib: it would write a file
    named after a missing directory, or replace the file ``file``."""
    (tmp_path / "file").write_text("kept", encoding="utf-8")
    done = run_cli(env={"REPORT_PATH": f"{tmp_path}/{suffix}"})
    assert done.code == 1
    assert "names a directory, expected a file path" in done.stderr
    assert api_calls == []
    assert (tmp_path / "file").read_text(encoding="utf-8") == "kept"
    assert not (tmp_path / "reports").exists()


def test_an_empty_setting_means_its_default(aws: None, run_cli: RunCli) -> None:
    # The template's rule for every setting: empty is unset (deploy stacks pass them so).
    done = run_cli(env={"MAX_KEY_AGE_DAYS": "", "REPORT_PATH": ""})
    assert done.code == 0


def test_no_secret_access_key_appears_anywhere(
    aws: None, run_cli: RunCli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    iam().create_user(UserName="person")
    secret = iam().create_access_key(UserName="person")["AccessKey"]["SecretAccessKey"]
    seed_key("person", age_days=400)
    report = tmp_path / "report.jsonl"
    for argv in ((), ("--apply",)):
        done = run_cli(*argv, env={"REPORT_PATH": str(report), "LOG_LEVEL": "DEBUG"})
        assert done.code in (0, 7)
        output = json.dumps(done.lines) + done.stderr + report.read_text(encoding="utf-8")
        assert secret not in output
        assert "SecretAccessKey" not in output
        assert not SECRET_SHAPE.search(output.replace("testing", ""))


# Operation -> the IAM action it needs (None: no permission needed).
OPERATION_ACTIONS = {
    "GetCallerIdentity": None,
    "ListUsers": "iam:ListUsers",
    "ListUserTags": "iam:ListUserTags",
    "ListAccessKeys": "iam:ListAccessKeys",
    "GetAccessKeyLastUsed": "iam:GetAccessKeyLastUsed",
    "UpdateAccessKey": "iam:UpdateAccessKey",
    "PutObject": "s3:PutObject",
}


def test_every_call_the_job_makes_is_covered_by_iam_actions(
    keys: dict[str, str], run_cli: RunCli, api_calls: list[str]
) -> None:
    make_bucket(boto3.client("s3", region_name=REGION), "audit-reports")
    api_calls.clear()
    assert run_cli("--apply", env={"REPORT_PATH": "s3://audit-reports/r.jsonl"}).code == 0
    for name in api_calls:
        assert name in OPERATION_ACTIONS, f"{name}: map it to an IAM action, add it to IAM_ACTIONS"
    needed = {action for name in api_calls if (action := OPERATION_ACTIONS[name])}
    assert needed == set(job.IAM_ACTIONS)


def load(env: dict[str, str]) -> tuple[config.Settings, job.JobSettings]:
    return config.load(build_parser(job).parse_args([]), env, job.JobSettings, job.SETTINGS)


def policy_for(env: dict[str, str]) -> dict[str, list[str]]:
    _, job_settings = load(env)
    scope = targets._scope(job, job_settings, PARTITION, ACCOUNT_ID, REGION)
    statements = json.loads(session_policy(job.IAM_ACTIONS, [scope]))["Statement"]
    return {statement["Resource"]: statement["Action"] for statement in statements}


def test_the_session_policy_grants_put_object_only_on_the_report_object() -> None:
    users = f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/*"
    with_s3 = policy_for({"REPORT_PATH": "s3://audit-reports/keys/{account}.jsonl"})
    assert with_s3 == {
        users: sorted(action for action in job.IAM_ACTIONS if action.startswith("iam:")),
        f"arn:{PARTITION}:s3:::audit-reports/keys/{ACCOUNT_ID}.jsonl": ["s3:PutObject"],
    }
    assert list(policy_for({})) == [users]
    assert list(policy_for({"REPORT_PATH": "report.jsonl"})) == [users]


def test_fan_out_runs_once_per_account_never_per_region(
    organization: Organization, run_cli: RunCli, tmp_path: Path
) -> None:
    for account in organization.active:
        seed_key(f"user-{account}", age_days=200, account=account)
    env = {
        "TARGET_ACCOUNTS": "organization",
        "TARGET_ROLE_NAME": "automation",
        "ALLOWED_ACCOUNT_IDS": ",".join(organization.active),
        "REPORT_PATH": str(tmp_path / "{account}.jsonl"),
    }

    done = run_cli("--apply", env=env)

    finished = [line for line in done.lines if line["message"] == "target finished"]
    assert sorted(line["account"] for line in finished) == sorted(organization.active)
    assert {line["region"] for line in finished} == {REGION}
    assert done.code == 0
    for account in organization.active:
        (line,) = report_lines(tmp_path / f"{account}.jsonl")
        assert (line["account"], line["user"], line["action"]) == (
            account,
            f"user-{account}",
            "deactivated",
        )


def test_target_regions_are_refused_for_a_global_service(
    aws: None, run_cli: RunCli, api_calls: list[str]
) -> None:
    done = run_cli(env={"TARGET_REGIONS": f"{REGION},eu-west-1"})
    assert done.code == 1
    assert "TARGET_REGIONS" in json.dumps(done.lines)
    assert api_calls == []


def test_several_accounts_need_a_report_path_per_account(
    run_cli: RunCli, api_calls: list[str]
) -> None:
    env = {
        "TARGET_ACCOUNTS": "organization",
        "TARGET_ROLE_NAME": "automation",
        "REPORT_PATH": "s3://audit-reports/keys.jsonl",
    }
    assert run_cli(env=env).code == 1
    assert api_calls == []


@pytest.mark.parametrize(
    ("value", "wrong"),
    [
        ("  ", "is set but blank"),
        ("/x/{foo}.jsonl", "unknown placeholder {foo}"),
        ("s3://", "the bucket is missing"),
        ("s3:///key.jsonl", "the bucket is missing"),
        ("x" * 300 + ".jsonl", "longer than 255 bytes"),
    ],
)
def test_each_report_path_problem_is_told_once_and_says_what_is_wrong(
    run_cli: RunCli, api_calls: list[str], value: str, wrong: str
) -> None:
    done = run_cli(env={"REPORT_PATH": value})
    assert done.code == 1
    assert api_calls == []
    (problem,) = [line for line in done.stderr.splitlines() if "REPORT_PATH" in line]
    assert wrong in problem
    assert "is required" not in problem


@pytest.mark.parametrize("value", ["access-key-audit:exempt", "Exempt Ñ 1 _.:/=+-@", "x" * 128])
def test_an_exempt_tag_key_is_any_iam_tag_key(value: str) -> None:
    assert job.tag_key(value) == value


def test_account_in_the_report_directory_is_checked_with_the_real_account(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path, api_calls: list[str]
) -> None:
    path = str(tmp_path / "reports-{account}" / "keys.jsonl")
    missing = run_cli("--apply", env={"REPORT_PATH": path})
    assert missing.code == 1
    assert "REPORT_PATH" in missing.stderr
    assert "UpdateAccessKey" not in api_calls

    (tmp_path / f"reports-{ACCOUNT_ID}").mkdir()
    done = run_cli(env={"REPORT_PATH": path})
    assert done.code == 7
    lines = report_lines(tmp_path / f"reports-{ACCOUNT_ID}" / "keys.jsonl")
    assert len(lines) == len(STALE)


def fail_after_the_audit(monkeypatch: pytest.MonkeyPatch, then: Any) -> list[str]:
    """Call ``then()`` once, at the first GetAccessKeyLastUsed (the settings
    were checked by then); record every call's operation name."""
    calls: list[str] = []

    def call(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        calls.append(operation_name)
        if operation_name == "GetAccessKeyLastUsed" and calls.count(operation_name) == 1:
            then()
        return send(operation_name, api_params)

    intercept(monkeypatch, call)
    return calls


def test_a_report_that_cannot_be_written_stops_the_apply_before_any_change(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    calls = fail_after_the_audit(monkeypatch, folder.rmdir)  # gone once the settings passed

    done = run_cli("--apply", env={"REPORT_PATH": str(folder / "keys.jsonl")})

    assert done.code == 8  # the run's own output could not be written
    assert "UpdateAccessKey" not in calls
    for name in STALE:
        assert key_status(*user_of(name), keys[name]) == "Active"
    (problem,) = [line for line in done.lines if line["message"].startswith("output_failed")]
    assert "REPORT_PATH" in problem["message"]
    assert "No such file or directory" in problem["message"]
    assert "no change was made" in problem["message"]
    assert done.summary["deactivated"] == 0


@pytest.mark.parametrize("argv", [("--apply",), ()])
def test_a_missing_report_bucket_is_found_before_any_change_and_fails_the_run(
    keys: dict[str, str], run_cli: RunCli, api_calls: list[str], argv: tuple[str, ...]
) -> None:
    done = run_cli(*argv, env={"REPORT_PATH": "s3://no-such-audit-bucket/keys.jsonl"})

    assert done.code == 8  # not 7 for a dry run, as if all went well
    assert "UpdateAccessKey" not in api_calls
    for name in STALE:
        assert key_status(*user_of(name), keys[name]) == "Active"
    (problem,) = [line for line in done.lines if line["message"].startswith("output_failed")]
    assert "REPORT_PATH" in problem["message"]
    assert "the bucket does not exist" in problem["message"]
    assert "no change was made" in problem["message"]


def test_the_report_lists_every_planned_change_before_the_first(
    keys: dict[str, str],
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What a forced end (second signal, a call past its bound) leaves: it
    ends the process at once, so the report is the one written before the
    first change; the log's ``deactivated`` lines, each written as soon as
    its call returned, name the keys changed by user and suffix, which pick
    one ``planned`` line each; keys are changed in the report's order, so
    the key in flight is the first ``planned`` line after the last one named."""
    report = tmp_path / "report.jsonl"
    seen: list[list[dict[str, Any]]] = []
    order: list[str] = []
    log_so_far: list[dict[str, Any]] = []
    changed_before: list[list[str]] = []

    def call(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "UpdateAccessKey":
            seen.append(report_lines(report))  # as a forced end here would leave it
            out = capsys.readouterr().out  # the log as a forced end here would leave it
            log_so_far.extend(json.loads(line) for line in out.splitlines() if line.strip())
            changed_before.append(
                [line["key_id_suffix"] for line in log_so_far if line["message"] == "deactivated"]
            )
            order.append(api_params["AccessKeyId"])
        return send(operation_name, api_params)

    intercept(monkeypatch, call)
    done = run_cli("--apply", env={"REPORT_PATH": str(report)})
    log = log_so_far + done.lines

    assert done.code == 0
    assert len(seen) == len(STALE)
    for before in seen:
        assert {line["access_key_id"] for line in before} == {keys[name] for name in STALE}
        assert {line["action"] for line in before} == {"planned"}
    assert order == [line["access_key_id"] for line in seen[0]]  # in the report's order
    for count, suffixes in enumerate(changed_before):  # every change logged before the next
        assert suffixes == [key_id[-4:] for key_id in order[:count]]
    for line in [line for line in log if line["message"] == "deactivated"]:
        (picked,) = [
            planned
            for planned in seen[0]
            if (planned["user"], planned["access_key_id"][-4:])
            == (line["user"], line["key_id_suffix"])
        ]
        assert picked["access_key_id"] not in json.dumps(log)  # whole ids never reach the log
    assert {line["action"] for line in report_lines(report)} == {"deactivated"}


def test_a_first_signal_mid_apply_rewrites_the_report_with_what_was_done(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = tmp_path / "report.jsonl"

    def call(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        answer = send(operation_name, api_params)
        if operation_name == "UpdateAccessKey":
            os.kill(os.getpid(), signal.SIGINT)  # the handler only asks the run to stop
        return answer

    intercept(monkeypatch, call)
    done = run_cli("--apply", env={"REPORT_PATH": str(report)})

    assert done.code == 130
    actions = {line["access_key_id"]: line["action"] for line in report_lines(report)}
    assert sorted(actions.values()) == ["deactivated", "not reached", "not reached"]
    for key_id, action in actions.items():
        name = next(name for name in STALE if keys[name] == key_id)
        expected = "Inactive" if action == "deactivated" else "Active"
        assert key_status(*user_of(name), key_id) == expected
    assert [line["message"] for line in done.lines].count("deactivated") == 1


def test_a_user_deleted_mid_run_is_skipped_and_the_audit_goes_on(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = tmp_path / "report.jsonl"
    report.write_text("an earlier report\n", encoding="utf-8")

    def call(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "ListAccessKeys" and api_params.get("UserName") == "old-user":
            message = "The user cannot be found."
            raise client_error(operation_name, "NoSuchEntity", 404, message)
        return send(operation_name, api_params)

    intercept(monkeypatch, call)
    done = run_cli(env={"REPORT_PATH": str(report)})

    assert done.code == 7
    assert done.summary["users_gone"] == 1
    assert "user gone" in done.messages()
    audited = {line["access_key_id"] for line in report_lines(report)}
    assert audited == {keys["never_used"], keys["unused"]}


def test_a_key_deleted_before_its_deactivation_is_gone_not_failed(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = tmp_path / "report.jsonl"
    doomed = keys["never_used"]

    def call(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "UpdateAccessKey" and api_params["AccessKeyId"] == doomed:
            send("DeleteAccessKey", {"UserName": "idle-user", "AccessKeyId": doomed})
        return send(operation_name, api_params)

    intercept(monkeypatch, call)
    done = run_cli("--apply", env={"REPORT_PATH": str(report)})

    assert done.code == 0
    assert (done.summary["deactivated"], done.summary["keys_gone"]) == (len(STALE) - 1, 1)
    assert done.summary["failed"] == 0
    actions = {line["access_key_id"]: line["action"] for line in report_lines(report)}
    assert actions == {
        keys["old"]: "deactivated",
        keys["unused"]: "deactivated",
        doomed: "gone",
    }


LOG_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def test_date_times_in_log_lines_are_written_like_time(
    keys: dict[str, str], run_cli: RunCli
) -> None:
    logged = findings_logged(run_cli())
    assert logged
    for line in logged.values():
        assert LOG_TIME.fullmatch(line["create_date"]), line["create_date"]
        if line["last_used"] is not None:
            assert LOG_TIME.fullmatch(line["last_used"]), line["last_used"]
    assert logged[keys["old"][-4:]]["last_used"] is not None


DOCS = Path(__file__).resolve().parent.parent / "docs"
JOB_PAGE = DOCS / "job.md"  # what the job does
OPERATIONS_PAGE = DOCS / "operations.md"  # its "Run against a local moto server" block


def test_the_docs_moto_example_runs_without_a_configured_region(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = OPERATIONS_PAGE.read_text(encoding="utf-8")
    (line,) = [line for line in text.splitlines() if line.startswith('python -c "import boto3')]
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    exec(line.removeprefix('python -c "').removesuffix('"'), {})  # noqa: S102 - our docs
    # With no region, IAM is its global endpoint, in the aws partition, whatever
    # the project's region: the user is read back where the line made it. (The
    # docs' block sets the region first; tests/test_readme_commands.py runs
    # it in every partition.)
    no_region = boto3.client("iam")
    assert no_region.list_access_keys(UserName="example-user")["AccessKeyMetadata"]


# --- The run never deactivates a key its own credentials depend on ---------


def report_by_key(path: Path) -> dict[str, dict[str, Any]]:
    return {line["access_key_id"]: line for line in report_lines(path)}


def sign_with(monkeypatch: pytest.MonkeyPatch, key_id: str) -> None:
    """Make the run's credentials (botocore reads the process environment)
    this access key: moto does not check the secret."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-checked-by-moto")


@pytest.mark.parametrize("argv", [("--apply",), ()])
def test_the_key_that_signs_the_run_is_kept_and_still_a_finding(
    keys: dict[str, str],
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: tuple[str, ...],
) -> None:
    own = seed_key("automation", age_days=400, used_days_ago=200)
    sign_with(monkeypatch, own)
    report = tmp_path / "report.jsonl"

    done = run_cli(*argv, env={"REPORT_PATH": str(report)})

    assert done.code == 7  # a finding remains: the findings exit code still applies
    assert key_status("automation", own) == "Active"
    line = report_by_key(report)[own]
    assert line["action"] == "kept, in use by this run"
    assert line["kept_because"] == "signs this run"
    assert done.summary["kept_in_use"] == 1
    (logged,) = [entry for entry in done.lines if entry["message"] == line["action"]]
    assert (logged["level"], logged["user"]) == ("WARNING", "automation")
    if argv:  # the other findings are deactivated as usual; a re-run finds only the kept key
        assert done.summary["deactivated"] == len(STALE)
        assert key_status("old-user", keys["old"]) == "Inactive"
        again = run_cli(*argv)
        assert (again.code, again.summary["findings"], again.summary["kept_in_use"]) == (7, 1, 1)


ROLE_ARN = f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/auditor"


def test_the_key_behind_assume_role_arn_is_kept(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = seed_key("automation", age_days=400, used_days_ago=200)
    sign_with(monkeypatch, source)
    report = tmp_path / "report.jsonl"

    done = run_cli("--apply", env={"REPORT_PATH": str(report), "ASSUME_ROLE_ARN": ROLE_ARN})

    assert done.code == 7
    assert key_status("automation", source) == "Active"
    line = report_by_key(report)[source]
    assert line["action"] == "kept, in use by this run"
    assert line["kept_because"] == "a long-term key behind this run's credentials"
    assert key_status("old-user", keys["old"]) == "Inactive"


def write_profiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str, creds: str
) -> None:
    (tmp_path / "config").write_text(config, encoding="utf-8")
    (tmp_path / "credentials").write_text(creds, encoding="utf-8")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))


@pytest.mark.parametrize(
    ("config", "from_environment"),
    [
        # a role whose source profile holds the key
        ("[profile auditor]\nrole_arn = {role}\nsource_profile = base\n", False),
        # two roles deep
        (
            "[profile auditor]\nrole_arn = {role}\nsource_profile = middle\n"
            "[profile middle]\nrole_arn = {role}\nsource_profile = base\n",
            False,
        ),
        # a role assumed with the environment's key
        ("[profile auditor]\nrole_arn = {role}\ncredential_source = Environment\n", True),
    ],
    ids=["source_profile", "two-deep", "credential_source"],
)
def test_the_long_term_key_behind_a_profile_role_is_kept(
    keys: dict[str, str],
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    config: str,
    from_environment: bool,
) -> None:
    source = seed_key("automation", age_days=400, used_days_ago=200)
    creds = "" if from_environment else f"[base]\naws_access_key_id = {source}\n"
    write_profiles(
        tmp_path,
        monkeypatch,
        config.format(role=ROLE_ARN),
        creds + ("" if from_environment else "aws_secret_access_key = not-checked\n"),
    )
    if from_environment:
        sign_with(monkeypatch, source)
    monkeypatch.setenv("AWS_PROFILE", "auditor")
    report = tmp_path / "report.jsonl"

    done = run_cli("--apply", env={"REPORT_PATH": str(report)})

    assert done.code == 7
    assert key_status("automation", source) == "Active"
    assert report_by_key(report)[source]["action"] == "kept, in use by this run"
    assert key_status("old-user", keys["old"]) == "Inactive"


def no_environment_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")


def credential_process(tmp_path: Path, key_id: str) -> Path:
    """A ``credential_process`` program that hands out the long-term key ``key_id``."""
    answer = {"Version": 1, "AccessKeyId": key_id, "SecretAccessKey": "not-checked-by-moto"}
    program = tmp_path / "credential-process.sh"
    program.write_text(f"#!/bin/sh\necho '{json.dumps(answer)}'\n", encoding="utf-8")
    program.chmod(0o700)
    return program


def from_credential_process_behind_assume_role_arn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key_id: str
) -> None:
    program = credential_process(tmp_path, key_id)
    write_profiles(tmp_path, monkeypatch, f"[default]\ncredential_process = {program}\n", "")
    monkeypatch.setenv("ASSUME_ROLE_ARN", ROLE_ARN)


def from_credential_process_behind_a_profile_role(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key_id: str
) -> None:
    program = credential_process(tmp_path, key_id)
    config = (
        f"[profile run]\nrole_arn = {ROLE_ARN}\nsource_profile = base\n"
        f"[profile base]\ncredential_process = {program}\n"
    )
    write_profiles(tmp_path, monkeypatch, config, "")
    monkeypatch.setenv("AWS_PROFILE", "run")


def from_credential_process_two_roles_deep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key_id: str
) -> None:
    program = credential_process(tmp_path, key_id)
    config = (
        f"[profile run]\nrole_arn = {ROLE_ARN}\nsource_profile = middle\n"
        f"[profile middle]\nrole_arn = {ROLE_ARN}\nsource_profile = base\n"
        f"[profile base]\ncredential_process = {program}\n"
    )
    write_profiles(tmp_path, monkeypatch, config, "")
    monkeypatch.setenv("AWS_PROFILE", "run")
    monkeypatch.setenv("ASSUME_ROLE_ARN", ROLE_ARN)  # and one more role on top


def from_boto_config_behind_assume_role_arn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key_id: str
) -> None:
    boto = tmp_path / "boto.cfg"
    boto.write_text(
        f"[Credentials]\naws_access_key_id = {key_id}\naws_secret_access_key = x\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("BOTO_CONFIG", str(boto))
    monkeypatch.setenv("ASSUME_ROLE_ARN", ROLE_ARN)


def from_aws_credential_file_behind_assume_role_arn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key_id: str
) -> None:
    legacy = tmp_path / "aws-credential-file"
    legacy.write_text(f"AWSAccessKeyId={key_id}\nAWSSecretKey=x\n", encoding="utf-8")
    monkeypatch.setenv("AWS_CREDENTIAL_FILE", str(legacy))
    monkeypatch.setenv("ASSUME_ROLE_ARN", ROLE_ARN)


@pytest.mark.parametrize(
    "setup",
    [
        from_credential_process_behind_assume_role_arn,
        from_credential_process_behind_a_profile_role,
        from_credential_process_two_roles_deep,
        from_boto_config_behind_assume_role_arn,
        from_aws_credential_file_behind_assume_role_arn,
    ],
    ids=lambda setup: setup.__name__.removeprefix("from_"),
)
def test_the_key_behind_a_role_is_kept_wherever_botocore_found_it(
    keys: dict[str, str],
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    setup: Any,
) -> None:
    """The key is read from the credentials the run holds, not from the
    files: a ``credential_process``, ``BOTO_CONFIG`` or ``AWS_CREDENTIAL_FILE``
    key behind a role is kept as surely as one in the environment."""
    source = seed_key("automation", age_days=400, used_days_ago=200)
    no_environment_key(monkeypatch)
    setup(tmp_path, monkeypatch, source)
    report = tmp_path / "report.jsonl"

    done = run_cli("--apply", env={"REPORT_PATH": str(report)})

    assert done.code == 7
    assert key_status("automation", source) == "Active"
    line = report_by_key(report)[source]
    assert line["action"] == "kept, in use by this run"
    assert line["kept_because"] == "a long-term key behind this run's credentials"
    assert key_status("old-user", keys["old"]) == "Inactive"
    (depends,) = [entry for entry in done.lines if entry["message"] == "keys this run depends on"]
    assert source[-4:] in depends["key_id_suffixes"]


def test_a_credential_process_key_that_signs_the_run_is_kept(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = seed_key("automation", age_days=400, used_days_ago=200)
    no_environment_key(monkeypatch)
    program = credential_process(tmp_path, own)
    write_profiles(tmp_path, monkeypatch, f"[default]\ncredential_process = {program}\n", "")
    report = tmp_path / "report.jsonl"

    done = run_cli("--apply", env={"REPORT_PATH": str(report)})

    assert done.code == 7
    assert key_status("automation", own) == "Active"
    assert report_by_key(report)[own]["kept_because"] == "signs this run"


def test_the_profile_file_keys_the_run_does_not_use_are_not_kept(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key written in the files but not used (the environment's key wins
    over the default profile's) is no key this run depends on."""
    unused = seed_key("automation", age_days=400, used_days_ago=200)
    write_profiles(
        tmp_path,
        monkeypatch,
        "",
        f"[default]\naws_access_key_id = {unused}\naws_secret_access_key = x\n",
    )
    monkeypatch.setenv("ASSUME_ROLE_ARN", ROLE_ARN)  # assumed with the environment's key

    done = run_cli("--apply")

    assert done.code == 0
    assert key_status("automation", unused) == "Inactive"


def test_the_chain_reaches_through_an_mfa_role_to_its_source() -> None:
    """A profile role with ``mfa_serial``: botocore wraps the fetcher's
    refresh; the source credentials are still found (no call is made)."""
    from botocore.credentials import (
        AssumeRoleCredentialFetcher,
        Credentials,
        DeferredRefreshableCredentials,
        create_mfa_serial_refresher,
    )

    source = Credentials("AKIASOURCEKEY0000001", "not-checked")
    fetcher = AssumeRoleCredentialFetcher(
        client_creator=boto3.client, source_credentials=source, role_arn=ROLE_ARN
    )
    role = DeferredRefreshableCredentials(
        refresh_using=create_mfa_serial_refresher(fetcher.fetch_credentials),
        method="assume-role",
    )
    assert own_keys.credential_chain(role) == [role, source]


def test_a_role_whose_source_cannot_be_found_is_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from botocore.credentials import DeferredRefreshableCredentials

    role = DeferredRefreshableCredentials(refresh_using=dict, method="assume-role")
    with caplog.at_level(logging.WARNING):
        assert own_keys.credential_chain(role) == [role]
    (record,) = caplog.records
    assert "not protected" in record.getMessage()


def test_session_credentials_of_a_user_behind_a_role_keep_every_key_of_that_user(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ASSUME_ROLE_ARN assumed with an IAM user's session credentials: STS,
    asked with those credentials, names the user; its keys are kept."""
    from moto.sts.models import STSBackend

    first = seed_key("operator", age_days=400, used_days_ago=1)
    second = seed_key("operator", age_days=200, used_days_ago=100)
    session_key = "ASIA" + "Y" * 16
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", session_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token")
    monkeypatch.setenv("ASSUME_ROLE_ARN", ROLE_ARN)
    answer = vars(STSBackend)["get_caller_identity"]
    user_arn = f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/operator"

    def caller(self: Any, access_key_id: str, region: str) -> tuple[str, str, str]:
        if access_key_id == session_key:  # as STS answers for a user's session
            return "AIDAEXAMPLE", user_arn, ACCOUNT_ID
        return answer(self, access_key_id, region)  # type: ignore[no-any-return]

    monkeypatch.setattr(STSBackend, "get_caller_identity", caller)
    report = tmp_path / "report.jsonl"

    done = run_cli("--apply", env={"REPORT_PATH": str(report)})

    assert done.code == 7
    lines = report_by_key(report)
    for key_id in (first, second):
        assert key_status("operator", key_id) == "Active"
        assert "session credentials" in lines[key_id]["kept_because"]
    assert key_status("old-user", keys["old"]) == "Inactive"


def test_session_credentials_of_a_user_keep_every_key_of_that_user(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GetSessionToken credentials: STS names the user, not the key that made them."""
    first = seed_key("operator", age_days=400, used_days_ago=1)
    second = seed_key("operator", age_days=200, used_days_ago=100)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIA" + "Z" * 16)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-checked-by-moto")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token")
    user_arn = f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/team/operator"

    def call(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "GetCallerIdentity":  # as STS answers for a user's session
            return {"UserId": "AIDAEXAMPLE", "Account": ACCOUNT_ID, "Arn": user_arn}
        return send(operation_name, api_params)

    intercept(monkeypatch, call)
    report = tmp_path / "report.jsonl"
    done = run_cli("--apply", env={"REPORT_PATH": str(report)})

    assert done.code == 7
    lines = report_by_key(report)
    for key_id in (first, second):
        assert key_status("operator", key_id) == "Active"
        assert lines[key_id]["action"] == "kept, in use by this run"
        assert "session credentials" in lines[key_id]["kept_because"]
    assert done.summary["kept_in_use"] == 2
    assert key_status("old-user", keys["old"]) == "Inactive"


@pytest.mark.parametrize("assume_role", [False, True], ids=["hub-key", "hub-role"])
def test_a_fan_out_keeps_the_hub_key_in_the_account_that_holds_it(
    organization: Organization,
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    assume_role: bool,
) -> None:
    hub_key = seed_key("hub-runner", age_days=400, used_days_ago=200)  # in the management account
    sign_with(monkeypatch, hub_key)
    for account in organization.active:
        seed_key(f"user-{account}", age_days=200, account=account)
    env = {
        "TARGET_ACCOUNTS": "organization",
        "TARGET_ROLE_NAME": "automation",
        "ALLOWED_ACCOUNT_IDS": ",".join(organization.active),
        "REPORT_PATH": str(tmp_path / "{account}.jsonl"),
    }
    if assume_role:
        env["ASSUME_ROLE_ARN"] = f"arn:{PARTITION}:iam::{organization.management}:role/runner"

    done = run_cli("--apply", env=env)

    assert done.code == 7  # the management account keeps a finding
    finished = {
        line["account"]: line for line in done.lines if line["message"] == "target finished"
    }
    assert finished[organization.management]["exit_code"] == 7
    assert {finished[member]["exit_code"] for member in organization.members} == {0}
    assert key_status("hub-runner", hub_key) == "Active"
    lines = report_by_key(tmp_path / f"{organization.management}.jsonl")
    assert lines[hub_key]["action"] == "kept, in use by this run"
    assert lines[hub_key]["kept_because"] == "a long-term key behind this run's credentials"
    for account in organization.members:
        (line,) = report_lines(tmp_path / f"{account}.jsonl")
        assert line["action"] == "deactivated"


# --- The exemption tag, matched as IAM matches tag keys ---------------------


def audit_one_user(run_cli: RunCli, tags: dict[str, str]) -> tuple[Any, str]:
    """Apply to one stale key of a user with ``tags``; return the run and the key."""
    key_id = seed_key("tagged-user", age_days=400, tags=tags)
    return run_cli("--apply"), key_id


@pytest.mark.parametrize("tag", ["Access-Key-Audit:Exempt", "ACCESS-KEY-AUDIT:EXEMPT"])
def test_the_exempt_tag_key_matches_in_any_case_as_iam_does(
    aws: None, run_cli: RunCli, tag: str
) -> None:
    done, key_id = audit_one_user(run_cli, {tag: "yes"})
    assert done.code == 0
    assert key_status("tagged-user", key_id) == "Active"
    assert done.summary["exempt_users"] == 1
    (line,) = [line for line in done.lines if line["message"] == "user exempt"]
    assert (line["level"], line["user"], line["tag"]) == ("INFO", "tagged-user", tag)


NEAR_MISS = "user exempt by a tag that only nearly matches EXEMPT_TAG_KEY"


@pytest.mark.parametrize(
    "tag",
    [
        " access-key-audit:exempt ",  # surrounding spaces
        "access-key-audit:exempt\u00a0",  # a no-break space
        "access-key-audit: exempt",  # a space inside
        "Access_Key_Audit/Exempt",  # other punctuation
        "accesskeyauditexempt",  # none
        "\uff41ccess-key-audit:exempt",  # a full-width letter
        # look-alike letters from other scripts
        "\u0430ccess-key-audit:exempt",  # Cyrillic a
        "access-key-audit:\u0435xempt",  # Cyrillic e
        "acce\u0455\u0455-key-audit:exempt",  # Cyrillic dze, twice
        "access-key-aud\u0131t:exempt",  # dotless i
        "access-\u03baey-audit:exempt",  # Greek kappa
        "\u0430\u0441\u0441\u0435\u0455\u0455-key-audit:\u0435\u0445\u0435mpt",  # many at once
        # another script with as many letters: the rule errs towards keeping
        "\u043a\u043b\u044e\u0447-\u0430\u0443\u0434\u0438\u0442\u0430:"
        "\u0438\u0441\u043a\u043b\u044e\u0447\u0435\u043d\u0438\u0435",
    ],
)
def test_a_tag_that_nearly_matches_keeps_the_key_and_warns(
    aws: None, run_cli: RunCli, tag: str
) -> None:
    done, key_id = audit_one_user(run_cli, {tag: "yes"})
    assert done.code == 0
    assert key_status("tagged-user", key_id) == "Active"
    assert done.summary["exempt_users"] == 1
    (line,) = [line for line in done.lines if line["message"] == NEAR_MISS]
    assert (line["level"], line["user"], line["tag"]) == ("WARNING", "tagged-user", tag)
    assert line["exempt_tag_key"] == "access-key-audit:exempt"


@pytest.mark.parametrize(
    "tag",
    [
        "access-key-audit",
        "access-key-audit:exemption",
        "exempt",
        "\u043e\u0442\u0434\u0435\u043b",  # an unrelated tag in another script
        "access-key-audit:\u0435\u0445\u0435mps",  # look-alikes, and another ASCII letter
        "access-key-audit:\u0435xempt2",  # look-alike, one letter more
    ],
)
def test_a_different_tag_exempts_no_one(aws: None, run_cli: RunCli, tag: str) -> None:
    done, key_id = audit_one_user(run_cli, {tag: "yes"})
    assert done.code == 0
    assert key_status("tagged-user", key_id) == "Inactive"
    assert done.summary["exempt_users"] == 0
    assert NEAR_MISS not in done.messages()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "user exempt"),
        ("yes", "user exempt"),
        ("False", "user exempt: the tag's value reads as false, but any value exempts"),
        (" no ", "user exempt: the tag's value reads as false, but any value exempts"),
    ],
)
def test_any_tag_value_exempts_and_a_value_that_reads_as_no_is_warned_about(
    aws: None, run_cli: RunCli, value: str, message: str
) -> None:
    done, key_id = audit_one_user(run_cli, {"access-key-audit:exempt": value})
    assert key_status("tagged-user", key_id) == "Active"
    (line,) = [line for line in done.lines if line["message"].startswith("user exempt")]
    assert line["message"] == message
    assert line["level"] == ("INFO" if message == "user exempt" else "WARNING")


def test_a_configured_exempt_tag_key_matches_in_any_case(aws: None, run_cli: RunCli) -> None:
    key_id = seed_key("tagged-user", age_days=400, tags={"break-glass": ""})
    done = run_cli("--apply", env={"EXEMPT_TAG_KEY": "Break-Glass"})
    assert (done.code, key_status("tagged-user", key_id)) == (0, "Active")


def test_a_configured_exempt_tag_key_with_a_look_alike_letter_nearly_matches_plain_ascii(
    aws: None, run_cli: RunCli
) -> None:
    key_id = seed_key("tagged-user", age_days=400, tags={"break-glass": ""})
    done = run_cli("--apply", env={"EXEMPT_TAG_KEY": "br\u0435ak-glass"})  # a Cyrillic e
    assert (done.code, key_status("tagged-user", key_id)) == (0, "Active")
    (line,) = [line for line in done.lines if line["message"] == NEAR_MISS]
    assert line["tag"] == "break-glass"


# --- ages are never negative -------------------------------------------------


def test_unused_days_is_never_negative(
    aws: None, run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key used after the run took its "now" (its own key, say) is 0 days unused."""
    key_id = seed_key("busy-user", age_days=400, used_days_ago=-0.5)
    report = tmp_path / "report.jsonl"
    done = run_cli(env={"REPORT_PATH": str(report)})
    assert done.code == 7
    line = report_by_key(report)[key_id]
    assert (line["unused_days"], line["reasons"]) == (0, ["age"])
    assert findings_logged(done)[key_id[-4:]]["unused_days"] == 0


# --- The undo record survives a report that cannot be rewritten --------------


@pytest.fixture
def no_retry_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reporting, "REPORT_RETRY_SECONDS", 0)


def undo_records(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def check_undo_record(done: Any, changed: dict[str, str]) -> None:
    """stderr says changes were made and the report is stale, then gives one
    JSON line per key changed; the log has an ``undo record`` line for each."""
    header = done.stderr.splitlines()[0]
    assert "REPORT_PATH" in header
    assert "changes were made" in header
    assert "stale" in header
    records = undo_records(done.stderr)
    assert {record["access_key_id"]: record["user"] for record in records} == changed
    for record in records:
        assert (record["previous_status"], record["action"]) == ("Active", "deactivated")
        assert (record["undo_record"], record["account"]) == (True, ACCOUNT_ID)
        assert record["checked_at"].endswith("+00:00")
    logged = [line for line in done.lines if line["message"] == "undo record"]
    assert {(line["user"], line["key_id_suffix"]) for line in logged} == {
        (user, key_id[-4:]) for key_id, user in changed.items()
    }


def put_object_failing_after(
    monkeypatch: pytest.MonkeyPatch, good: int, failures: int = 99
) -> list[str]:
    """PutObject works ``good`` times, then is denied ``failures`` times, then works."""
    calls: list[str] = []

    def call(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "PutObject":
            calls.append(api_params["Key"])
            if good < len(calls) <= good + failures:
                raise client_error(operation_name, "AccessDenied", 403, "denied (injected)")
        return send(operation_name, api_params)

    intercept(monkeypatch, call)
    return calls


def test_an_s3_report_that_fails_only_at_the_end_leaves_the_undo_record_exit_8(
    keys: dict[str, str], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, no_retry_pause: None
) -> None:
    make_bucket(boto3.client("s3", region_name=REGION), "audit-reports")
    puts = put_object_failing_after(monkeypatch, good=1)

    done = run_cli("--apply", env={"REPORT_PATH": "s3://audit-reports/keys.jsonl"})

    assert done.code == 8
    assert len(puts) == 1 + reporting.REPORT_ATTEMPTS  # the first report, then every retry
    assert done.summary["deactivated"] == len(STALE)
    check_undo_record(done, {keys[name]: user_of(name)[0] for name in STALE})
    (problem,) = [line for line in done.lines if line["message"].startswith("output_failed")]
    assert "changes were made" in problem["message"]


def test_a_final_write_that_works_on_a_retry_is_enough(
    keys: dict[str, str], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as docs/job.md says
    assert (reporting.REPORT_ATTEMPTS, reporting.REPORT_RETRY_SECONDS) == (3, 0.5)
    monkeypatch.setattr(reporting, "REPORT_RETRY_SECONDS", 0)
    s3 = boto3.client("s3", region_name=REGION)
    make_bucket(s3, "audit-reports")
    puts = put_object_failing_after(monkeypatch, good=1, failures=reporting.REPORT_ATTEMPTS - 1)

    done = run_cli("--apply", env={"REPORT_PATH": "s3://audit-reports/keys.jsonl"})

    assert (done.code, len(puts)) == (0, 1 + reporting.REPORT_ATTEMPTS)
    body = s3.get_object(Bucket="audit-reports", Key="keys.jsonl")["Body"].read().decode()
    assert {json.loads(line)["action"] for line in body.splitlines()} == {"deactivated"}
    assert undo_records(done.stderr) == []


def test_a_local_report_that_fails_only_at_the_end_leaves_the_undo_record_exit_8(
    keys: dict[str, str],
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_retry_pause: None,
) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    report = folder / "keys.jsonl"

    def call(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "UpdateAccessKey" and report.exists():  # after the first report
            report.unlink()
            folder.rmdir()  # the final write has nowhere to go
        return send(operation_name, api_params)

    intercept(monkeypatch, call)
    done = run_cli("--apply", env={"REPORT_PATH": str(report)})

    assert done.code == 8
    check_undo_record(done, {keys[name]: user_of(name)[0] for name in STALE})
    writes = [line for line in done.lines if line["message"] == "report not written"]
    assert [line["attempt"] for line in writes] == list(range(1, reporting.REPORT_ATTEMPTS + 1))


def test_a_report_denied_before_the_first_change_changes_nothing_exit_8(
    keys: dict[str, str], run_cli: RunCli, api_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_bucket(boto3.client("s3", region_name=REGION), "audit-reports")
    puts = put_object_failing_after(monkeypatch, good=0)

    done = run_cli("--apply", env={"REPORT_PATH": "s3://audit-reports/keys.jsonl"})

    assert (done.code, len(puts)) == (8, 1)  # nothing changed: nothing to retry for
    assert "UpdateAccessKey" not in api_calls
    for name in STALE:
        assert key_status(*user_of(name), keys[name]) == "Active"
    (problem,) = [line for line in done.lines if line["message"].startswith("output_failed")]
    assert "AccessDenied" in problem["message"]
    assert "no change was made" in problem["message"]
    assert undo_records(done.stderr) == []


def test_a_stop_after_some_changes_still_leaves_the_undo_record(
    keys: dict[str, str], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, no_retry_pause: None
) -> None:
    make_bucket(boto3.client("s3", region_name=REGION), "audit-reports")
    puts = put_object_failing_after(monkeypatch, good=1)
    changed: dict[str, str] = {}

    def call(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        answer = send(operation_name, api_params)
        if operation_name == "UpdateAccessKey":
            changed[api_params["AccessKeyId"]] = api_params["UserName"]
            os.kill(os.getpid(), signal.SIGINT)  # the handler only asks the run to stop
        return answer

    intercept(monkeypatch, call)
    done = run_cli("--apply", env={"REPORT_PATH": "s3://audit-reports/keys.jsonl"})

    assert done.code == 130  # a stop outranks 8, and the record still reached stderr
    assert len(changed) == 1
    assert len(puts) == 1 + reporting.REPORT_ATTEMPTS
    check_undo_record(done, changed)


@pytest.mark.parametrize(("changed_first", "code"), [(True, 8), (False, 2)])
def test_expired_credentials_mid_apply_and_a_lost_report(
    keys: dict[str, str],
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    no_retry_pause: None,
    *,
    changed_first: bool,
    code: int,
) -> None:
    """Changes made and no report: exit 8 with the undo record. Nothing
    changed: the credentials' own exit 2 (the report still says planned)."""
    make_bucket(boto3.client("s3", region_name=REGION), "audit-reports")
    put_object_failing_after(monkeypatch, good=1)
    updates: list[str] = []

    def call(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "UpdateAccessKey":
            updates.append(api_params["AccessKeyId"])
            if len(updates) > int(changed_first):
                raise client_error(operation_name, "ExpiredToken", 403, "expired (injected)")
        return send(operation_name, api_params)

    intercept(monkeypatch, call)
    done = run_cli("--apply", env={"REPORT_PATH": "s3://audit-reports/keys.jsonl"})

    assert done.code == code
    assert len(updates) == 1 + int(changed_first)
    assert len(undo_records(done.stderr)) == int(changed_first)


# --- a change whose answer was lost is checked, or recorded as unknown --------

IAM_URL = "https://iam.amazonaws.com/"
# Errors after which UpdateAccessKey may have been applied: the request went out.
AMBIGUOUS = [
    pytest.param(lambda: ConnectionClosedError(endpoint_url=IAM_URL), id="connection-closed"),
    pytest.param(lambda: ReadTimeoutError(endpoint_url=IAM_URL), id="read-timeout"),
    pytest.param(lambda: client_error("UpdateAccessKey", "ServiceFailure", 500), id="server-error"),
]


def applied_then(
    monkeypatch: pytest.MonkeyPatch, error: Any, *, check_fails: bool = False
) -> list[str]:
    """The first UpdateAccessKey is applied, then its answer is lost to
    ``error``; with ``check_fails``, every ListAccessKeys after it fails
    too (the network went away)."""
    updates: list[str] = []

    def call(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "ListAccessKeys" and updates and check_fails:
            raise ConnectionClosedError(endpoint_url=IAM_URL)
        if operation_name == "UpdateAccessKey":
            updates.append(api_params["AccessKeyId"])
            answer = send(operation_name, api_params)
            if len(updates) == 1:
                raise error()
            return answer
        return send(operation_name, api_params)

    intercept(monkeypatch, call)
    return updates


@pytest.mark.parametrize("error", AMBIGUOUS)
def test_a_change_applied_before_its_answer_was_lost_is_checked_and_counted(
    keys: dict[str, str],
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    no_retry_pause: None,
    error: Any,
) -> None:
    """ListAccessKeys says the key is Inactive now: it was deactivated, and
    the undo record has it when the last report write fails (exit 8)."""
    make_bucket(boto3.client("s3", region_name=REGION), "audit-reports")
    put_object_failing_after(monkeypatch, good=1)
    updates = applied_then(monkeypatch, error)

    done = run_cli(
        "--apply", env={"REPORT_PATH": "s3://audit-reports/keys.jsonl", "AWS_MAX_ATTEMPTS": "1"}
    )

    assert done.code == 8
    assert len(updates) == len(STALE)  # the check found the network working: the run went on
    assert (done.summary["deactivated"], done.summary["failed"]) == (len(STALE), 0)
    check_undo_record(done, {keys[name]: user_of(name)[0] for name in STALE})


@pytest.mark.parametrize("error", AMBIGUOUS[:2])
def test_a_change_whose_outcome_cannot_be_checked_is_recorded_as_unknown(
    keys: dict[str, str],
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: Any,
) -> None:
    updates = applied_then(monkeypatch, error, check_fails=True)
    report = tmp_path / "report.jsonl"

    done = run_cli("--apply", env={"REPORT_PATH": str(report), "AWS_MAX_ATTEMPTS": "1"})

    assert done.code == 3  # the network failed: the run ends at once
    assert len(updates) == 1
    lines = report_by_key(report)
    assert lines[updates[0]]["action"] == "unknown"
    assert lines[updates[0]]["previous_status"] == "Active"
    assert sorted(line["action"] for line in lines.values()) == [
        "not reached",
        "not reached",
        "unknown",
    ]
    assert (done.summary["unknown"], done.summary["deactivated"]) == (1, 0)
    (logged,) = [line for line in done.lines if line["message"] == "unknown"]
    assert (logged["level"], logged["key_id_suffix"]) == ("WARNING", updates[0][-4:])


def test_an_unknown_outcome_and_a_lost_report_leave_the_undo_record_exit_8(
    keys: dict[str, str], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, no_retry_pause: None
) -> None:
    make_bucket(boto3.client("s3", region_name=REGION), "audit-reports")
    put_object_failing_after(monkeypatch, good=1)
    updates = applied_then(
        monkeypatch, lambda: ConnectionClosedError(endpoint_url=IAM_URL), check_fails=True
    )

    done = run_cli(
        "--apply", env={"REPORT_PATH": "s3://audit-reports/keys.jsonl", "AWS_MAX_ATTEMPTS": "1"}
    )

    assert done.code == 8  # not 3: changes may have been made and the report is stale
    header = done.stderr.splitlines()[0]
    assert "changes may have been made" in header
    assert "stale" in header
    (record,) = undo_records(done.stderr)
    assert (record["access_key_id"], record["action"]) == (updates[0], "unknown")
    assert record["previous_status"] == "Active"
    (problem,) = [line for line in done.lines if line["message"].startswith("output_failed")]
    assert "changes may have been made" in problem["message"]
    (logged,) = [line for line in done.lines if line["message"] == "undo record"]
    assert (logged["key_id_suffix"], logged["action"]) == (updates[0][-4:], "unknown")


def test_an_unexpected_error_during_a_change_leaves_that_key_unknown(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure that is no AWS error (a bug, an answer that cannot be
    read) may come after the change was made: the key is not "not reached"."""
    updates: list[str] = []

    def call(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "UpdateAccessKey":
            updates.append(api_params["AccessKeyId"])
            send(operation_name, api_params)
            raise RuntimeError("the answer could not be read (injected)")
        return send(operation_name, api_params)

    intercept(monkeypatch, call)
    report = tmp_path / "report.jsonl"
    done = run_cli("--apply", env={"REPORT_PATH": str(report)})

    assert done.code == 99
    assert report_by_key(report)[updates[0]]["action"] == "unknown"


# --- REPORT_PATH is a regular file or absent ----------------------------------


def make_character_device(path: Path) -> Path:
    """A character device to name as REPORT_PATH: a copy of /dev/null made
    here when running as root (replacing /dev/null itself would break the
    system), else /dev/null, which no one else may replace anyway."""
    if os.geteuid() != 0:
        return Path(os.devnull)
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("root here may not make device files (no CAP_MKNOD)")
    return path


def make_socket(path: Path) -> Path:
    # A socket's path must be short (about 100 bytes): tmp_path may be longer.
    short = Path(tempfile.mkdtemp(prefix="ka-")) / "s"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(short))
    server.close()
    return short


def make_fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def make_link(path: Path) -> Path:
    (path.parent / "elsewhere.jsonl").write_text("not the report\n", encoding="utf-8")
    path.symlink_to(path.parent / "elsewhere.jsonl")
    return path


def make_dangling_link(path: Path) -> Path:
    path.symlink_to(path.parent / "nowhere.jsonl")
    return path


def make_directory(path: Path) -> Path:
    path.mkdir()
    return path


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (make_character_device, "a character device"),
        (make_fifo, "a FIFO (named pipe)"),
        (make_socket, "a socket"),
        (make_link, "a symbolic link"),
        (make_dangling_link, "a symbolic link"),
        (make_directory, "a directory"),
    ],
)
@pytest.mark.parametrize("argv", [("--apply",), ()])
def test_a_report_path_that_is_not_a_regular_file_is_refused_before_any_call(
    keys: dict[str, str],
    run_cli: RunCli,
    api_calls: list[str],
    tmp_path: Path,
    *,
    make: Any,
    kind: str,
    argv: tuple[str, ...],
) -> None:
    path = make(tmp_path / "report.jsonl")
    before = os.lstat(path)

    done = run_cli(*argv, env={"REPORT_PATH": str(path)})

    assert done.code == 1
    assert api_calls == []
    (problem,) = [line for line in done.stderr.splitlines() if "REPORT_PATH" in line]
    assert kind in problem or (kind == "a directory" and "is a directory" in problem)
    after = os.lstat(path)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)  # left alone
    if make is make_link:
        assert (tmp_path / "elsewhere.jsonl").read_text(encoding="utf-8") == "not the report\n"


def test_a_report_path_with_account_is_checked_for_the_real_account(
    keys: dict[str, str], run_cli: RunCli, api_calls: list[str], tmp_path: Path
) -> None:
    os.mkfifo(tmp_path / f"{ACCOUNT_ID}.jsonl")
    done = run_cli("--apply", env={"REPORT_PATH": str(tmp_path / "{account}.jsonl")})
    assert done.code == 1
    assert "a FIFO" in done.stderr
    assert not {"ListUsers", "UpdateAccessKey"} & set(api_calls)


@pytest.mark.parametrize("argv", [("--apply",), ()])
def test_a_link_put_in_place_of_the_report_during_the_run_is_never_followed(
    keys: dict[str, str],
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: tuple[str, ...],
) -> None:
    report = tmp_path / "report.jsonl"
    victim = tmp_path / "victim"
    victim.write_text("precious\n", encoding="utf-8")
    fail_after_the_audit(monkeypatch, lambda: report.symlink_to(victim))

    done = run_cli(*argv, env={"REPORT_PATH": str(report)})

    assert done.code == 8
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert report.is_symlink()
    for name in STALE:  # the first report could not be written: nothing changed
        assert key_status(*user_of(name), keys[name]) == "Active"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["report.jsonl", "victim"]


def test_a_replaced_report_keeps_its_permission_bits_and_a_new_one_is_private(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    report = tmp_path / "report.jsonl"
    assert run_cli(env={"REPORT_PATH": str(report)}).code == 7
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    report.chmod(0o644)
    assert run_cli(env={"REPORT_PATH": str(report)}).code == 7
    assert stat.S_IMODE(report.stat().st_mode) == 0o644
    assert len(report_lines(report)) == len(STALE)


@pytest.mark.parametrize(
    "name",
    [
        "\U0001f600" * 63,  # 252 bytes in 63 characters
        "\u4e00" * 85,  # 255 bytes: the longest name there is
        "\u00e9" * 126 + ".js",  # 129 characters, 255 bytes
    ],
    ids=["emoji-252-bytes", "cjk-255-bytes", "latin-255-bytes"],
)
def test_a_report_name_of_many_bytes_that_fits_is_written(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path, name: str
) -> None:
    report = tmp_path / name
    done = run_cli("--apply", env={"REPORT_PATH": str(report)})
    assert done.code == 0
    assert {line["action"] for line in report_lines(report)} == {"deactivated"}
    assert [path.name for path in tmp_path.iterdir()] == [name]  # no temporary left


@pytest.mark.parametrize(
    "name",
    ["\U0001f600" * 64, "\u4e00" * 86, "\u00e9" * 128],
    ids=["emoji-256-bytes", "cjk-258-bytes", "latin-256-bytes"],
)
def test_a_report_name_of_too_many_bytes_is_refused_before_any_call(
    keys: dict[str, str], run_cli: RunCli, api_calls: list[str], tmp_path: Path, name: str
) -> None:
    done = run_cli("--apply", env={"REPORT_PATH": str(tmp_path / name)})
    assert done.code == 1
    assert api_calls == []
    assert "REPORT_PATH" in done.stderr
    assert "255 bytes" in done.stderr


def test_a_report_name_is_checked_against_its_own_file_systems_limit(
    keys: dict[str, str],
    run_cli: RunCli,
    api_calls: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A file system that takes shorter names (eCryptfs: 143 bytes) is asked."""
    pathconf = os.pathconf

    def small(path: Any, name: str) -> int:
        return 143 if name == "PC_NAME_MAX" else pathconf(path, name)

    monkeypatch.setattr(os, "pathconf", small)
    done = run_cli("--apply", env={"REPORT_PATH": str(tmp_path / ("r" * 144))})
    assert done.code == 1
    assert api_calls == []
    assert "143 bytes" in done.stderr


def test_a_replaced_report_does_not_carry_set_id_or_sticky_bits(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    """A report is not a program: set-user-ID, set-group-ID and sticky go."""
    report = tmp_path / "report.jsonl"
    report.write_text("an older report\n", encoding="utf-8")
    report.chmod(0o7750)
    assert run_cli(env={"REPORT_PATH": str(report)}).code == 7
    assert stat.S_IMODE(report.stat().st_mode) == 0o750


OTHER_USER = 1000  # any other user and group: only root may give a file away


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may give a file to another user")
def test_a_replaced_report_keeps_its_owner_and_group(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path
) -> None:
    report = tmp_path / "report.jsonl"
    report.write_text("an older report\n", encoding="utf-8")
    os.chown(report, OTHER_USER, OTHER_USER + 1)
    report.chmod(0o640)

    done = run_cli(env={"REPORT_PATH": str(report)})

    assert done.code == 7
    after = report.stat()
    assert (after.st_uid, after.st_gid) == (OTHER_USER, OTHER_USER + 1)
    assert stat.S_IMODE(after.st_mode) == 0o640
    assert len(report_lines(report)) == len(STALE)
    assert "report owner not kept" not in done.messages()


@pytest.mark.parametrize("group_kept", [False, True])
def test_a_report_whose_owner_cannot_be_kept_is_replaced_with_a_warning(
    keys: dict[str, str],
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    group_kept: bool,
) -> None:
    report = tmp_path / "report.jsonl"
    report.write_text("an older report\n", encoding="utf-8")
    report.chmod(0o640)
    tries: list[tuple[int, int]] = []

    def refuse(handle: int, uid: int, gid: int) -> None:
        tries.append((uid, gid))
        if not (group_kept and uid == -1):
            raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "fchown", refuse)
    done = run_cli(env={"REPORT_PATH": str(report)})

    assert done.code == 7
    assert len(report_lines(report)) == len(STALE)  # replaced all the same
    assert stat.S_IMODE(report.stat().st_mode) == 0o640
    before = report.stat()
    assert tries == [(before.st_uid, before.st_gid), (-1, before.st_gid)]
    (line,) = [line for line in done.lines if line["message"] == "report owner not kept"]
    assert line["level"] == "WARNING"
    assert (line["owner"], line["group"], line["group_kept"]) == (
        before.st_uid,
        before.st_gid,
        group_kept,
    )


def test_the_temporary_name_stays_short_whatever_the_report_name() -> None:
    for name in ("r.jsonl", "\U0001f600" * 63, "\u4e00" * 85, "x" * 255):
        temporary = job.temporary_name(name)
        assert len(os.fsencode(temporary)) <= 118
        assert temporary.startswith(".")
        assert temporary.endswith(".tmp")
        assert name.startswith(temporary[1:].rsplit(".", 2)[0])  # whole characters


# --- dry-run changes nothing in the account; a report job still writes its report


READS = {"GetCallerIdentity", "ListUsers", "ListUserTags", "ListAccessKeys", "GetAccessKeyLastUsed"}


def test_a_dry_run_sends_no_write_call_but_the_report_put_object(
    keys: dict[str, str], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_bucket(boto3.client("s3", region_name=REGION), "audit-reports")
    calls: list[tuple[str, dict[str, Any]]] = []

    def call(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        calls.append((operation_name, api_params))
        return send(operation_name, api_params)

    intercept(monkeypatch, call)
    done = run_cli(env={"REPORT_PATH": "s3://audit-reports/keys.jsonl"})

    assert done.code == 7
    writes = [(name, params) for name, params in calls if name not in READS]
    assert [(name, params["Bucket"], params["Key"]) for name, params in writes] == [
        ("PutObject", "audit-reports", "keys.jsonl")
    ]
    text = " ".join(JOB_PAGE.read_text(encoding="utf-8").split())
    assert (
        "A dry-run changes nothing in the account; it still writes its report "
        "(one PutObject for an s3:// REPORT_PATH)." in text.replace("`", "")
    )


# --- every listing honours a stop; errors about the account end the run ------


def test_a_stop_is_honoured_between_pages_of_users(
    keys: dict[str, str], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def call(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        calls.append(operation_name)
        if operation_name == "ListUsers":  # one user a page, as a long listing comes
            users = send(operation_name, {})["Users"]
            start = int(api_params.get("Marker", "0"))
            more = start + 1 < len(users)
            page = {"Users": users[start : start + 1], "IsTruncated": more}
            return {**page, "Marker": str(start + 1)} if more else page
        if operation_name == "ListAccessKeys":
            os.kill(os.getpid(), signal.SIGINT)  # while the first page's user is read
        return send(operation_name, api_params)

    intercept(monkeypatch, call)
    done = run_cli()

    assert done.code == 130
    assert calls.count("ListUsers") == 1  # the second page was never asked for


def test_a_stop_is_honoured_before_a_users_keys_are_listed(
    keys: dict[str, str], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def call(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        calls.append(operation_name)
        answer = send(operation_name, api_params)
        if operation_name == "ListUserTags":
            os.kill(os.getpid(), signal.SIGINT)
        return answer

    intercept(monkeypatch, call)
    done = run_cli("--apply")

    assert done.code == 130
    assert calls.count("ListUserTags") == 1
    assert "ListAccessKeys" not in calls


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (client_error("UpdateAccessKey", "ExpiredToken", 403, "expired (injected)"), 2),
        (client_error("UpdateAccessKey", "InvalidClientTokenId", 403), 2),
        (EndpointConnectionError(endpoint_url="https://iam.amazonaws.com/"), 3),
    ],
    ids=["expired", "invalid", "network"],
)
def test_an_error_about_the_account_ends_the_apply_after_one_call(
    keys: dict[str, str],
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    error: Exception,
    code: int,
) -> None:
    updates: list[str] = []

    def call(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "UpdateAccessKey":
            updates.append(api_params["AccessKeyId"])
            raise error
        return send(operation_name, api_params)

    intercept(monkeypatch, call)
    report = tmp_path / "report.jsonl"
    done = run_cli("--apply", env={"REPORT_PATH": str(report), "AWS_MAX_ATTEMPTS": "1"})

    assert done.code == code
    assert len(updates) == 1  # not one per key
    actions = report_by_key(report)
    assert actions[updates[0]]["action"] == "failed"
    assert sorted(line["action"] for line in actions.values()) == [
        "failed",
        "not reached",
        "not reached",
    ]
    for name in STALE:
        assert key_status(*user_of(name), keys[name]) == "Active"


def test_access_denied_again_and_again_ends_the_apply_with_4(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = seed_key("another-user", age_days=300)  # a fourth stale key
    updates: list[str] = []

    def call(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "UpdateAccessKey":
            updates.append(api_params["AccessKeyId"])
            raise client_error(operation_name, "AccessDenied", 403, "denied (injected)")
        return send(operation_name, api_params)

    intercept(monkeypatch, call)
    report = tmp_path / "report.jsonl"
    done = run_cli("--apply", env={"REPORT_PATH": str(report)})

    assert done.code == 4
    assert len(updates) == item_errors.DENIALS_IN_A_ROW == 3  # as docs/job.md says
    actions = sorted(line["action"] for line in report_lines(report))
    assert actions == ["failed"] * item_errors.DENIALS_IN_A_ROW + ["not reached"]
    assert key_status("another-user", extra) == "Active"


def test_a_denial_between_successes_is_one_keys_failure(
    keys: dict[str, str], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    denied = {keys["old"], keys["unused"]}

    def call(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "UpdateAccessKey" and api_params["AccessKeyId"] in denied:
            raise client_error(operation_name, "AccessDenied", 403, "denied by a tag condition")
        return send(operation_name, api_params)

    intercept(monkeypatch, call)
    done = run_cli("--apply")

    assert done.code == 5
    assert (done.summary["failed"], done.summary["deactivated"]) == (2, 1)

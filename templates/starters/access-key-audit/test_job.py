"""The access-key-audit job against moto: findings, dry-run, apply, report, exit codes."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path
from typing import Any

import boto3
import pytest

from {{ cookiecutter.package_name }} import (
    config,
    job,
    targets,
)
from {{ cookiecutter.package_name }}.aws import session_policy
from {{ cookiecutter.package_name }}.cli import build_parser

from .conftest import (
    ACCOUNT_ID,
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
    return config.load(build_parser().parse_args([]), env, job.JobSettings, job.SETTINGS)


def policy_for(env: dict[str, str]) -> dict[str, list[str]]:
    _, job_settings = load(env)
    scope = targets._scope(job_settings, "aws", ACCOUNT_ID, REGION)
    statements = json.loads(session_policy(job.IAM_ACTIONS, [scope]))["Statement"]
    return {statement["Resource"]: statement["Action"] for statement in statements}


def test_the_session_policy_grants_put_object_only_on_the_report_object() -> None:
    users = f"arn:aws:iam::{ACCOUNT_ID}:user/*"
    with_s3 = policy_for({"REPORT_PATH": "s3://audit-reports/keys/{account}.jsonl"})
    assert with_s3 == {
        users: sorted(action for action in job.IAM_ACTIONS if action.startswith("iam:")),
        f"arn:aws:s3:::audit-reports/keys/{ACCOUNT_ID}.jsonl": ["s3:PutObject"],
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

    assert done.code == 1  # a setting problem, not an unexpected error (99)
    assert "UpdateAccessKey" not in calls
    for name in STALE:
        assert key_status(*user_of(name), keys[name]) == "Active"
    (problem,) = [line for line in done.stderr.splitlines() if "REPORT_PATH" in line]
    assert "No such file or directory" in problem
    assert "nothing was changed" in problem
    assert done.summary["deactivated"] == 0


@pytest.mark.parametrize("argv", [("--apply",), ()])
def test_a_missing_report_bucket_is_found_before_any_change_and_fails_the_run(
    keys: dict[str, str], run_cli: RunCli, api_calls: list[str], argv: tuple[str, ...]
) -> None:
    done = run_cli(*argv, env={"REPORT_PATH": "s3://no-such-audit-bucket/keys.jsonl"})

    assert done.code == 1  # not 7 for a dry run, as if all went well
    assert "UpdateAccessKey" not in api_calls
    for name in STALE:
        assert key_status(*user_of(name), keys[name]) == "Active"
    assert "REPORT_PATH" in done.stderr
    assert "does not exist" in done.stderr


def test_the_report_lists_every_planned_change_before_the_first(
    keys: dict[str, str], run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a forced end (second signal, a call past its bound) leaves: it
    ends the process at once, so the report is the one written before the
    first change, and the log lines say which keys were changed."""
    report = tmp_path / "report.jsonl"
    seen: list[list[dict[str, Any]]] = []

    def call(operation_name: str, api_params: dict[str, Any], send: Send) -> Any:
        if operation_name == "UpdateAccessKey":
            seen.append(report_lines(report))  # as a forced end here would leave it
        return send(operation_name, api_params)

    intercept(monkeypatch, call)
    done = run_cli("--apply", env={"REPORT_PATH": str(report)})

    assert done.code == 0
    assert len(seen) == len(STALE)
    for before in seen:
        assert {line["access_key_id"] for line in before} == {keys[name] for name in STALE}
        assert {line["action"] for line in before} == {"planned"}
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


README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_moto_example_runs_without_a_configured_region(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = README.read_text(encoding="utf-8")
    (line,) = [line for line in text.splitlines() if line.startswith('python -c "import boto3')]
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    exec(line.removeprefix('python -c "').removesuffix('"'), {})  # noqa: S102 - our README
    assert iam().list_access_keys(UserName="example-user")["AccessKeyMetadata"]

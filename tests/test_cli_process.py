"""The baked CLI as a real process against a local moto server.

The server is moto's ``ThreadedMotoServer`` on 127.0.0.1; the CLI reaches it
through ``AWS_ENDPOINT_URL``. Objects are seeded through moto's in-process
backend (the server shares it), which can backdate them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .e2e import ACCOUNT, SLUG, assert_contract, base_env, free_port, keys_in, seed


def test_help_and_version(cli: Any) -> None:
    help_run = cli("--help")
    assert help_run.code == 0
    assert "--apply" in help_run.stdout
    assert "S3_BUCKET" in help_run.stdout
    version = cli("--version")
    assert version.code == 0
    assert version.stdout.startswith(f"{SLUG} 0.1.0")


def test_dry_run_is_the_default_and_changes_nothing(cli: Any, bucket: str) -> None:
    seed(bucket, ["temp/old-1", "temp/old-2"], age_days=40)
    seed(bucket, ["temp/fresh", "keep/old"], age_days=2)
    run = cli(S3_BUCKET=bucket)
    assert_contract(run, 0)
    assert run.summary["dry_run"] is True
    assert (run.summary["matched"], run.summary["deleted"]) == (2, 0)
    assert keys_in(bucket) == {"temp/old-1", "temp/old-2", "temp/fresh", "keep/old"}


def test_apply_deletes_expired_objects_and_is_idempotent(cli: Any, bucket: str) -> None:
    seed(bucket, [f"temp/old-{i}" for i in range(1500)], age_days=40)
    seed(bucket, ["temp/fresh"], age_days=2)
    seed(bucket, ["keep/old"], age_days=400)
    first = cli("--apply", "--bucket", bucket)
    assert_contract(first, 0)
    assert (first.summary["matched"], first.summary["deleted"], first.summary["failed"]) == (
        1500,
        1500,
        0,
    )
    assert keys_in(bucket) == {"temp/fresh", "keep/old"}
    second = cli(S3_BUCKET=bucket, DRY_RUN="false")
    assert_contract(second, 0)
    assert (second.summary["matched"], second.summary["deleted"]) == (0, 0)
    assert keys_in(bucket) == {"temp/fresh", "keep/old"}


def test_bad_settings_exit_1_naming_each(cli: Any) -> None:
    run = cli(S3_BUCKET="Bad_Bucket", RETENTION_DAYS="forever", AWS_REGION="atlantis")
    assert_contract(run, 1)
    for name in ("S3_BUCKET", "RETENTION_DAYS", "AWS_REGION"):
        assert name in run.stderr
    flagged = cli("--bucket", "ok-bucket", "--retention-days")
    assert_contract(flagged, 1)


def test_missing_credentials_exit_2(cli: Any, bucket: str) -> None:
    run = cli(S3_BUCKET=bucket, drop=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"))
    assert_contract(run, 2)


def test_unreachable_endpoint_exits_3(cli: Any) -> None:
    run = cli(
        S3_BUCKET="some-bucket",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
        CONNECT_TIMEOUT="1",
        AWS_MAX_ATTEMPTS="2",
    )
    assert_contract(run, 3)


def test_other_aws_errors_exit_5(cli: Any, bucket: str) -> None:
    seed(bucket, ["temp/old"], age_days=40)
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:does-not-exist"
    run = cli("--apply", S3_BUCKET=bucket, SNS_TOPIC_ARN=topic)
    assert_contract(run, 5)
    assert run.summary["deleted"] == 1


def test_account_outside_the_allow_list_exits_6_before_any_change(cli: Any, bucket: str) -> None:
    seed(bucket, ["temp/old"], age_days=40)
    run = cli("--apply", S3_BUCKET=bucket, ALLOWED_ACCOUNT_IDS="111111111111")
    assert_contract(run, 6)
    assert keys_in(bucket) == {"temp/old"}


def test_python_dash_m_runs_the_same_cli(
    project: Any, endpoint: str, tmp_path: Path, bucket: str
) -> None:
    env = {**base_env(project, endpoint, tmp_path), "S3_BUCKET": bucket}
    done = project.run(project.venv_bin / "python", "-m", "aws_automation_script", env=env)
    assert json.loads(done.stdout.splitlines()[-1])["exit_code"] == 0


def test_a_bad_endpoint_url_exits_1_naming_it(cli: Any) -> None:
    run = cli(S3_BUCKET="some-bucket", AWS_ENDPOINT_URL="localhost:4566")
    assert_contract(run, 1)
    assert "AWS_ENDPOINT_URL" in run.stderr


def test_an_abbreviated_flag_is_not_the_flag(cli: Any, bucket: str) -> None:
    seed(bucket, ["temp/old"], age_days=40)
    run = cli("--app", S3_BUCKET=bucket)
    assert_contract(run, 1)
    assert keys_in(bucket) == {"temp/old"}


def test_an_allow_list_of_only_commas_exits_1_and_changes_nothing(cli: Any, bucket: str) -> None:
    seed(bucket, ["temp/old"], age_days=40)
    run = cli("--apply", S3_BUCKET=bucket, ALLOWED_ACCOUNT_IDS=",")
    assert_contract(run, 1)
    assert "ALLOWED_ACCOUNT_IDS" in run.stderr
    assert keys_in(bucket) == {"temp/old"}


def test_a_port_of_thousands_of_digits_exits_1_naming_where_it_is(cli: Any, tmp_path: Path) -> None:
    """Leading zeros past int()'s 4,300 digits: botocore's signer crashed on
    the port at the first call (exit 99). Refused first, wherever it is set."""
    long_port = "http://127.0.0.1:" + "0" * 5000 + "5000"
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        run = cli(S3_BUCKET="some-bucket", **{name: long_port})
        assert_contract(run, 1)
        assert f"error: {name}: " in run.stderr
    config = tmp_path / "config"
    config.write_text(f"[profile ops]\nendpoint_url = {long_port}\n", encoding="utf-8")
    run = cli(S3_BUCKET="some-bucket", AWS_CONFIG_FILE=str(config), AWS_PROFILE="ops")
    assert_contract(run, 1)
    assert f"endpoint_url of profile 'ops' in {config}" in run.stderr


def role_profile(tmp_path: Path, extra: str = "") -> Path:
    """An AWS config file whose profile ``ops`` assumes a role from ``src``'s keys."""
    config = tmp_path / "config"
    config.write_text(
        "[profile src]\naws_access_key_id = test\naws_secret_access_key = test\n"
        f"[profile ops]\nrole_arn = arn:aws:iam::{ACCOUNT}:role/ops\nsource_profile = src\n"
        f"{extra}",
        encoding="utf-8",
    )
    return config


def test_retry_settings_the_script_accepts_reach_botocore_s_own_clients(
    cli: Any, bucket: str, tmp_path: Path
) -> None:
    """botocore assumes the profile's role with an STS client it makes itself;
    it parsed AWS_MAX_ATTEMPTS and AWS_RETRY_MODE again for it, and refused
    what the script accepts (exit 99, exit 5)."""
    config = role_profile(tmp_path)
    for variables in ({"AWS_MAX_ATTEMPTS": "0" * 5000 + "2"}, {"AWS_RETRY_MODE": "STANDARD"}):
        run = cli(S3_BUCKET=bucket, AWS_CONFIG_FILE=str(config), AWS_PROFILE="ops", **variables)
        assert_contract(run, 0)
    broken = role_profile(tmp_path, "max_attempts = abc\n")
    run = cli(S3_BUCKET=bucket, AWS_CONFIG_FILE=str(broken), AWS_PROFILE="ops")
    assert_contract(run, 1)
    assert f"error: max_attempts of profile 'ops' in {broken}: " in run.stderr


def test_a_profile_whose_credentials_cannot_be_had_exits_2_naming_it(
    cli: Any, bucket: str, tmp_path: Path
) -> None:
    helper = tmp_path / "helper"
    helper.write_text("#!/bin/sh\necho 'not json'\n", encoding="utf-8")
    helper.chmod(0o755)
    for process in (str(helper), str(tmp_path / "missing-helper"), f'"{helper}'):
        config = tmp_path / "config"
        config.write_text(f"[profile ops]\ncredential_process = {process}\n", encoding="utf-8")
        run = cli("--profile", "ops", S3_BUCKET=bucket, AWS_CONFIG_FILE=str(config))
        assert_contract(run, 2)
        (error,) = [line for line in run.lines if line["level"] == "ERROR"]
        assert error["message"].startswith(
            f"credentials: profile 'ops' (credential_process; {config}): "
        )
        assert not [line for line in run.lines if "exception" in line]


def test_bytes_that_are_not_utf8_in_any_setting_exit_1_naming_each(cli: Any) -> None:
    """A variable or an argument holding a byte that is not UTF-8 (a latin-1
    shell, a mangled secret): Python reads it as a lone surrogate, which S3_PREFIX's
    byte-length check could not encode (exit 99). Every setting refuses it
    (exit 1), each named, and the line on stderr shows the byte."""
    bad = os.fsdecode(b"temp/\xff/")  # the byte 0xFF in the child's environment
    run = cli(
        "--region",
        os.fsdecode(b"eu-west-\xe9"),
        S3_BUCKET="some-bucket",
        S3_PREFIX=bad,
        ENVIRONMENT=os.fsdecode(b"d\xc3ev"),
        AWS_PROFILE=os.fsdecode(b"\x80ops"),
    )
    assert_contract(run, 1)
    problems = run.stderr.splitlines()
    for name in ("S3_PREFIX", "ENVIRONMENT", "AWS_PROFILE", "AWS_REGION"):
        assert [line for line in problems if line.startswith(f"error: {name}")], problems
    assert "error: S3_PREFIX / --prefix: must be UTF-8 text; character 6 is the byte 0xff" in (
        run.stderr
    )
    assert "Traceback" not in run.stderr

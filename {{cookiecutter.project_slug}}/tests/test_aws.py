"""The client factory, assumed roles, Secrets Manager and the account guard."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import RefreshableCredentials

from {{ cookiecutter.package_name }} import (
    config,
    job,
    logs,
)
from {{ cookiecutter.package_name }}.aws import (
    APP_ID,
    Clients,
    read_json_secret,
    read_secret,
    role_session_name,
    session_policy,
)
from {{ cookiecutter.package_name }}.cli import build_parser
from {{ cookiecutter.package_name }}.errors import (
    ConfigError,
    SafetyRefusal,
)

from .conftest import ACCOUNT_ID, JOB_ENV, PARTITION, RunCli

ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/cleanup"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Fake secrets for moto; the scanner is told they are not real.
NOT_JSON_SECRET = "hunter2-not-json"  # pragma: allowlist secret
DB_SECRET = '{"password": "s3cr3t-pa55"}'  # pragma: allowlist secret


def settings(**env: str) -> config.Settings:
    args = build_parser().parse_args([])
    loaded, _ = config.load(args, {**JOB_ENV, **env}, job.JobSettings, job.SETTINGS)
    return loaded


def test_every_client_gets_timeouts_retries_and_app_id(aws: None) -> None:
    tuned = settings(
        CONNECT_TIMEOUT="2", READ_TIMEOUT="9", AWS_MAX_ATTEMPTS="6", AWS_RETRY_MODE="adaptive"
    )
    clients = Clients(tuned, "run")
    for client in (clients.s3, clients.sts, clients.sns, clients.secretsmanager):
        cfg: Any = client.meta.config  # botocore-stubs does not type these attributes
        assert cfg.connect_timeout == 2
        assert cfg.read_timeout == 9
        assert cfg.retries == {"mode": "adaptive", "total_max_attempts": 6}
        assert cfg.user_agent_appid == APP_ID[:50]
    assert clients.s3 is clients.s3  # built once per run


def test_endpoint_override_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5999")
    clients = Clients(settings(), "run")
    assert clients.s3.meta.endpoint_url == "http://127.0.0.1:5999"


def test_assumed_role_credentials_refresh_and_name_the_run(aws: None) -> None:
    clients = Clients(settings(ASSUME_ROLE_ARN=ROLE_ARN), "0123abcd")
    credentials = clients.session.get_credentials()
    assert isinstance(credentials, RefreshableCredentials)
    frozen = credentials.get_frozen_credentials()
    assert frozen.access_key != "testing"  # came from STS, not the environment
    assert frozen.token
    arn = clients.sts.get_caller_identity()["Arn"]
    assert arn.endswith(f"/cleanup/{role_session_name('0123abcd')}")
    assert role_session_name("0123abcd").endswith("-0123abcd")


def test_role_session_name_fits_sts_limits() -> None:
    name = role_session_name("f" * 32)
    assert 2 <= len(name) <= 64
    assert all(ch.isalnum() or ch in "+=,.@-_" for ch in name)


def test_json_secret_is_read(aws: None) -> None:
    clients = Clients(settings(), "run")
    clients.secretsmanager.create_secret(Name="db", SecretString=json.dumps({"user": "app"}))
    assert read_json_secret(clients, "db") == {"user": "app"}


def test_malformed_secret_is_refused_without_echoing_it(aws: None) -> None:
    clients = Clients(settings(), "run")
    clients.secretsmanager.create_secret(Name="bad", SecretString=NOT_JSON_SECRET)
    clients.secretsmanager.create_secret(Name="bin", SecretBinary=b"\x00\x01")
    with pytest.raises(ConfigError) as caught:
        read_json_secret(clients, "bad")
    assert "hunter2" not in str(caught.value)
    assert caught.value.__cause__ is None
    with pytest.raises(ConfigError, match="binary"):
        read_secret(clients, "bin")


def test_missing_secret_raises_the_typed_error(aws: None) -> None:
    clients = Clients(settings(), "run")
    with pytest.raises(clients.secretsmanager.exceptions.ResourceNotFoundException):
        read_secret(clients, "nope")


def test_account_guard_allows_listed_and_refuses_others(aws: None) -> None:
    allowed = settings(ALLOWED_ACCOUNT_IDS=ACCOUNT_ID)
    assert Clients(allowed, "r").guard().account == ACCOUNT_ID
    base = settings()
    open_settings = dataclasses.replace(base, allowed_account_ids=())
    assert Clients(open_settings, "r").guard().account == ACCOUNT_ID
    with pytest.raises(SafetyRefusal, match=f"{ACCOUNT_ID}.*111111111111"):
        Clients(settings(ALLOWED_ACCOUNT_IDS="111111111111"), "r").guard()


def test_a_target_s_credentials_must_belong_to_its_account(aws: None) -> None:
    anywhere = dataclasses.replace(settings(), allowed_account_ids=())
    hub = Clients(anywhere, "r")
    hub.guard()
    member = "210987654321"
    role = f"arn:{PARTITION}:iam::{member}:role/automation"
    target = Clients(anywhere, "r", source=hub, role_arn=role)
    identity = target.guard(expected_account=member)
    assert identity.arn.startswith(f"arn:{PARTITION}:sts::{member}:")
    elsewhere = Clients(anywhere, "r", source=hub, role_arn=role)
    with pytest.raises(SafetyRefusal, match=f"account 111111111111 belong to {member}"):
        elsewhere.guard(expected_account="111111111111")


def test_prod_apply_requires_an_allow_list(aws: None) -> None:
    prod = dataclasses.replace(
        settings(ENVIRONMENT="prod", DRY_RUN="false"), allowed_account_ids=()
    )
    with pytest.raises(SafetyRefusal, match="requires ALLOWED_ACCOUNT_IDS"):
        Clients(prod, "r").guard()
    dry = dataclasses.replace(prod, dry_run=True)
    assert Clients(dry, "r").guard().account == ACCOUNT_ID


def test_prod_apply_refuses_long_term_keys_unless_allowed(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    prod = settings(ENVIRONMENT="prod", DRY_RUN="false", ALLOWED_ACCOUNT_IDS=ACCOUNT_ID)
    with pytest.raises(SafetyRefusal, match="long-term credentials"):
        Clients(prod, "r").guard()
    allowed = settings(
        ENVIRONMENT="prod",
        DRY_RUN="false",
        ALLOWED_ACCOUNT_IDS=ACCOUNT_ID,
        ALLOW_LONG_TERM_CREDENTIALS="true",
    )
    assert Clients(allowed, "r").guard().account == ACCOUNT_ID
    monkeypatch.setenv("AWS_SESSION_TOKEN", "a-session-token-from-sso")
    assert Clients(prod, "r").guard().account == ACCOUNT_ID


def test_assumed_role_session_is_scoped_to_the_job_actions(aws: None) -> None:
    scope = {name: "value" for name in re.findall(r"\{(\w+)\}", str(job.IAM_ACTIONS))}
    clients = Clients(settings(ASSUME_ROLE_ARN=ROLE_ARN), "run", job.IAM_ACTIONS, scopes=[scope])
    policy = json.loads(clients.assume_role_args()["Policy"])
    assert policy == json.loads(session_policy(job.IAM_ACTIONS, [scope]))
    granted = {action for statement in policy["Statement"] for action in statement["Action"]}
    assert granted == set(job.IAM_ACTIONS)
    assert clients.session.get_credentials() is not None  # STS accepts the policy


def test_mfa_serial_and_code_reach_assume_role(aws: None) -> None:
    serial = f"arn:aws:iam::{ACCOUNT_ID}:mfa/ops"
    clients = Clients(
        settings(ASSUME_ROLE_ARN=ROLE_ARN, MFA_SERIAL=serial, MFA_TOKEN_CODE="123456"), "run"
    )
    assert clients.assume_role_args()["SerialNumber"] == serial
    assert clients._mfa_code("code: ") == "123456"
    credentials = clients.session.get_credentials()
    assert credentials is not None
    assert credentials.get_frozen_credentials().token


def test_mfa_without_a_code_off_a_terminal_is_a_config_error(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    serial = f"arn:aws:iam::{ACCOUNT_ID}:mfa/ops"
    clients = Clients(settings(ASSUME_ROLE_ARN=ROLE_ARN, MFA_SERIAL=serial), "run")
    with pytest.raises(ConfigError, match="MFA_TOKEN_CODE"):
        clients._mfa_code("code: ")


def test_iam_policy_file_matches_the_declared_actions() -> None:
    # To the byte: regenerating an up-to-date file leaves no diff.
    shipped = (PROJECT_ROOT / "iam-policy.json").read_text(encoding="utf-8")
    assert shipped == session_policy(job.IAM_ACTIONS) + "\n", (
        "iam-policy.json is stale: regenerate it with --print-iam-policy > iam-policy.json"
    )


def test_secrets_never_reach_the_logs_even_at_debug(
    aws: None, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_key = "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY1"  # pragma: allowlist secret
    token = "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalue0123456789"  # pragma: allowlist secret
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    result = run_cli(env={**JOB_ENV, "LOG_LEVEL": "DEBUG", "ASSUME_ROLE_ARN": ROLE_ARN})
    assert result.code == 0
    text = json.dumps(result.lines) + result.stderr
    assert any(line["logger"].startswith("botocore") for line in result.lines)  # wire logs on
    for secret in (secret_key, token):
        assert secret not in text
    assert "Signature=" not in text or "Signature=[REDACTED]" in text
    assert "<SecretAccessKey>" not in text or "<SecretAccessKey>[REDACTED]" in text


def test_secret_values_are_scrubbed_from_logs(aws: None) -> None:
    clients = Clients(settings(), "run")
    clients.secretsmanager.create_secret(Name="db", SecretString=DB_SECRET)
    value = read_json_secret(clients, "db")["password"]
    stream = io.StringIO()
    log = logs.setup("DEBUG", "r", stream)
    log.info("connecting with %s", value, extra={"dsn": f"user:{value}@db"})
    assert "s3cr3t-pa55" not in stream.getvalue()
    assert "[REDACTED]" in stream.getvalue()

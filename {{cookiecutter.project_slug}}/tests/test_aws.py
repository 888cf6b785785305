"""The client factory, assumed roles, Secrets Manager and the account guard."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from botocore.credentials import RefreshableCredentials

from {{ cookiecutter.package_name }} import config, job
from {{ cookiecutter.package_name }}.aws import (
    APP_ID,
    Clients,
    read_json_secret,
    read_secret,
    role_session_name,
)
from {{ cookiecutter.package_name }}.cli import build_parser
from {{ cookiecutter.package_name }}.errors import ConfigError, SafetyRefusal

from .conftest import ACCOUNT_ID, JOB_ENV

ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/cleanup"


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
    clients.secretsmanager.create_secret(Name="bad", SecretString="hunter2-not-json")
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
    assert Clients(allowed, "r").check_account().account == ACCOUNT_ID
    base = settings()
    open_settings = dataclasses.replace(base, allowed_account_ids=())
    assert Clients(open_settings, "r").check_account().account == ACCOUNT_ID
    with pytest.raises(SafetyRefusal, match=f"{ACCOUNT_ID}.*111111111111"):
        Clients(settings(ALLOWED_ACCOUNT_IDS="111111111111"), "r").check_account()

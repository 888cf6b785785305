# Maintained by the template: a template update replaces this file. Your tests go in test_job.py.
"""The client factory, assumed roles, Secrets Manager and the account guard."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import RefreshableCredentials

from {{ cookiecutter.package_name }} import job
from {{ cookiecutter.package_name }}.runtime.access.aws import (
    APP_ID,
    Clients,
    read_json_secret,
    read_secret,
    role_session_name,
    session_policy,
)
from {{ cookiecutter.package_name }}.runtime.outcome.errors import (
    ConfigError,
    SafetyRefusal,
)
from {{ cookiecutter.package_name }}.runtime.outcome.exit_codes import (
    ExitCode,
)
from {{ cookiecutter.package_name }}.runtime.output import (
    logs,
)
from {{ cookiecutter.package_name }}.runtime.run.cli import (
    build_parser,
)
from {{ cookiecutter.package_name }}.runtime.run.failure_line import (
    MEANINGS,
)
from {{ cookiecutter.package_name }}.runtime.settings import (
    config,
    validate,
)

from .conftest import ACCOUNT_ID, JOB_ENV, PARTITION, RunCli
from .test_config import LONG_PORT, NOWHERE

ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/cleanup"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Fake secrets for moto; the scanner is told they are not real.
NOT_JSON_SECRET = "hunter2-not-json"  # pragma: allowlist secret
DB_SECRET = '{"password": "s3cr3t-pa55"}'  # pragma: allowlist secret


def settings(**env: str) -> config.Settings:
    args = build_parser(job).parse_args([])
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


class Terminal(io.StringIO):
    """stderr as a person at a terminal has it: the run's one-line reason goes there."""

    def isatty(self) -> bool:
        return True


CREDENTIALS = "aws_access_key_id = testing\naws_secret_access_key = testing\n"


@pytest.fixture
def aws_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], Path]:
    """Write an AWS config or credentials file and point its variable at it."""

    def write(variable: str, text: str) -> Path:
        path = tmp_path / variable.lower()
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv(variable, str(path))
        return path

    return write


@dataclasses.dataclass(frozen=True)
class ConfigCase:
    label: str
    text: str  # the AWS config file
    profile: str | None  # AWS_PROFILE, or None for the default profile
    named: str  # how the problem names where the value is (the file: "{file}")
    url: str = ""


ENDPOINT_CASES = [
    dataclasses.replace(case, url=url)
    for url in ("http://-/", "http://%zz/", "http://" + "a" * 64 + "/", LONG_PORT)
    for case in (
        ConfigCase(
            "profile",
            "[profile ops]\n{credentials}endpoint_url = {url}\n",
            "ops",
            "endpoint_url of profile 'ops' in {file}",
        ),
        ConfigCase(
            "default-profile",
            "[default]\n{credentials}endpoint_url = {url}\n",
            None,
            "endpoint_url of profile 'default' in {file}",
        ),
        ConfigCase(
            "services-section",
            "[profile ops]\n{credentials}services = local\n"
            "[services local]\nsts =\n  endpoint_url = {url}\n",
            "ops",
            "endpoint_url of sts in services section 'local' (profile 'ops') in {file}",
        ),
    )
]


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("case", ENDPOINT_CASES, ids=lambda case: f"{case.label}-{case.url[:12]}")
def test_an_endpoint_in_the_aws_config_file_botocore_would_refuse_is_refused(
    run_cli: RunCli,
    api_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
    aws_file: Callable[[str, str], Path],
    case: ConfigCase,
) -> None:
    """botocore reads a profile's endpoint_url itself, and refused a bad one
    only when it made the first client (exit 99): now exit 1, naming the
    profile and the file, before any call."""
    path = aws_file("AWS_CONFIG_FILE", case.text.format(credentials=CREDENTIALS, url=case.url))
    if case.profile:
        monkeypatch.setenv("AWS_PROFILE", case.profile)
    result = run_cli(env=JOB_ENV)
    assert result.code == 1, result.stderr
    assert api_calls == []
    (error,) = [line for line in result.lines if line["level"] == "ERROR"]
    named = case.named.format(file=path)
    assert error["problems"] == [f"{named}: {problem_with(case.url)}"]
    assert f"error: {named}: " in result.stderr


def problem_with(url: str) -> str:
    try:
        validate.endpoint_url(url)
    except validate.InvalidValue as error:
        return str(error)
    raise AssertionError(f"{url} is accepted")


def test_a_good_endpoint_in_the_aws_config_file_is_used(
    aws_file: Callable[[str, str], Path],
) -> None:
    aws_file(
        "AWS_CONFIG_FILE",
        "[profile ops]\nendpoint_url = http://127.0.0.1:5999\nservices = local\n"
        "[services local]\nsts =\n  endpoint_url = http://localhost:5998/\n",
    )
    clients = Clients(settings(AWS_PROFILE="ops"), "run")
    assert clients.s3.meta.endpoint_url == "http://127.0.0.1:5999"
    assert clients.sts.meta.endpoint_url == "http://localhost:5998/"


LOOP = (
    "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\nsource_profile = b\n"
    "[profile b]\nrole_arn = arn:aws:iam::123456789012:role/b\nsource_profile = a\n"
)
SELF_LOOP = "[profile s]\nrole_arn = arn:aws:iam::123456789012:role/s\nsource_profile = s\n"
CONFIG, CREDENTIALS_FILE = "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"
UNUSABLE_FILES = [
    pytest.param((CONFIG, "[default\nregion = eu-west-1\n", None, "{file}"), id="config-bracket"),
    pytest.param((CONFIG, "region = eu-west-1\n", None, "{file}"), id="config-no-section"),
    pytest.param((CONFIG, "[default]\ns3 =\n  no equals\n", None, "{file}"), id="config-nested"),
    pytest.param((CONFIG, "[default]\n[default]\n", None, "{file}"), id="config-section-twice"),
    pytest.param((CREDENTIALS_FILE, "[default\nx = y\n", None, "{file}"), id="credentials-bracket"),
    pytest.param((CREDENTIALS_FILE, "x = y\n", None, "{file}"), id="credentials-no-section"),
    pytest.param((CONFIG, LOOP, "a", "profile a "), id="source-profile-loop"),
    pytest.param((CONFIG, SELF_LOOP, "s", "profile s "), id="source-profile-self-loop"),
]


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("case", UNUSABLE_FILES)
def test_an_unusable_aws_config_or_credentials_file_exits_2_naming_it(
    run_cli: RunCli,
    api_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
    aws_file: Callable[[str, str], Path],
    case: tuple[str, str, str | None, str],
) -> None:
    """A credentials problem (exit 2), not an AWS error (exit 5): the fix is
    in the file or the profile, which the one line on stderr names."""
    variable, text, profile, named = case
    path = aws_file(variable, text)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")  # so that the files are where credentials come from
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    if profile:
        monkeypatch.setenv("AWS_PROFILE", profile)
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    result = run_cli(env=JOB_ENV)
    assert result.code == 2, terminal.getvalue()
    assert api_calls == []
    (line,) = terminal.getvalue().splitlines()
    assert line.startswith(f"error: {MEANINGS[ExitCode.CREDENTIALS]}: ")
    assert named.format(file=path) in line
    assert line.endswith("(exit 2)")


# A profile whose credentials come from a role: botocore makes the STS
# client that assumes it itself, from the session the run made.
ROLE_PROFILE = (
    f"[profile src]\n{CREDENTIALS}"
    f"[profile ops]\nrole_arn = arn:{PARTITION}:iam::{ACCOUNT_ID}:role/ops\nsource_profile = src\n"
)


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    "variables",
    [
        {"AWS_MAX_ATTEMPTS": "0" * 5000 + "3"},  # past int()'s digit limit, read by the script
        {"AWS_MAX_ATTEMPTS": " 3\t"},
        {"AWS_RETRY_MODE": "STANDARD"},
        {"AWS_RETRY_MODE": " adaptive "},
    ],
    ids=["max-attempts-zeros", "max-attempts-blanks", "retry-mode-upper", "retry-mode-blanks"],
)
def test_retry_settings_the_script_accepts_reach_every_client_as_it_read_them(
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    aws_file: Callable[[str, str], Path],
    variables: dict[str, str],
) -> None:
    """botocore reads AWS_MAX_ATTEMPTS and AWS_RETRY_MODE itself for every
    client made without them, such as the STS client it makes to assume a
    profile's role, and refused what the script had accepted (exit 99 or 5)."""
    aws_file(CONFIG, ROLE_PROFILE)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)  # where botocore reads them
    monkeypatch.setenv("AWS_PROFILE", "ops")
    result = run_cli(env=JOB_ENV)
    assert result.code == 0, result.stderr
    loaded = settings(**variables)
    session = Clients(loaded, "run").session._session  # the botocore session
    own = session.create_client("sts", region_name=loaded.region)  # as botocore makes one
    cfg: Any = own.meta.config
    assert cfg.retries == {"mode": loaded.retry_mode, "total_max_attempts": loaded.max_attempts}
    assert (cfg.connect_timeout, cfg.read_timeout) == (loaded.connect_timeout, loaded.read_timeout)


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("max_attempts = abc", "max_attempts of profile 'ops' in {file}: must be a whole number"),
        ("max_attempts = 0", "max_attempts of profile 'ops' in {file}: must be a whole number"),
        (
            "max_attempts = " + "0" * 5000 + "3",
            "max_attempts of profile 'ops' in {file}: must be a whole number",
        ),
        ("retry_mode = STANDARD", "retry_mode of profile 'ops' in {file}: must be one of"),
        ("retry_mode = fast", "retry_mode of profile 'ops' in {file}: must be one of"),
    ],
)
def test_a_retry_setting_of_the_profile_botocore_cannot_read_exits_1_naming_it(
    run_cli: RunCli,
    api_calls: list[str],
    *,
    monkeypatch: pytest.MonkeyPatch,
    aws_file: Callable[[str, str], Path],
    line: str,
    problem: str,
) -> None:
    path = aws_file(CONFIG, f"[profile ops]\n{CREDENTIALS}{line}\n")
    monkeypatch.setenv("AWS_PROFILE", "ops")
    result = run_cli(env=JOB_ENV)
    assert result.code == 1, result.stderr
    assert api_calls == []
    (error,) = [line for line in result.lines if line["level"] == "ERROR"]
    (found,) = error["problems"]
    assert found.startswith(problem.format(file=path)), found
    assert len(found) < 400  # a long value is quoted cut short


def python_command(tmp_path: Path, name: str, program: str) -> str:
    """A ``credential_process`` line that runs ``program`` with this Python."""
    script = tmp_path / f"{name}.py"
    script.write_text(program, encoding="utf-8")
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"


# A profile whose credentials cannot be had, and what the error says about it.
UNUSABLE_PROFILES = {
    "process-missing": ("credential_process = {tmp}/no-such-helper --json", "no-such-helper"),
    "process-not-json": (
        "credential_process = {python:print('not json')}",
        "credential_process",
    ),
    "process-json-list": ("credential_process = {python:print('[1]')}", "credential_process"),
    "process-json-null": ("credential_process = {python:print('null')}", "credential_process"),
    "process-quoting": ('credential_process = "{tmp}/helper --x', "credential_process"),
    "process-empty": ("credential_process = ''", "credential_process"),
    "process-fails": (
        "credential_process = {python:raise SystemExit('helper is out of order')}",
        "helper is out of order",
    ),
    "web-identity-token-missing": (
        "role_arn = arn:aws:iam::{account}:role/ops\nweb_identity_token_file = {tmp}/no-such-token",
        "no-such-token",
    ),
    "role-without-source": (
        "role_arn = arn:aws:iam::{account}:role/ops",
        "source_profile or credential_source",
    ),
    "role-with-a-missing-source": (
        "role_arn = arn:aws:iam::{account}:role/ops\nsource_profile = nowhere",
        "nowhere",
    ),
}


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("case", sorted(UNUSABLE_PROFILES))
def test_a_profile_whose_credentials_cannot_be_had_exits_2_naming_it(
    run_cli: RunCli,
    api_calls: list[str],
    *,
    monkeypatch: pytest.MonkeyPatch,
    aws_file: Callable[[str, str], Path],
    tmp_path: Path,
    case: str,
) -> None:
    """A credential_process that is missing, fails, has bad quoting or
    prints no credentials, a web identity token file that is missing, a role
    with no source: exit 2 naming the profile and its file, not a traceback
    (exit 99), whether the profile is named by AWS_PROFILE or --profile."""
    text, detail = UNUSABLE_PROFILES[case]
    if text.startswith("credential_process = {python:"):
        program = text.removeprefix("credential_process = {python:").removesuffix("}")
        text = f"credential_process = {python_command(tmp_path, case, program)}"
    text = text.replace("{tmp}", str(tmp_path)).replace("{account}", ACCOUNT_ID)
    path = aws_file(CONFIG, f"[profile ops]\n{text}\n")
    for argv, variable in (((), "ops"), (("--profile", "ops"), None)):
        if variable:
            monkeypatch.setenv("AWS_PROFILE", variable)
        else:
            monkeypatch.delenv("AWS_PROFILE")
        terminal = Terminal()
        monkeypatch.setattr("sys.stderr", terminal)
        result = run_cli(*argv, env=JOB_ENV)
        assert result.code == 2, terminal.getvalue()
        assert api_calls == []
        assert not [line for line in result.lines if "exception" in line]
        (error,) = [line for line in result.lines if line["level"] == "ERROR"]
        assert error["message"].startswith("credentials: profile 'ops' (")
        assert str(path) in error["message"]
        assert detail in error["message"]
        (stderr_line,) = terminal.getvalue().splitlines()
        assert stderr_line.startswith(f"error: {MEANINGS[ExitCode.CREDENTIALS]}: profile 'ops' (")
        assert stderr_line.endswith("(exit 2)")


def test_a_profile_asking_for_an_mfa_code_with_no_terminal_exits_2_naming_it(
    tmp_path: Path,
) -> None:
    """botocore asks for a role profile's MFA code (its mfa_serial) on the
    terminal, or on stdin when there is none: with neither (a scheduler, a
    pipe that is closed) its prompt raised EOFError, exit 99. A process of
    its own, with no controlling terminal and nothing on stdin."""
    config_file = tmp_path / "config"
    config_file.write_text(
        ROLE_PROFILE + f"mfa_serial = arn:{PARTITION}:iam::{ACCOUNT_ID}:mfa/ops\n",
        encoding="utf-8",
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        **JOB_ENV,
        **NOWHERE,  # were a call made, it would fail with exit 3, not 2
        "AWS_CONFIG_FILE": str(config_file),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_PROFILE": "ops",
        "AWS_EC2_METADATA_DISABLED": "true",
        "ALLOWED_ACCOUNT_IDS": ACCOUNT_ID,
    }
    package = "{{ cookiecutter.package_name }}"
    program = (
        # As the console script does: a job written for 0.7.0 imports by the old names.
        f"import sys; from {package}.runtime.run import moved; moved.install({package!r}); "
        f"from {package} import job; from {package}.runtime.run.cli import main; "
        "sys.exit(main(job, []))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        start_new_session=True,  # no controlling terminal: /dev/tty cannot be opened
        check=False,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    (error,) = [line for line in lines if line["level"] == "ERROR"]
    assert error["message"].startswith("credentials: profile 'ops' (")
    assert "mfa_serial" in error["message"]
    assert str(config_file) in error["message"]
    assert "no terminal" in error["message"]

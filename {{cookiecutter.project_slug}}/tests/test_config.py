# Maintained by the template: a template update replaces this file. Your tests go in test_job.py.
"""Settings: environment first, flags override, every problem reported at once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping

import pytest

from {{ cookiecutter.package_name }} import job
from {{ cookiecutter.package_name }}.runtime.outcome.errors import (
    ConfigError,
)
from {{ cookiecutter.package_name }}.runtime.run.cli import (
    build_parser,
)
from {{ cookiecutter.package_name }}.runtime.settings import (
    config,
    validate,
)

from .conftest import JOB_ENV, REGION, CliRun, RunCli


def load(env: Mapping[str, str], *argv: str) -> tuple[config.Settings, job.JobSettings]:
    args = build_parser(job).parse_args(list(argv))
    return config.load(args, {**JOB_ENV, **env}, job.JobSettings, job.SETTINGS)


def test_defaults_are_safe() -> None:
    settings, _ = load({})
    assert settings.dry_run is True
    assert settings.environment == "dev"
    assert settings.region == REGION
    assert settings.retry_mode == "standard"
    assert settings.max_attempts >= 2
    assert settings.connect_timeout <= 10
    assert settings.read_timeout <= 60
    assert settings.profile is None
    assert settings.assume_role_arn is None
    # 4 attempts of 5 s + 15 s, plus backoffs of 2, 4 and 8 s: the docs' figure
    assert settings.worst_case_call_seconds() == 94


def test_environment_is_read_and_normalised() -> None:
    settings, _ = load(
        {
            "ENVIRONMENT": "PROD",
            "DRY_RUN": "false",
            "LOG_LEVEL": "debug",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_PROFILE": "ops",
            "ASSUME_ROLE_ARN": "arn:aws:iam::123456789012:role/cleanup",
            "CONNECT_TIMEOUT": "2.5",
            "READ_TIMEOUT": "10",
            "AWS_MAX_ATTEMPTS": "7",
            "AWS_RETRY_MODE": "adaptive",
            "ALLOWED_ACCOUNT_IDS": "123456789012",
        }
    )
    assert settings.environment == "prod"
    assert settings.dry_run is False
    assert settings.log_level == "DEBUG"
    assert settings.region == "eu-west-1"
    assert settings.profile == "ops"
    assert settings.assume_role_arn == "arn:aws:iam::123456789012:role/cleanup"
    assert (settings.connect_timeout, settings.read_timeout) == (2.5, 10.0)
    assert (settings.max_attempts, settings.retry_mode) == (7, "adaptive")
    assert settings.allowed_account_ids == ("123456789012",)


def test_aws_region_wins_over_aws_default_region() -> None:
    settings, _ = load({"AWS_REGION": "eu-north-1", "AWS_DEFAULT_REGION": "eu-west-1"})
    assert settings.region == "eu-north-1"


def test_flags_override_the_environment() -> None:
    env = {"DRY_RUN": "true", "LOG_LEVEL": "ERROR", "AWS_REGION": "eu-west-1", "AWS_PROFILE": "a"}
    argv = ("--apply", "--log-level", "info", "--region", "ap-south-1", "--profile", "b")
    settings, _ = load(env, *argv)
    assert settings.dry_run is False
    assert settings.log_level == "INFO"
    assert settings.region == "ap-south-1"
    assert settings.profile == "b"
    settings, _ = load({"DRY_RUN": "false"}, "--dry-run")
    assert settings.dry_run is True


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load(
            {
                "ENVIRONMENT": "qa",
                "DRY_RUN": "perhaps",
                "AWS_REGION": "moon-1",
                "CONNECT_TIMEOUT": "0",
                "AWS_MAX_ATTEMPTS": "many",
                "ASSUME_ROLE_ARN": "not-an-arn",
            }
        )
    problems = caught.value.problems
    names = ("ENVIRONMENT", "DRY_RUN", "AWS_REGION", "CONNECT_TIMEOUT", "AWS_MAX_ATTEMPTS")
    for name in (*names, "ASSUME_ROLE_ARN"):
        assert sum(problem.startswith(name) for problem in problems) == 1, name


def test_empty_variables_count_as_unset() -> None:
    settings, _ = load({"DRY_RUN": "", "ENVIRONMENT": ""})
    assert settings.dry_run is True
    assert settings.environment == "dev"


# Every (setting, variable) pair of the common and the job's settings.
EVERY_VARIABLE = [
    (row, name) for row in (*config.COMMON_SETTINGS, *job.SETTINGS) for name in row.env
]


def outcome(env: Mapping[str, str]) -> tuple[config.Settings, job.JobSettings] | ConfigError:
    try:
        return config.load(build_parser(job).parse_args([]), env, job.JobSettings, job.SETTINGS)
    except ConfigError as error:
        return error


@pytest.mark.parametrize(("row", "name"), EVERY_VARIABLE, ids=[n for _, n in EVERY_VARIABLE])
def test_every_setting_empty_is_unset_blank_is_refused(row: config.Setting, name: str) -> None:
    base = {var: value for var, value in JOB_ENV.items() if var != name}
    empty, unset = outcome({**base, name: ""}), outcome(base)
    if isinstance(unset, ConfigError):
        assert isinstance(empty, ConfigError)
        assert empty.problems == unset.problems
    else:
        assert empty == unset
    for blank in (" ", "\t", " \n "):
        refused = outcome({**base, name: blank})
        assert isinstance(refused, ConfigError), (name, blank)
        assert any(p.startswith(row.describe()) and "blank" in p for p in refused.problems)


@pytest.mark.parametrize(("row", "name"), EVERY_VARIABLE, ids=[n for _, n in EVERY_VARIABLE])
@pytest.mark.parametrize("separators", [",", " , ", ",,,"])
def test_every_setting_of_only_separators_is_refused_or_a_real_value(
    row: config.Setting, name: str, separators: str
) -> None:
    """Separators never parse to "nothing": either refused, naming the variable,
    or (a key prefix, a profile name) taken as the text it is."""
    loaded = outcome({**JOB_ENV, name: separators})
    if isinstance(loaded, ConfigError):
        assert any(p.startswith(row.describe()) for p in loaded.problems), loaded.problems
        return
    settings, job_settings = loaded
    where = settings if row in config.COMMON_SETTINGS else job_settings
    value = getattr(where, row.name)
    assert value not in (None, (), "", [])
    assert not isinstance(value, tuple | list), f"{name}: a list from separators only"


def not_utf8(valid: str) -> str:
    """``valid`` with a byte that is not UTF-8 in it, as Python reads one from a
    variable or an argument (surrogateescape); built at run time, so no
    string constant of this file holds a lone surrogate."""
    return valid[:1] + bytes([0xFF]).decode("utf-8", "surrogateescape") + valid[1:]


# A value each variable would take (the job's own, where JOB_ENV has one).
TAKEN = {"ENVIRONMENT": "dev", "AWS_PROFILE": "ops", **JOB_ENV}


@pytest.mark.parametrize(("row", "name"), EVERY_VARIABLE, ids=[n for _, n in EVERY_VARIABLE])
def test_every_setting_holding_a_byte_that_is_not_utf8_is_refused_naming_it(
    row: config.Setting, name: str
) -> None:
    """Refused with exit 1 like any bad value, never handed to a validator
    that encodes it (exit 99)."""
    loaded = outcome({**JOB_ENV, name: not_utf8(TAKEN.get(name, row.default or "value"))})
    assert isinstance(loaded, ConfigError), name
    mine = [p for p in loaded.problems if p.startswith(row.describe() + ":")]
    assert mine, loaded.problems
    assert all("must be UTF-8 text; character 2 is the byte 0xff" in p for p in mine), mine


FLAGGED = [
    row for row in (*config.COMMON_SETTINGS, *job.SETTINGS) if row.flag and not row.flag_const
]


@pytest.mark.parametrize("row", FLAGGED, ids=[str(row.flag) for row in FLAGGED])
def test_every_flag_holding_a_byte_that_is_not_utf8_is_refused_naming_it(
    row: config.Setting,
) -> None:
    assert row.flag is not None
    with pytest.raises(ConfigError) as caught:
        load({}, row.flag, not_utf8(row.default or "value"))
    assert [p for p in caught.value.problems if p.startswith(row.describe() + ":")]


def test_a_lone_surrogate_from_an_event_is_refused_too() -> None:
    with pytest.raises(ConfigError) as caught:
        load({"ENVIRONMENT": "d" + chr(0xD800)})
    (problem,) = caught.value.problems
    assert problem.startswith("ENVIRONMENT: must be UTF-8 text; character 2 is a lone surrogate")


@pytest.mark.parametrize("value", [",", " , ", " "])
def test_an_allow_list_of_only_separators_is_refused_not_switched_off(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load({"ALLOWED_ACCOUNT_IDS": value})
    assert [p for p in caught.value.problems if p.startswith("ALLOWED_ACCOUNT_IDS")]


def test_a_blank_flag_is_refused_and_an_empty_one_is_unset() -> None:
    with pytest.raises(ConfigError) as caught:
        load({}, "--region", " ")
    assert caught.value.problems[0].startswith("AWS_REGION / AWS_DEFAULT_REGION / --region")
    settings, _ = load({"AWS_REGION": "eu-west-1"}, "--region", "")
    assert settings.region == "eu-west-1"


def parses_to_a_whole_number(row: config.Setting) -> bool:
    """Whether the row is an integer setting: its default (or "1") reads as an int."""
    for raw in (row.default, "1"):
        if raw is None:
            continue
        try:
            value = row.parse(raw)
        except validate.InvalidValue:
            continue
        return type(value) is int
    return False


INTEGER_ROWS = [
    row for row in (*config.COMMON_SETTINGS, *job.SETTINGS) if parses_to_a_whole_number(row)
]
INTEGER_FLAGS = [row for row in INTEGER_ROWS if row.flag]
# More digits than Python's int() reads (4,300 by default, sys.get_int_max_str_digits).
HUGE = "9" * 5000


def test_the_integer_settings_are_found() -> None:
    names = {row.env[0] for row in INTEGER_ROWS}
    assert {"AWS_MAX_ATTEMPTS", "MAX_WORKERS", "MAX_PARALLEL_TARGETS"} <= names


def refused_with_the_others(result: CliRun, row: config.Setting) -> None:
    """Exit 1, the setting named with its length, and the other problem
    (ENVIRONMENT=qa) reported in the same breath; no traceback."""
    assert result.code == 1, result.stderr
    (error,) = [line for line in result.lines if line["level"] == "ERROR"]
    mine = [p for p in error["problems"] if p.startswith(row.describe() + ":")]
    assert mine, error["problems"]
    assert all("got a number of 5000 digits" in p for p in mine), mine
    assert [p for p in error["problems"] if p.startswith("ENVIRONMENT:")]
    assert "Traceback" not in result.stderr
    assert "unexpected" not in " ".join(result.messages())


@pytest.mark.parametrize("row", INTEGER_ROWS, ids=[row.env[0] for row in INTEGER_ROWS])
def test_a_number_of_thousands_of_digits_by_variable_is_refused_with_the_rest(
    run_cli: RunCli, row: config.Setting
) -> None:
    refused_with_the_others(run_cli(env={**JOB_ENV, row.env[0]: HUGE, "ENVIRONMENT": "qa"}), row)


@pytest.mark.parametrize("row", INTEGER_FLAGS, ids=[str(row.flag) for row in INTEGER_FLAGS])
def test_a_number_of_thousands_of_digits_by_flag_is_refused_with_the_rest(
    run_cli: RunCli, row: config.Setting
) -> None:
    assert row.flag is not None
    refused_with_the_others(run_cli(row.flag, HUGE, env={**JOB_ENV, "ENVIRONMENT": "qa"}), row)


@pytest.mark.parametrize(("row", "name"), EVERY_VARIABLE, ids=[n for _, n in EVERY_VARIABLE])
def test_no_setting_crashes_on_a_number_of_thousands_of_digits(
    row: config.Setting, name: str
) -> None:
    """Refused naming the setting, or (a profile name, a key prefix) taken as text."""
    loaded = outcome({**JOB_ENV, name: HUGE})
    if isinstance(loaded, ConfigError):
        assert any(p.startswith(row.describe() + ":") for p in loaded.problems), loaded.problems
        return
    settings, job_settings = loaded
    where = settings if row in config.COMMON_SETTINGS else job_settings
    assert getattr(where, row.name) == HUGE


# Endpoints botocore refuses when it makes a client (a ValueError, exit 99,
# before this check): a non-breaking space in the host, a label of 64, a
# host of 256 (its dot counted), a % escape, a label that is a hyphen; and
# a port of more digits than int() reads, which botocore's signer meets at
# the first call.
LONG_PORT = "http://127.0.0.1:" + "0" * 5000 + "5000"
BAD_ENDPOINTS = [
    LONG_PORT,
    "http://a\u00a0b.example.com/",
    "http://" + "a" * 64 + ".example.com/",
    "http://" + ".".join(["a" * 63] * 4) + "./",
    "http://%zz/",
    "http://-/",
    "https://-.example.com:443",
]
ENDPOINT_VARIABLES = [
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
]


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("name", ENDPOINT_VARIABLES)
@pytest.mark.parametrize("url", BAD_ENDPOINTS)
def test_an_endpoint_botocore_would_refuse_is_refused_naming_the_variable(
    run_cli: RunCli,
    api_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    url: str,
) -> None:
    monkeypatch.setenv(name, url)  # where botocore reads it
    result = run_cli(env={**JOB_ENV, "ENVIRONMENT": "qa"})
    assert result.code == 1, result.stderr
    assert api_calls == []
    (error,) = [line for line in result.lines if line["level"] == "ERROR"]
    assert [p for p in error["problems"] if p.startswith(f"{name}: must be an http")]
    assert [p for p in error["problems"] if p.startswith("ENVIRONMENT:")]  # with the rest
    assert f"error: {name}: " in result.stderr


def test_an_empty_service_endpoint_is_unset_and_a_good_one_passes() -> None:
    load({"AWS_ENDPOINT_URL_STS": "", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:5000"})
    with pytest.raises(ConfigError) as caught:
        load({"AWS_ENDPOINT_URL_STS": " "})
    assert caught.value.problems[0].startswith("AWS_ENDPOINT_URL_STS: ")


# Were a refusal to let the run go on, its calls would fail at once, here.
NOWHERE = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}


def test_these_refusals_do_not_import_botocore() -> None:
    """The refusal path stays light: the endpoint rule is botocore's, not botocore."""
    package = "{{ cookiecutter.package_name }}"
    env = {**JOB_ENV, **NOWHERE, "AWS_ENDPOINT_URL_STS": "http://-/", "MAX_WORKERS": HUGE}
    program = (
        # As the console script does: a job written for 0.7.0 imports by the old names.
        f"import sys; from {package}.runtime.run import moved; moved.install({package!r}); "
        f"from {package} import job; from {package}.runtime.run.cli import main; "
        f"rc = main(job, [], {env!r}); "
        "print(rc, 'boto3' in sys.modules, 'botocore' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=False
    )
    assert done.stderr.strip().splitlines()[-1] == "1 False False"

# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""Settings from the environment, overridden by flags, validated in one pass.

The same code runs in dev, staging and prod with only the environment
changed. Each setting is declared once, in a ``Setting`` row that names its
variable, flag, default and validator; ``load`` reads every row, collects
every problem, and raises one ``ConfigError`` naming them all before any AWS
call is made. Defaults are text and pass through the same validator as input.

An empty value means unset (deploy stacks pass optional settings that way).
A value that is not text (a byte that is not UTF-8, which Python reads as
a lone surrogate) is refused for every setting, naming it, before the
setting's own validator sees it.

A value that is set but blank, or a list of only separators, is refused: it
is a typo or an unset shell variable, and read as "no value" it would switch
a guard off (an empty ALLOWED_ACCOUNT_IDS allows every account).

``AWS_ENDPOINT_URL_<SERVICE>`` (one service's endpoint, which botocore reads
itself) is not a setting of the script, but each one set is checked like
``AWS_ENDPOINT_URL`` and reported with the rest: botocore would refuse a bad
one only when it makes that service's client.

A job setting declared with ``placeholders`` may contain ``{account}`` and
``{region}``; each target of the run gets its own value (S3 bucket names are
global, so a bucket per account needs the account in its name). The value is
validated at load time with every region the run will visit.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ..outcome.errors import ConfigError
from . import validate

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = [
    "COMMON_SETTINGS",
    "SAMPLE_ACCOUNT",
    "Setting",
    "Settings",
    "add_flags",
    "for_target",
    "load",
]

DEFAULT_REGION = {{ cookiecutter.aws_region | tojson }}
DEFAULT_ALLOWED_ACCOUNT_IDS = {{ cookiecutter.allowed_account_ids | tojson }}
ENVIRONMENTS = ("dev", "staging", "prod")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("auto", "json", "text")
RETRY_MODES = ("standard", "adaptive", "legacy")
MAX_BACKOFF_SECONDS = 20  # botocore's cap on the wait between retries
SERVICE_ENDPOINT_PREFIX = "AWS_ENDPOINT_URL_"  # AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_STS, ...
ACCOUNT_PLACEHOLDER = "{account}"
REGION_PLACEHOLDER = "{region}"
SAMPLE_ACCOUNT = "000000000000"  # every account id has 12 digits, so lengths match
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")

J = TypeVar("J", bound="DataclassInstance")


@dataclass(frozen=True)
class Setting:
    """One setting: where it is read from, its default, and how it is checked."""

    name: str  # dataclass field, and argparse dest when it has a flag
    env: tuple[str, ...]  # environment variables, the first one set wins
    parse: Callable[[str], Any]
    default: str | None = None  # text, validated like any other input
    flag: str | None = None
    help: str = ""
    required: bool = False
    flag_const: Any = None  # set for a switch flag (--include-versions) that stores this
    placeholders: bool = False  # may contain {account} and {region}, filled in per target
    unique_per_target: bool = False  # must differ between targets (a global name)

    def describe(self) -> str:
        where = " / ".join(filter(None, (*self.env, self.flag)))
        return where or self.name


@dataclass(frozen=True)
class Settings:
    environment: Literal["dev", "staging", "prod"]
    dry_run: bool
    log_level: str
    log_format: Literal["auto", "json", "text"]
    region: str
    profile: str | None
    assume_role_arn: str | None
    allowed_account_ids: tuple[str, ...]
    connect_timeout: float
    read_timeout: float
    max_attempts: int
    retry_mode: Literal["standard", "adaptive", "legacy"]
    max_workers: int
    allow_long_term_credentials: bool
    endpoint_url: str | None  # validated here; botocore reads AWS_ENDPOINT_URL itself
    mfa_serial: str | None
    mfa_token_code: str | None
    target_accounts: tuple[str, ...] | Literal["organization"] | None
    target_role_name: str | None
    target_regions: tuple[str, ...] | None
    max_parallel_targets: int

    @property
    def fans_out(self) -> bool:
        """Whether the run visits targets (other accounts, or several regions)."""
        return self.target_accounts is not None or self.target_regions is not None

    def regions(self) -> tuple[str, ...]:
        return self.target_regions or (self.region,)

    def worst_case_call_seconds(self) -> float:
        """The longest one API call may take: every attempt times out, and
        botocore waits its longest backoff before each retry (2, 4, 8, ...
        seconds, capped at 20). botocore's read timeout is per socket read,
        so this holds only because the watchdog ends a run whose call (or
        credential lookup) takes longer."""
        per_attempt = self.connect_timeout + self.read_timeout
        backoff = sum(min(MAX_BACKOFF_SECONDS, 1 << retry) for retry in range(1, self.max_attempts))
        return self.max_attempts * per_attempt + backoff


def _text(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise validate.InvalidValue("must not be empty")
    return value


COMMON_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "environment",
        ("ENVIRONMENT",),
        lambda raw: validate.choice(raw, ENVIRONMENTS),
        default="dev",
        help="deployment stage",
    ),
    # The --apply / --dry-run pair is added by the CLI; it shares this dest.
    Setting("dry_run", ("DRY_RUN",), validate.boolean, default="true"),
    Setting(
        "log_level",
        ("LOG_LEVEL",),
        lambda raw: validate.choice(raw, LOG_LEVELS),
        default="INFO",
        flag="--log-level",
        help="log level",
    ),
    Setting(
        "log_format",
        ("LOG_FORMAT",),
        lambda raw: validate.choice(raw, LOG_FORMATS),
        default="auto",
        flag="--log-format",
        help="json lines, readable text, or auto: text at a terminal, json elsewhere",
    ),
    Setting(
        "region",
        ("AWS_REGION", "AWS_DEFAULT_REGION"),
        validate.region,
        default=DEFAULT_REGION,
        flag="--region",
        help="AWS region",
    ),
    Setting("profile", ("AWS_PROFILE",), _text, flag="--profile", help="AWS profile name"),
    Setting("assume_role_arn", ("ASSUME_ROLE_ARN",), validate.role_arn),
    Setting(
        "allowed_account_ids",
        ("ALLOWED_ACCOUNT_IDS",),
        validate.account_ids,
        default=DEFAULT_ALLOWED_ACCOUNT_IDS,
    ),
    Setting(
        "connect_timeout",
        ("CONNECT_TIMEOUT",),
        lambda raw: validate.number(raw, minimum=0.1, maximum=300),
        default="5",
    ),
    Setting(
        "read_timeout",
        ("READ_TIMEOUT",),
        lambda raw: validate.number(raw, minimum=0.1, maximum=900),
        default="15",
    ),
    Setting(
        "max_attempts",
        ("AWS_MAX_ATTEMPTS",),
        lambda raw: validate.integer(raw, minimum=1, maximum=20),
        default="4",
    ),
    Setting(
        "retry_mode",
        ("AWS_RETRY_MODE",),
        lambda raw: validate.choice(raw, RETRY_MODES),
        default="standard",
    ),
    Setting(
        "max_workers",
        ("MAX_WORKERS",),
        lambda raw: validate.integer(raw, minimum=1, maximum=32),
        default="4",
        flag="--max-workers",
        help="parallel API calls at most (the HTTP pool is sized to match)",
    ),
    Setting(
        "allow_long_term_credentials",
        ("ALLOW_LONG_TERM_CREDENTIALS",),
        validate.boolean,
        default="false",
    ),
    Setting("endpoint_url", ("AWS_ENDPOINT_URL",), validate.endpoint_url),
    Setting("mfa_serial", ("MFA_SERIAL",), validate.mfa_serial),
    Setting("mfa_token_code", ("MFA_TOKEN_CODE",), validate.mfa_code),
    Setting(
        "target_accounts",
        ("TARGET_ACCOUNTS",),
        validate.target_accounts,
        flag="--target-accounts",
        help="run in these accounts (comma-separated ids, or 'organization')",
    ),
    Setting("target_role_name", ("TARGET_ROLE_NAME",), validate.role_name),
    Setting(
        "target_regions",
        ("TARGET_REGIONS",),
        validate.regions,
        flag="--target-regions",
        help="run in these regions (comma-separated; default the configured region)",
    ),
    Setting(
        "max_parallel_targets",
        ("MAX_PARALLEL_TARGETS",),
        lambda raw: validate.integer(raw, minimum=1, maximum=64),
        default="4",
    ),
)


def add_flags(parser: argparse.ArgumentParser, settings: Sequence[Setting]) -> None:
    """Add a flag for every setting that has one; help names the variable too."""
    for setting in settings:
        if setting.flag is None:
            continue
        details = ", ".join(
            filter(
                None,
                (
                    f"env {' or '.join(setting.env)}" if setting.env else "",
                    "required" if setting.required else "",
                    f"default {setting.default!r}" if setting.default else "",
                ),
            )
        )
        text = f"{setting.help} ({details})" if details else setting.help
        if setting.flag_const is not None:
            parser.add_argument(
                setting.flag,
                dest=setting.name,
                action="store_const",
                const=setting.flag_const,
                help=text,
            )
        else:
            parser.add_argument(
                setting.flag, dest=setting.name, metavar=setting.name.upper(), help=text
            )


def load(
    args: argparse.Namespace,
    env: Mapping[str, str],
    job_type: Callable[..., J],
    job_settings: Sequence[Setting],
    *,
    regional: bool = True,
) -> tuple[Settings, J]:
    """Read and validate the common and the job's settings, or raise ConfigError.

    ``regional`` is false for a job on a global service (IAM): it runs once
    per account, so TARGET_REGIONS is one more problem to report with the rest.
    """
    common, problems = _read(COMMON_SETTINGS, args, env)
    if not regional and common.get("target_regions") is not None:
        problems.append("TARGET_REGIONS: this job's service is global; it runs once per account")
        common["target_regions"] = None  # checked no further: it is refused
    regions = common.get("target_regions") or (common.get("region") or DEFAULT_REGION,)
    specific, job_problems = _read(job_settings, args, env, regions)
    problems += job_problems + _target_problems(common, specific, job_settings)
    problems += _service_endpoint_problems(env)
    if problems:
        # Two rows may read one variable (a job's derived value): say each problem once.
        raise ConfigError(list(dict.fromkeys(problems)))
    return Settings(**common), job_type(**specific)


def for_target(job_settings: J, rows: Sequence[Setting], account: str, region: str) -> J:
    """The job's settings for one target: placeholders filled in and validated."""
    changes: dict[str, Any] = {}
    for row in rows:
        value = getattr(job_settings, row.name)
        if row.placeholders and isinstance(value, str):
            try:
                changes[row.name] = row.parse(_fill(value, account, region))
            except validate.InvalidValue as error:
                raise ConfigError([f"{row.describe()}: {error}"]) from None
    return dataclasses.replace(job_settings, **changes)


def _fill(template: str, account: str, region: str) -> str:
    return template.replace(ACCOUNT_PLACEHOLDER, account).replace(REGION_PLACEHOLDER, region)


def _service_endpoint_problems(env: Mapping[str, str]) -> list[str]:
    """Check every ``AWS_ENDPOINT_URL_<SERVICE>`` set, whatever the service:
    botocore reads them itself; an empty one is unset, as botocore reads it."""
    problems: list[str] = []
    for name in sorted(env):
        if name.startswith(SERVICE_ENDPOINT_PREFIX) and env[name] != "":
            try:
                validate.endpoint_url(validate.text(env[name]))
            except validate.InvalidValue as error:
                problems.append(f"{name}: {error}")
    return problems


def _target_problems(
    common: Mapping[str, Any], specific: Mapping[str, Any], rows: Sequence[Setting]
) -> list[str]:
    """Checks that span settings: the role for the targets, the allow-list, unique names."""
    problems: list[str] = []
    accounts = common.get("target_accounts")
    if accounts is not None and not common.get("target_role_name"):
        problems.append("TARGET_ROLE_NAME: is required with TARGET_ACCOUNTS")
    if accounts is None and common.get("target_role_name"):
        problems.append("TARGET_ROLE_NAME: is only used with TARGET_ACCOUNTS")
    allowed = common.get("allowed_account_ids") or ()
    if allowed and isinstance(accounts, tuple):
        outside = [account for account in accounts if account not in allowed]
        if outside:
            problems.append(
                f"TARGET_ACCOUNTS: {', '.join(outside)} not in ALLOWED_ACCOUNT_IDS; "
                "refusing to plan a run there"
            )
    several_accounts = accounts == validate.ORGANIZATION or (
        isinstance(accounts, tuple) and len(accounts) > 1
    )
    several_regions = len(common.get("target_regions") or ()) > 1
    for row in rows:
        value = specific.get(row.name)
        if not (row.unique_per_target and isinstance(value, str)):
            continue
        if several_accounts and ACCOUNT_PLACEHOLDER not in value:
            problems.append(
                f"{row.describe()}: must differ per target; with several target accounts "
                f"it must contain {ACCOUNT_PLACEHOLDER}"
            )
        if several_regions and REGION_PLACEHOLDER not in value:
            problems.append(
                f"{row.describe()}: must differ per target; with several target regions "
                f"it must contain {REGION_PLACEHOLDER}"
            )
    return problems


def _read(
    settings: Sequence[Setting],
    args: argparse.Namespace,
    env: Mapping[str, str],
    regions: Sequence[str] = (),
) -> tuple[dict[str, Any], list[str]]:
    values: dict[str, Any] = {}
    problems: list[str] = []
    for setting in settings:
        raw = getattr(args, setting.name, None)
        if raw is not None and not isinstance(raw, str):
            values[setting.name] = raw  # already typed by argparse (--apply)
            continue
        if raw == "":
            raw = None  # an empty value means unset, from a flag as from a variable
        if raw is None:
            raw = next((env[name] for name in setting.env if env.get(name, "") != ""), None)
        refused = _unusable(raw)
        if refused:
            problems.append(f"{setting.describe()}: {refused}")
            continue
        if raw is None:
            raw = setting.default
        if raw is None:
            if setting.required:
                problems.append(f"{setting.describe()}: is required")
            values[setting.name] = None
            continue
        try:
            if setting.placeholders:
                values[setting.name] = _parse_template(setting, raw, regions)
            else:
                values[setting.name] = setting.parse(raw)
        except validate.InvalidValue as error:
            problems.append(f"{setting.describe()}: {error}")
    return values, problems


def _unusable(raw: str | None) -> str:
    """Why ``raw`` is refused whatever the setting, or "": set but blank (a
    typo or an unset shell variable, never a choice), or not text (a byte
    that is not UTF-8, which no validator could encode)."""
    if raw is None:
        return ""
    if not raw.strip():
        return f"is set but blank ({raw!r}); leave it empty or unset it to use the default"
    try:
        validate.text(raw)
    except validate.InvalidValue as error:
        return str(error)
    return ""


def _parse_template(setting: Setting, raw: str, regions: Sequence[str]) -> str:
    """Validate a value with placeholders as every target will see it; keep the template."""
    unknown = sorted(set(_PLACEHOLDER.findall(raw)) - {ACCOUNT_PLACEHOLDER, REGION_PLACEHOLDER})
    if unknown:
        raise validate.InvalidValue(
            f"unknown placeholder {', '.join(unknown)}; "
            f"use {ACCOUNT_PLACEHOLDER} or {REGION_PLACEHOLDER}"
        )
    value = raw.strip()
    for region in regions:
        setting.parse(_fill(value, SAMPLE_ACCOUNT, region))
    return value

# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""The one place AWS sessions and clients are made.

Why it exists: every client must carry the same timeouts, retry policy and
app id, and credentials must only ever come from the default chain, a named
profile, an assumed role or Secrets Manager, never from code. Funnelling all
clients through ``Clients`` makes that true by construction.

Assumed-role credentials use botocore's own fetcher and refreshable
credentials, so a long run keeps working after the first hour. The role
session carries a policy rendered from the job's declared IAM actions, so it
can do no more than the job needs whatever the role allows: each action only
on the run's own resources (its bucket, prefix, topic).
``AWS_ENDPOINT_URL`` (a local moto server, say) is honoured by botocore;
so are ``AWS_ENDPOINT_URL_<SERVICE>`` and a profile's ``endpoint_url`` in the
AWS config file, which every session checks as ``config`` checks the
variables, before its first client (see ``configured_endpoint_problems``).

Every session is made for the run's profile (``--profile``, ``AWS_PROFILE``),
a target's too, so the profile's settings apply to every client. Every client
on it, the ones botocore makes itself to fetch a profile's credentials (its
role's STS, SSO) included, carries the run's timeouts, retries and app id:
botocore never reads ``AWS_MAX_ATTEMPTS``, ``AWS_RETRY_MODE`` or a profile's
``max_attempts`` and ``retry_mode`` again, after ``config`` accepted (and
normalised) what it would refuse. A profile's own value botocore could not
read is refused (``configured_retry_problems``).

Credentials that cannot be had from where the run was pointed (a profile's
``credential_process`` that fails, an MFA prompt with no terminal) raise
``CredentialError`` naming the profile, exit 2: ``Clients.loading_credentials``
is the one place that knows what botocore raises then.

Before any work, ``Clients.guard`` asks STS who we are and refuses the wrong
account, and in prod refuses long-term keys and a missing allow-list.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    CredentialProvider,
    CredentialResolver,
    Credentials,
    DeferredRefreshableCredentials,
    ReadOnlyCredentials,
)
from botocore.exceptions import (
    CredentialRetrievalError,
    InvalidConfigError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    RefreshWithMFAUnsupportedError,
    SSOError,
    TokenRetrievalError,
    UnknownCredentialError,
)
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from ..outcome.errors import ConfigError, CredentialError, SafetyRefusal
from ..output import logs
from ..settings import validate
from ..settings.config import Settings
from .watchdog import Watchdog

if TYPE_CHECKING:
    from mypy_boto3_organizations import OrganizationsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sts import STSClient

__all__ = [
    "Clients",
    "Identity",
    "client_config",
    "configured_endpoint_problems",
    "configured_retry_problems",
    "parse_timestamp",
    "partition_of",
    "read_json_secret",
    "read_secret",
    "session_policy",
]

APP_ID = {{ cookiecutter.project_slug | tojson }}
MAX_POOL_CONNECTIONS = 10
_SESSION_NAME_UNSAFE = re.compile(r"[^\w+=,.@-]")
_RESOURCE_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_IAM_WILDCARD = re.compile(r"[*?$]")
# The timestamps S3 lists (LastModified) and STS returns: 2026-01-31T12:00:00.000Z
_ISO_8601 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)", re.ASCII)

# botocore's retry modes, spelt as it takes them (in lower case; ``config``
# also takes them in upper case, and passes them on lower-cased).
BOTOCORE_RETRY_MODES = ("legacy", "standard", "adaptive")
# What botocore raises when the credentials a profile names cannot be had:
# its own errors (a role with no source or two, a source profile that is
# missing, SSO not logged in), and what escapes it unwrapped: from a
# ``credential_process`` that cannot be run or has bad quoting or none
# (OSError, ValueError, IndexError), prints no JSON or JSON that is not an
# object of credentials (ValueError, AttributeError, TypeError, KeyError);
# from a web identity token file that cannot be read (OSError); and from
# an MFA prompt with nothing to read the code from (EOFError).
UNUSABLE_CREDENTIALS: tuple[type[Exception], ...] = (
    CredentialRetrievalError,
    InvalidConfigError,
    PartialCredentialsError,
    ProfileNotFound,
    RefreshWithMFAUnsupportedError,
    SSOError,
    TokenRetrievalError,
    UnknownCredentialError,
    OSError,
    ValueError,
    LookupError,
    AttributeError,
    TypeError,
    EOFError,
)
# The settings of a profile that say where its credentials come from: an
# error message names those the profile has.
CREDENTIAL_SETTINGS = (
    "aws_access_key_id",
    "credential_process",
    "role_arn",
    "source_profile",
    "credential_source",
    "web_identity_token_file",
    "mfa_serial",
    "sso_session",
    "sso_start_url",
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    account: str
    arn: str


def client_config(settings: Settings) -> Config:
    """Timeouts, retries and app id that every client of the run shares,
    its region and a connection pool sized for the job's workers."""
    options: dict[str, Any] = {
        "region_name": settings.region,
        "max_pool_connections": max(MAX_POOL_CONNECTIONS, settings.max_workers + 2),
    }
    return session_config(settings).merge(Config(**options))


def session_config(settings: Settings) -> Config:
    """Timeouts, retries and app id: the default of every client a session
    makes, botocore's own included (see ``_botocore_session``).

    Explicit values here win over botocore's environment variables and the
    profile, so the script reads ``AWS_MAX_ATTEMPTS`` and ``AWS_RETRY_MODE``
    itself (see ``config``) and passes them on: they are honoured, validated
    first, and botocore never parses them again (it would refuse some that
    ``config`` takes: leading zeros past int()'s digit limit, upper case).
    """
    options: dict[str, Any] = {
        "connect_timeout": settings.connect_timeout,
        "read_timeout": settings.read_timeout,
        "retries": {"mode": settings.retry_mode, "total_max_attempts": settings.max_attempts},
        "user_agent_appid": APP_ID[:50],  # not in botocore-stubs' signature yet
    }
    return Config(**options)


def parse_timestamp(value: str | float) -> datetime:
    """Parse a response's timestamp as botocore does, the common shape without dateutil.

    botocore reads every timestamp with dateutil, which took most of the CPU
    time of listing a large bucket (a ``LastModified`` per key). ISO 8601 with
    an offset goes to ``datetime.fromisoformat``; anything else (RFC 822
    headers, epoch numbers, an impossible date) to botocore's own parser, so
    the results and errors are botocore's.
    """
    if isinstance(value, str) and _ISO_8601.fullmatch(value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    parsed: datetime = botocore_parse_timestamp(value)  # type: ignore[arg-type]  # numbers too
    return parsed


def _botocore_session(settings: Settings) -> botocore.session.Session:
    """A botocore session for the run's profile whose clients parse
    timestamps with ``parse_timestamp`` and carry ``session_config``, the
    ones botocore makes itself to fetch credentials included; refused
    (ConfigError) if the profile holds an endpoint or a retry setting
    botocore would refuse."""
    session = botocore.session.Session(profile=settings.profile)
    problems = configured_endpoint_problems(session) + configured_retry_problems(session)
    if problems:
        raise ConfigError(problems)
    session.set_default_client_config(session_config(settings))
    factory = session.get_component("response_parser_factory")
    factory.set_parser_defaults(timestamp_parser=parse_timestamp)
    return session


def configured_endpoint_problems(session: botocore.session.Session) -> list[str]:
    """The endpoint URLs the AWS config file gives the session's profile
    (its ``endpoint_url``, and each service's in its ``services`` section),
    checked like ``AWS_ENDPOINT_URL``, each problem naming the profile and
    the file.

    botocore refuses a bad one only when it makes a client, with an error
    that says nothing of where the value came from. Reading the profile
    parses the file: a malformed one raises botocore's ConfigParseError
    (exit 2, naming the file) here, before any call.
    """
    profile = session.get_scoped_config()
    name = session.profile or "default"
    path = os.path.expanduser(str(session.get_config_variable("config_file")))
    checks: list[tuple[str, object]] = []
    if "endpoint_url" in profile:
        checks.append((f"endpoint_url of profile {name!r} in {path}", profile["endpoint_url"]))
    services = profile.get("services")
    if isinstance(services, str):
        # A section the profile names that does not exist is botocore's to
        # report (InvalidConfigError, exit 2) when it makes a client.
        section = session.full_config.get("services", {}).get(services, {})
        for service, values in sorted(section.items()):
            if isinstance(values, Mapping) and "endpoint_url" in values:
                where = (
                    f"endpoint_url of {service} in services section {services!r} "
                    f"(profile {name!r}) in {path}"
                )
                checks.append((where, values["endpoint_url"]))
    problems: list[str] = []
    for where, value in checks:
        if value == "":
            continue  # unset, as botocore reads it
        if not isinstance(value, str):  # a nested block of settings
            problems.append(f"{where}: must be a URL, not a block of settings")
            continue
        try:
            validate.endpoint_url(value)
        except validate.InvalidValue as error:
            problems.append(f"{where}: {error}")
    return problems


def configured_retry_problems(session: botocore.session.Session) -> list[str]:
    """The profile's ``max_attempts`` and ``retry_mode`` that botocore could
    not read, each problem naming the profile and the file.

    The run's clients do not use them (``session_config`` decides every
    client's retries), but a value botocore cannot read is a broken profile
    that every other tool using it trips over: refused now, with where it is,
    rather than taken as if it were not there.
    """
    profile = session.get_scoped_config()
    name = session.profile or "default"
    path = os.path.expanduser(str(session.get_config_variable("config_file")))
    problems: list[str] = []
    where = f"of profile {name!r} in {path}"
    if "max_attempts" in profile:
        value = profile["max_attempts"]
        attempts = _whole_number(value) if isinstance(value, str) else None
        if attempts is None or attempts < 1:
            problems.append(
                f"max_attempts {where}: must be a whole number of at least 1 "
                f"(total attempts per call), got {_shown(value)}"
            )
    if "retry_mode" in profile:
        value = profile["retry_mode"]
        if value not in BOTOCORE_RETRY_MODES:
            problems.append(
                f"retry_mode {where}: must be one of {', '.join(BOTOCORE_RETRY_MODES)} "
                f"(in lower case), got {_shown(value)}"
            )
    return problems


def _whole_number(text: str) -> int | None:
    """The number botocore reads from ``text`` (with int()), or None where it cannot."""
    try:
        return int(text)
    except ValueError:  # not a number, or more digits than int() reads
        return None


def _shown(value: object) -> str:
    if isinstance(value, str):
        return validate.shown(value)
    return "a block of settings"


def session_policy(
    grants: Mapping[str, str], scopes: Sequence[Mapping[str, str | None]] | None = None
) -> str:
    """The inline session policy for AssumeRole: only the job's own actions,
    each only on its resource.

    ``grants`` maps an action to its resource, which may name placeholders
    (``{partition}``, ``{account}``, ``{region}``, a job setting's variable).
    With ``scopes`` (one mapping of placeholder to value per target the
    session serves) every placeholder is filled in with the run's own values,
    IAM's wildcards in a value (``*``, ``?``, ``$``) are escaped so they match
    only themselves, and a grant whose resource names an unset value is left
    out: the session can touch nothing outside this run's resources, even if
    the role allows more. Without ``scopes`` the placeholders stay as written
    (``iam-policy.json``, a policy to fill in).
    """
    by_resource: dict[str, set[str]] = {}
    for action, resource in grants.items():
        for filled in _resources(resource, scopes):
            by_resource.setdefault(filled, set()).add(action)
    statements = [
        {"Effect": "Allow", "Action": sorted(actions), "Resource": resource}
        for resource, actions in sorted(by_resource.items())
    ]
    # Keys sorted, as the template renders iam-policy.json: regenerating the
    # file with --print-iam-policy changes nothing that did not change.
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2, sort_keys=True)


def _resources(resource: str, scopes: Sequence[Mapping[str, str | None]] | None) -> set[str]:
    if scopes is None:
        return {resource}
    return {filled for scope in scopes if (filled := _fill_resource(resource, scope)) is not None}


def _fill_resource(resource: str, values: Mapping[str, str | None]) -> str | None:
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        value = values[match.group(1)]  # a KeyError here is a typo in IAM_ACTIONS
        if not value:
            missing.append(match.group(1))
            return ""
        return _IAM_WILDCARD.sub(lambda char: "${" + char.group(0) + "}", value)

    filled = _RESOURCE_PLACEHOLDER.sub(fill, resource)
    return None if missing else filled


def partition_of(region: str) -> str:
    """The ARN partition a region belongs to."""
    for prefix, partition in (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov")):
        if region.startswith(prefix):
            return partition
    return "aws"


def role_session_name(run_id: str) -> str:
    """Name the assumed-role session after the script and the run (CloudTrail shows it)."""
    return _SESSION_NAME_UNSAFE.sub("-", f"{APP_ID[:31]}-{run_id}")[:64]


class Clients:
    """Builds the run's session once and each client at most once.

    A target's ``Clients`` is made from the run's own (``source``): it reuses
    the source's credentials, or assumes ``role_arn`` with them through the
    source's STS client. Clients are safe to share between threads, sessions
    are not, so each target gets its own session. An assumed role's session
    is limited to ``grants`` filled in with ``scopes`` (see ``session_policy``).
    """

    def __init__(
        self,
        settings: Settings,
        run_id: str,
        grants: Mapping[str, str] | None = None,
        *,
        scopes: Sequence[Mapping[str, str | None]] | None = None,
        source: Clients | None = None,
        role_arn: str | None = None,
        watchdog: Watchdog | None = None,
    ) -> None:
        self.settings = settings
        self.run_id = run_id
        self.grants = dict(grants or {})
        self.scopes = scopes
        self.config = client_config(settings)
        self.source = source
        self.role_arn = role_arn
        self.watchdog = watchdog  # bounds every call of every client made here

    @functools.cached_property
    def session(self) -> boto3.Session:
        credentials: Credentials
        if self.source is None:
            base = _botocore_session(self.settings)
            self._watch(base)
            if self.settings.assume_role_arn is None:
                return boto3.Session(botocore_session=base, region_name=self.settings.region)
            with self.loading_credentials():
                source_credentials = base.get_credentials()
            credentials = self._assume_role(
                source_credentials,
                self.settings.assume_role_arn,
                functools.partial(
                    base.create_client, region_name=self.settings.region, config=self.config
                ),
            )
        else:
            credentials = self.source.credentials()
            if self.role_arn is not None:
                sts = self.source.sts  # a client is thread-safe; its session is not
                credentials = self._assume_role(
                    credentials, self.role_arn, lambda *_, **__: sts, mfa=False
                )
        # The run's profile, for its settings (endpoints, say): the
        # credentials are the ones made here, and no others.
        target = _botocore_session(self.settings)
        self._watch(target)
        resolver = CredentialResolver(providers=[_FixedCredentialsProvider(credentials)])
        target.register_component("credential_provider", resolver)
        return boto3.Session(botocore_session=target, region_name=self.settings.region)

    def _watch(self, session: botocore.session.Session) -> None:
        if self.watchdog is not None:
            self.watchdog.register(session)

    def credentials(self) -> Credentials:
        """The run's credentials as botocore holds them (a ``credential_process``
        runs here); a role's are fetched at their first use."""
        session = self.session
        with self.loading_credentials():
            credentials = session.get_credentials()
        if credentials is None:
            raise NoCredentialsError()
        return credentials

    def frozen_credentials(self) -> ReadOnlyCredentials:
        """The credentials' current values: a role's (a profile's ``role_arn``)
        are fetched here the first time, its MFA code asked for."""
        credentials = self.credentials()
        with self.loading_credentials():
            return credentials.get_frozen_credentials()

    @contextlib.contextmanager
    def loading_credentials(self) -> Iterator[None]:
        """Turn what botocore raises when the profile's credentials cannot be
        had (``UNUSABLE_CREDENTIALS``) into a ``CredentialError`` (exit 2)
        that names the profile, the settings it takes credentials from and its
        files. The one place that knows those exceptions: every credential
        lookup and fetch of the run goes through it. Errors AWS answers
        with (an AssumeRole denied) and network errors keep their own codes."""
        try:
            yield
        except UNUSABLE_CREDENTIALS as error:
            raise CredentialError(self._credential_problem(error)) from error

    def _credential_problem(self, error: BaseException) -> str:
        if isinstance(error, EOFError):
            reason = "it asks for an MFA code (mfa_serial) and there is no terminal to type it on"
        elif type(error).__module__.startswith("botocore."):  # its message says what failed
            reason = str(error)
        else:
            reason = f"{type(error).__name__}: {error}"
        profile = _profile_named(self.settings.profile)
        if profile:
            return f"{profile}: its credentials could not be loaded: {reason}"
        return f"credentials could not be loaded: {reason}"

    def _assume_role(
        self,
        source_credentials: Credentials | None,
        role_arn: str,
        client_creator: Callable[..., Any],
        *,
        mfa: bool = True,
    ) -> DeferredRefreshableCredentials:
        if source_credentials is None:
            raise NoCredentialsError()
        with self.loading_credentials():
            source_frozen = source_credentials.get_frozen_credentials()
        logs.register_secret(source_frozen.secret_key)
        logs.register_secret(source_frozen.token)
        fetcher = AssumeRoleCredentialFetcher(
            client_creator=client_creator,
            source_credentials=source_credentials,
            role_arn=role_arn,
            extra_args=self.assume_role_args(mfa=mfa),
            mfa_prompter=self._mfa_code,
        )

        def fetch() -> dict[str, Any]:
            with self.loading_credentials():  # refreshes too: the source's may fail then
                fetched: dict[str, Any] = fetcher.fetch_credentials()
            logs.register_secret(fetched.get("secret_key"))
            logs.register_secret(fetched.get("token"))
            return fetched

        return DeferredRefreshableCredentials(refresh_using=fetch, method="assume-role")

    def assume_role_args(self, *, mfa: bool = True) -> dict[str, Any]:
        args: dict[str, Any] = {"RoleSessionName": role_session_name(self.run_id)}
        if self.grants:
            args["Policy"] = session_policy(self.grants, self.scopes)
        if mfa and self.settings.mfa_serial:
            args["SerialNumber"] = self.settings.mfa_serial
        return args

    def _mfa_code(self, prompt: str) -> str:
        if self.settings.mfa_token_code:
            return self.settings.mfa_token_code
        if not sys.stdin.isatty():
            raise ConfigError(["MFA_TOKEN_CODE: required with MFA_SERIAL when not on a terminal"])
        return getpass.getpass(prompt)

    @functools.cached_property
    def s3(self) -> S3Client:
        return self.session.client("s3", config=self.config)

    @functools.cached_property
    def sts(self) -> STSClient:
        return self.session.client("sts", config=self.config)

    @functools.cached_property
    def sns(self) -> SNSClient:
        return self.session.client("sns", config=self.config)

    @functools.cached_property
    def organizations(self) -> OrganizationsClient:
        return self.session.client("organizations", config=self.config)

    @functools.cached_property
    def secretsmanager(self) -> SecretsManagerClient:
        return self.session.client("secretsmanager", config=self.config)

    def identity(self) -> Identity:
        """Ask STS who the credentials belong to (also proves they work)."""
        caller = self.sts.get_caller_identity()
        return Identity(account=caller["Account"], arn=caller["Arn"])

    def guard(self, *, expected_account: str | None = None, allow_list: bool = True) -> Identity:
        """Refuse to work where a mistake would hurt, before any other call.

        Logs who we are; refuses an account outside ALLOWED_ACCOUNT_IDS (the
        run's own credentials skip that check when they only hand out target
        roles: ``allow_list=False``) or other than ``expected_account``; and
        when applying in prod, requires an allow-list and refuses long-term
        credentials (an access key with no session token) unless
        ALLOW_LONG_TERM_CREDENTIALS=true.
        """
        settings = self.settings
        applying_in_prod = settings.environment == "prod" and not settings.dry_run
        if applying_in_prod and not settings.allowed_account_ids:
            raise SafetyRefusal("ENVIRONMENT=prod: applying requires ALLOWED_ACCOUNT_IDS")
        frozen = self.frozen_credentials()
        logs.register_secret(frozen.secret_key)
        logs.register_secret(frozen.token)
        identity = self.identity()
        log.info("resolved AWS identity", extra={"account": identity.account, "arn": identity.arn})
        if expected_account is not None and identity.account != expected_account:
            raise SafetyRefusal(
                f"credentials for account {expected_account} belong to {identity.account}; "
                "refusing to run"
            )
        allowed = settings.allowed_account_ids
        if allow_list and allowed and identity.account not in allowed:
            raise SafetyRefusal(
                f"account {identity.account} is not in ALLOWED_ACCOUNT_IDS "
                f"({', '.join(allowed)}); refusing to run"
            )
        if applying_in_prod and not frozen.token and not settings.allow_long_term_credentials:
            raise SafetyRefusal(
                "ENVIRONMENT=prod: refusing long-term credentials (an access key with no "
                "session token); use a role or SSO, or set ALLOW_LONG_TERM_CREDENTIALS=true"
            )
        return identity


def _profile_named(profile: str | None) -> str:
    """How a credential error names the profile, when one is involved: the
    one the run was given, or the default one if it holds credential
    settings; with its settings that say where credentials come from and
    the files that exist. Empty when no profile is involved (keys in the
    environment, a container's role)."""
    session = botocore.session.Session(profile=profile)
    name = session.profile
    try:
        settings = session.get_scoped_config()
    except Exception:  # noqa: BLE001 - a message must not fail: the profile is unreadable
        settings = {}
    keys = [key for key in CREDENTIAL_SETTINGS if key in settings]
    if name is None and not keys:
        return ""
    files = [
        path
        for variable in ("config_file", "credentials_file")
        if os.path.isfile(path := os.path.expanduser(str(session.get_config_variable(variable))))
    ]
    details = "; ".join(filter(None, (", ".join(keys), ", ".join(files))))
    return f"profile {name or 'default'!r}" + (f" ({details})" if details else "")


def read_secret(clients: Clients, secret_id: str) -> str:
    """Return a text secret. Its value is never logged or put in an error.

    GetSecretValue's answer never reaches a log (``secret_calls``); the value
    is registered for scrubbing before it is returned, and, when it is JSON,
    so is every string and number inside it, however deeply nested.
    """
    response = clients.secretsmanager.get_secret_value(SecretId=secret_id)
    if "SecretString" not in response:
        raise ConfigError([f"secret {secret_id!r}: holds binary data, expected text"])
    value = response["SecretString"]
    logs.register_secret(value)
    # Not JSON, or nested too deep to decode: the whole value is registered.
    with contextlib.suppress(ValueError, RecursionError):
        logs.register_secret_leaves(json.loads(value))
    return value


def read_json_secret(clients: Clients, secret_id: str) -> dict[str, Any]:
    """Return a JSON-object secret, such as database connection settings."""
    try:
        value = json.loads(read_secret(clients, secret_id))
    except json.JSONDecodeError:
        raise ConfigError([f"secret {secret_id!r}: is not valid JSON"]) from None
    if not isinstance(value, dict):
        raise ConfigError([f"secret {secret_id!r}: is JSON but not an object"])
    return value


class _RaisedRefreshFailure(logging.Filter):
    """Drops botocore's warning, with its traceback, that a mandatory refresh
    of credentials failed: botocore raises that failure right after, and
    the run reports it once, as a credential error naming the profile
    (``Clients.loading_credentials``). An advisory refresh that fails is
    not raised, so its warning stays: it is the only record of it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and record.args == ("mandatory",))


logging.getLogger("botocore.credentials").addFilter(_RaisedRefreshFailure())


class _FixedCredentialsProvider(CredentialProvider):
    """Hands botocore credentials made here (assumed-role, refreshable): a
    target's session holds it as its only provider, so nothing else (the
    environment's keys, the profile's own) can sign its calls."""

    METHOD = "assume-role"
    CANONICAL_NAME = "custom-assume-role"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Credentials:
        return self._credentials

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    CredentialProvider,
    Credentials,
    DeferredRefreshableCredentials,
)
from botocore.exceptions import NoCredentialsError
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from ..outcome.errors import ConfigError, SafetyRefusal
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

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    account: str
    arn: str


def client_config(settings: Settings) -> Config:
    """Timeouts, retries and app id that every client of the run shares.

    Explicit values here win over botocore's environment variables, so the
    script reads ``AWS_MAX_ATTEMPTS`` and ``AWS_RETRY_MODE`` itself (see
    ``config``) and passes them on: they are honoured, and validated first.
    """
    options: dict[str, Any] = {
        "region_name": settings.region,
        "connect_timeout": settings.connect_timeout,
        "read_timeout": settings.read_timeout,
        "retries": {"mode": settings.retry_mode, "total_max_attempts": settings.max_attempts},
        "user_agent_appid": APP_ID[:50],  # not in botocore-stubs' signature yet
        "max_pool_connections": max(MAX_POOL_CONNECTIONS, settings.max_workers + 2),
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


def _botocore_session(profile: str | None = None) -> botocore.session.Session:
    """A botocore session whose clients parse timestamps with ``parse_timestamp``,
    refused (ConfigError) if its profile names an endpoint botocore would refuse."""
    session = botocore.session.Session(profile=profile)
    problems = configured_endpoint_problems(session)
    if problems:
        raise ConfigError(problems)
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
            base = _botocore_session(profile=self.settings.profile)
            self._watch(base)
            if self.settings.assume_role_arn is None:
                return boto3.Session(botocore_session=base, region_name=self.settings.region)
            credentials = self._assume_role(
                base.get_credentials(),
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
        target = _botocore_session()
        self._watch(target)
        resolver = target.get_component("credential_provider")
        resolver.insert_before("env", _FixedCredentialsProvider(credentials))
        return boto3.Session(botocore_session=target, region_name=self.settings.region)

    def _watch(self, session: botocore.session.Session) -> None:
        if self.watchdog is not None:
            self.watchdog.register(session)

    def credentials(self) -> Credentials:
        credentials = self.session.get_credentials()
        if credentials is None:
            raise NoCredentialsError()
        return credentials

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
        frozen = self.credentials().get_frozen_credentials()
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


class _FixedCredentialsProvider(CredentialProvider):
    """Hands botocore credentials made here (assumed-role, refreshable) before anything else."""

    METHOD = "assume-role"
    CANONICAL_NAME = "custom-assume-role"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Credentials:
        return self._credentials

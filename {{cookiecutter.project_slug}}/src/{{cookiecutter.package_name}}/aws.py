"""The one place AWS sessions and clients are made.

Why it exists: every client must carry the same timeouts, retry policy and
app id, and credentials must only ever come from the default chain, a named
profile, an assumed role or Secrets Manager, never from code. Funnelling all
clients through ``Clients`` makes that true by construction.

Assumed-role credentials use botocore's own fetcher and refreshable
credentials, so a long run keeps working after the first hour.
``AWS_ENDPOINT_URL`` (a local moto server, say) is honoured by botocore.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import dataclass
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

from .config import Settings
from .errors import ConfigError, SafetyRefusal

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sts import STSClient

__all__ = ["Clients", "Identity", "client_config", "read_json_secret", "read_secret"]

APP_ID = {{ cookiecutter.project_slug | tojson }}
MAX_POOL_CONNECTIONS = 10
_SESSION_NAME_UNSAFE = re.compile(r"[^\w+=,.@-]")

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


def role_session_name(run_id: str) -> str:
    """Name the assumed-role session after the script and the run (CloudTrail shows it)."""
    return _SESSION_NAME_UNSAFE.sub("-", f"{APP_ID[:31]}-{run_id}")[:64]


class Clients:
    """Builds the run's session once and each client at most once."""

    def __init__(self, settings: Settings, run_id: str) -> None:
        self.settings = settings
        self.run_id = run_id
        self.config = client_config(settings)

    @functools.cached_property
    def session(self) -> boto3.Session:
        source = botocore.session.Session(profile=self.settings.profile)
        if self.settings.assume_role_arn is None:
            return boto3.Session(botocore_session=source, region_name=self.settings.region)
        target = botocore.session.Session()
        resolver = target.get_component("credential_provider")
        resolver.insert_before("env", _AssumedRoleProvider(self._assume_role(source)))
        return boto3.Session(botocore_session=target, region_name=self.settings.region)

    def _assume_role(self, source: botocore.session.Session) -> DeferredRefreshableCredentials:
        source_credentials = source.get_credentials()
        if source_credentials is None:
            raise NoCredentialsError()
        fetcher = AssumeRoleCredentialFetcher(
            client_creator=functools.partial(
                source.create_client, region_name=self.settings.region, config=self.config
            ),
            source_credentials=source_credentials,
            role_arn=str(self.settings.assume_role_arn),
            extra_args={"RoleSessionName": role_session_name(self.run_id)},
        )
        return DeferredRefreshableCredentials(
            refresh_using=fetcher.fetch_credentials, method="assume-role"
        )

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
    def secretsmanager(self) -> SecretsManagerClient:
        return self.session.client("secretsmanager", config=self.config)

    def identity(self) -> Identity:
        """Ask STS who the credentials belong to (also proves they work)."""
        caller = self.sts.get_caller_identity()
        return Identity(account=caller["Account"], arn=caller["Arn"])

    def check_account(self) -> Identity:
        """Log who we are, and refuse an account outside the allow-list."""
        identity = self.identity()
        log.info("resolved AWS identity", extra={"account": identity.account, "arn": identity.arn})
        allowed = self.settings.allowed_account_ids
        if allowed and identity.account not in allowed:
            raise SafetyRefusal(
                f"account {identity.account} is not in ALLOWED_ACCOUNT_IDS "
                f"({', '.join(allowed)}); refusing to run"
            )
        return identity


def read_secret(clients: Clients, secret_id: str) -> str:
    """Return a text secret. Its value is never logged or put in an error."""
    response = clients.secretsmanager.get_secret_value(SecretId=secret_id)
    if "SecretString" not in response:
        raise ConfigError([f"secret {secret_id!r}: holds binary data, expected text"])
    return response["SecretString"]


def read_json_secret(clients: Clients, secret_id: str) -> dict[str, Any]:
    """Return a JSON-object secret, such as database connection settings."""
    try:
        value = json.loads(read_secret(clients, secret_id))
    except json.JSONDecodeError:
        raise ConfigError([f"secret {secret_id!r}: is not valid JSON"]) from None
    if not isinstance(value, dict):
        raise ConfigError([f"secret {secret_id!r}: is JSON but not an object"])
    return value


class _AssumedRoleProvider(CredentialProvider):
    """Hands botocore the refreshable assumed-role credentials before anything else."""

    METHOD = "assume-role"
    CANONICAL_NAME = "custom-assume-role"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Credentials:
        return self._credentials

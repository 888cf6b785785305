"""The keys that keep this run going, which the audit never deactivates.

Why it is built this way:
- The audit never deactivates a key that keeps this run going: the key
  that signs it, and the keys behind its credentials (each hop of a
  ``source_profile`` chain, the credentials ``ASSUME_ROLE_ARN`` or a
  fan-out's target role was assumed with), read from the credentials the
  run holds, wherever botocore found them, not from the files again. Such
  a finding is reported as ``kept, in use by this run`` and still counts
  as a finding (exit 7).
- An IAM user's session credentials (GetSessionToken) do not say which of
  the user's keys made them: every key of that user is kept.
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.credentials import Credentials
    from mypy_boto3_sts import STSClient

    from .runtime.access.aws import Clients, Identity

__all__ = ["InUse", "credential_chain", "in_use"]

log = logging.getLogger(__name__)

# Why a key is kept (the report's ``kept_because``).
SIGNS_THIS_RUN = "signs this run"
BEHIND_THIS_RUN = "a long-term key behind this run's credentials"
SESSION_USER = (
    "its user signs this run with session credentials, and which of the user's keys "
    "made them cannot be told"
)
# An IAM user's ARN (a path may come before the name); STS answers it for
# the session credentials of a user (GetSessionToken).
_IAM_USER_ARN = re.compile(r"arn:[\w-]+:iam::(\d{12}):user/(?:.*/)?([^/]+)")


@dataclass(frozen=True)
class InUse:
    """The keys (and users) this run's own credentials depend on, each with why.

    ``users``: with an IAM user's session credentials (GetSessionToken)
    signing, STS names the user but not which of its keys made them, so
    every key of that user is kept.
    """

    keys: dict[str, str]
    users: dict[str, str] = field(default_factory=dict)

    def reason(self, user: str, access_key_id: str) -> str | None:
        return self.keys.get(access_key_id) or self.users.get(user)


def in_use(clients: Clients, caller: Identity) -> InUse:
    """Every key in the run's credential chain that the run can identify.

    Deactivating one of them would cut the run off mid-way (every later
    change fails, the report says ``planned`` for keys never touched) and
    lock out whatever else runs on it. The keys are read from the
    credentials the run holds (``credential_chain``), never from the files
    again: whatever botocore took them from (the environment, a profile's
    key, a ``credential_process``, ``BOTO_CONFIG``, ``AWS_CREDENTIAL_FILE``),
    and through every role assumed on the way (``ASSUME_ROLE_ARN``, a
    profile's ``role_arn``, each ``source_profile`` hop, a fan-out's target
    role) down to the credentials it was assumed with. The first signs the
    run; the others are behind it.

    A temporary (``ASIA``) key that is not an assumed role's may be an IAM
    user's session credentials (GetSessionToken): STS, asked with them
    (GetCallerIdentity, which needs no permission), names the user, but
    not which of its keys made them, so every key of that user in the
    audited account is kept.

    SSO, a web identity, a container or instance role, and session
    credentials made elsewhere have no long-term key the run can see: the
    job page (docs/job.md) says so.
    """
    keys: dict[str, str] = {}
    users: dict[str, str] = {}
    for depth, credentials in enumerate(credential_chain(clients.credentials())):
        frozen = credentials.get_frozen_credentials()
        key_id = frozen.access_key or ""
        keys.setdefault(key_id, SIGNS_THIS_RUN if depth == 0 else BEHIND_THIS_RUN)
        if not key_id.startswith("ASIA") or _role_fetcher(credentials) is not None:
            continue  # a long-term key, or a role's session: no user's key made it
        arn = caller.arn if depth == 0 else _caller_arn(clients, frozen)
        match = _IAM_USER_ARN.fullmatch(arn)
        if match and match.group(1) == caller.account:
            users.setdefault(match.group(2), SESSION_USER)
    return InUse(keys, users)


def credential_chain(credentials: Credentials) -> list[Credentials]:
    """The credentials that sign the run, then, while they are an assumed
    role's, the credentials that role was assumed with, and so on: each
    hop as botocore resolved it, down to the first.

    botocore keeps an assumed role's source credentials in the
    ``AssumeRoleCredentialFetcher`` that refreshes it (a profile's
    ``role_arn`` and ``source_profile`` hops, and the run's own
    ``ASSUME_ROLE_ARN`` and target roles, which ``aws.Clients`` assumes
    with the same fetcher). A role whose source cannot be found so is
    logged as a warning: the key behind it is then not protected."""
    chain: list[Credentials] = []
    current: Credentials | None = credentials
    while current is not None and not any(current is seen for seen in chain):
        chain.append(current)
        fetcher = _role_fetcher(current)
        if fetcher is None:
            if getattr(current, "method", None) == "assume-role":
                log.warning(
                    "the credentials this run's role was assumed with cannot be told: "
                    "the long-term key behind them is not protected"
                )
            break
        current = getattr(fetcher, "_source_credentials", None)
    return chain


# How deep to look inside a refresh function for the fetcher: a bound
# method, botocore's MFA wrapper around one, or a closure holding it.
_FETCHER_DEPTH = 4


def _role_fetcher(credentials: Credentials) -> Any:
    """The ``AssumeRoleCredentialFetcher`` that refreshes ``credentials``,
    None when they are not an assumed role's."""
    from botocore.credentials import AssumeRoleCredentialFetcher  # noqa: PLC0415 - loaded by now

    pending: list[Any] = [getattr(credentials, "_refresh_using", None)]
    for _ in range(_FETCHER_DEPTH):
        inside: list[Any] = []
        for item in pending:
            if isinstance(item, AssumeRoleCredentialFetcher):
                return item
            inside.extend(_parts(item))
        pending = inside
    return None


def _parts(item: Any) -> list[Any]:
    """What a refresh function holds: the object of a bound method, the
    function a wrapper calls, the values a closure keeps."""
    parts = [getattr(item, name, None) for name in ("__self__", "_refresh", "func")]
    for cell in getattr(item, "__closure__", None) or ():
        with contextlib.suppress(ValueError):  # a cell not filled in yet
            parts.append(cell.cell_contents)
    return [part for part in parts if part is not None]


def _caller_arn(clients: Clients, frozen: Any) -> str:
    """Who STS says these credentials belong to (GetCallerIdentity needs no
    permission), asked with exactly them, through the run's session (its
    endpoint, timeouts and time bound)."""
    sts: STSClient = clients.session.client(
        "sts",
        config=clients.config,
        aws_access_key_id=frozen.access_key,
        aws_secret_access_key=frozen.secret_key,
        aws_session_token=frozen.token,
    )
    return sts.get_caller_identity()["Arn"]

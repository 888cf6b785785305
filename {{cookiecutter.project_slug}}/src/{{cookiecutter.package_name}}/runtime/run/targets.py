# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""Where the job runs: the run's own account, or many (account, region) targets.

Why it is built this way:
- Without TARGET_ACCOUNTS or TARGET_REGIONS the job runs once, with the run's
  own credentials, exactly as it always has (``run_here``).
- With them, every target gets its own credentials (the same role name,
  assumed in each account with a session policy scoped to that target's own
  bucket, prefix and such: see ``aws.session_policy``), its own
  account guard, counts and "target finished" line. Targets run a few at a
  time (MAX_PARALLEL_TARGETS); one failing never stops the others.
- A job whose service is global (IAM: ``job.REGIONAL`` is false) runs once
  per account, in the run's own region; TARGET_REGIONS is refused for it.
- ``organization`` lists the accounts with AWS Organizations' paginator and
  keeps the ACTIVE ones (and, with ALLOWED_ACCOUNT_IDS, only those listed).
- Every line a target logs carries its ``account`` and ``region``.
- Every client here, and the credential lookup, is timed by the run's
  watchdog (``watch``): no call outlives the run's stated worst case.
- Errors are returned, not mapped: turning them into exit codes is
  ``cli.main``'s job alone.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..access.aws import Clients, Identity
from ..access.watchdog import Watchdog
from ..outcome.errors import StopRequest
from ..output import logs
from ..settings import config

if TYPE_CHECKING:
    from .job_contract import Job

__all__ = ["FAN_OUT_ACTIONS", "Target", "TargetResult", "add_counts", "run_all", "run_here"]

# What the run's own session needs to fan out, each on its resource: assume
# the target role (by name, in any account: the organization's accounts are
# not known before the listing) and list the organization (no resource).
FAN_OUT_GRANTS = {
    "sts:AssumeRole": "arn:{partition}:iam::*:role/{TARGET_ROLE_NAME}",
    "organizations:ListAccounts": "*",
}
FAN_OUT_ACTIONS = tuple(FAN_OUT_GRANTS)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    account: str | None  # None: the account of the run's own credentials
    region: str


@dataclass
class TargetResult:
    target: Target
    account: str  # as resolved: for a None target, the run's own account
    counts: Any  # the job's Counts
    error: BaseException | None
    duration_ms: int


def run_here(
    job: Job,
    settings: config.Settings,
    job_settings: Any,
    run_id: str,
    counts: Any,
    *,
    stop: StopRequest,
    watch: Watchdog | None = None,
) -> None:
    """Run the job once, with the run's own credentials and region."""
    stop.check()  # a signal during start-up: stop before the first AWS call
    scopes = None
    if settings.assume_role_arn is not None:
        _, partition, _, _, account, _ = settings.assume_role_arn.split(":", 5)
        scopes = [_scope(job, job_settings, partition, account, settings.region)]
    clients = Clients(settings, run_id, job.IAM_ACTIONS, scopes=scopes, watchdog=watch)
    _look_up_credentials(clients, watch, settings.profile)
    identity = clients.guard()
    own = config.for_target(job_settings, job.SETTINGS, identity.account, settings.region)
    job.run(settings, own, clients, counts, stop)
    stop.check()  # a stop that came while the job ran ends in 130/143 even if it had no work


def run_all(
    job: Job,
    settings: config.Settings,
    job_settings: Any,
    run_id: str,
    *,
    stop: StopRequest,
    on_done: Callable[[TargetResult], None],
    watch: Watchdog | None = None,
) -> list[TargetResult]:
    """Run the job in every target; call ``on_done`` in each target's context.

    The run's own credentials are checked first (prod rules, who we are);
    a failure there, or in listing the organization, raises: no target ran.
    """
    stop.check()  # a signal during start-up: stop before the first AWS call
    grants: Mapping[str, str] = job.IAM_ACTIONS
    scopes: list[dict[str, str | None]] | None = None
    if settings.target_accounts is not None:  # it only hands out target roles
        grants = FAN_OUT_GRANTS
    if settings.assume_role_arn is not None:
        _, partition, _, _, account, _ = settings.assume_role_arn.split(":", 5)
        if settings.target_accounts is not None:
            scopes = [{"partition": partition, "TARGET_ROLE_NAME": settings.target_role_name}]
        else:  # the targets use the hub's own session: it must serve every region
            scopes = [_scope(job, job_settings, partition, account, r) for r in settings.regions()]
    hub = Clients(settings, run_id, grants, scopes=scopes, watchdog=watch)
    _look_up_credentials(hub, watch, settings.profile)
    identity = hub.guard(allow_list=settings.target_accounts is None)
    targets = [
        Target(account, region)
        for account in _accounts(settings, hub)
        for region in (settings.regions() if job.REGIONAL else (settings.region,))
    ]
    log.info(
        "fan-out started",
        extra={"targets": len(targets), "max_parallel_targets": settings.max_parallel_targets},
    )

    def run_one(target: Target) -> TargetResult:
        result = _run_target(
            job, target, settings, job_settings, run_id, stop=stop, hub=hub, hub_identity=identity
        )
        with logs.context(account=result.account, region=target.region):
            on_done(result)
        return result

    with ThreadPoolExecutor(settings.max_parallel_targets, thread_name_prefix="target") as pool:
        return list(pool.map(run_one, targets))


def add_counts(total: Any, counts: Any) -> None:
    """Add one target's counts to the run's (both are the job's ``Counts``)."""
    for item in dataclasses.fields(counts):
        setattr(total, item.name, getattr(total, item.name) + getattr(counts, item.name))


def _scope(
    job: Job, job_settings: Any, partition: str, account: str, region: str
) -> dict[str, str | None]:
    """The values that fill in a target's session policy: where it runs, and
    the job's settings as that target sees them (by variable name)."""
    own = config.for_target(job_settings, job.SETTINGS, account, region)
    values: dict[str, str | None] = {"partition": partition, "account": account, "region": region}
    for row in job.SETTINGS:
        value = getattr(own, row.name)
        values[row.env[0]] = None if value is None else str(value)
    return values


def _look_up_credentials(clients: Clients, watch: Watchdog | None, profile: str | None) -> None:
    """Find the run's credentials under the watchdog: a ``credential_process``
    or an SSO lookup is a call like any other, bounded like one. The call is
    named for its profile, so a lookup that hangs says where to look."""
    if watch is None:
        clients.credentials()
        return
    with watch.watching(f"credential lookup for profile {profile or 'default'!r}"):
        clients.credentials()


def _accounts(settings: config.Settings, hub: Clients) -> list[str | None]:
    if settings.target_accounts is None:
        return [None]
    if isinstance(settings.target_accounts, tuple):
        return list(settings.target_accounts)
    active = _active_organization_accounts(hub)
    allowed = settings.allowed_account_ids
    if not allowed:
        return list(active)
    outside = [account for account in active if account not in allowed]
    if outside:
        log.info(
            "skipping organization accounts not in ALLOWED_ACCOUNT_IDS",
            extra={"skipped_accounts": outside},
        )
    return [account for account in active if account in allowed]


def _active_organization_accounts(hub: Clients) -> list[str]:
    accounts: list[str] = []
    for page in hub.organizations.get_paginator("list_accounts").paginate():
        for account in page.get("Accounts", []):
            status = account.get("State") or account.get("Status")
            if status == "ACTIVE" and "Id" in account:
                accounts.append(account["Id"])
    log.info("listed organization accounts", extra={"active_accounts": len(accounts)})
    return accounts


def _run_target(
    job: Job,
    target: Target,
    settings: config.Settings,
    job_settings: Any,
    run_id: str,
    *,
    stop: StopRequest,
    hub: Clients,
    hub_identity: Identity,
) -> TargetResult:
    account = target.account or hub_identity.account
    counts = job.Counts()
    started = time.monotonic()
    error: BaseException | None = None
    with logs.context(account=account, region=target.region):
        try:
            stop.check()  # a stop request leaves targets not yet started alone
            here = dataclasses.replace(settings, region=target.region)
            role_arn = scopes = None
            if target.account is not None:
                partition = hub_identity.arn.split(":")[1]
                role_arn = f"arn:{partition}:iam::{account}:role/{settings.target_role_name}"
                scopes = [_scope(job, job_settings, partition, account, target.region)]
            clients = Clients(
                here,
                run_id,
                job.IAM_ACTIONS,
                scopes=scopes,
                source=hub,
                role_arn=role_arn,
                watchdog=hub.watchdog,
            )
            clients.guard(expected_account=account)
            own = config.for_target(job_settings, job.SETTINGS, account, target.region)
            job.run(here, own, clients, counts, stop)
            stop.check()  # as in run_here: a stop is never lost
        except Exception as failure:  # noqa: BLE001 - one target's failure never stops the others
            error = failure
    duration_ms = round((time.monotonic() - started) * 1000)
    return TargetResult(target, account, counts, error, duration_ms)

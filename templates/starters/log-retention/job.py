"""Log retention: give CloudWatch Logs log groups a retention period.

Why it is built this way:
- ``plan`` only reads: one ``DescribeLogGroups`` paginator (with
  ``logGroupNamePrefix`` when ``LOG_GROUP_PREFIX`` is set) and one ``Change``
  per group whose retention ``RETENTION_MODE`` says is wrong.
- Groups that keep logs forever (no retention) are the main target: they
  grow, and cost, without end. ``RETENTION_MODE`` says what happens to groups
  that already have a retention: ``never-expire-only`` leaves them alone,
  ``at-least`` raises those shorter than ``RETENTION_DAYS`` (and never
  shortens one), ``exact`` brings every group to ``RETENTION_DAYS``.
- Idempotent: ``PutRetentionPolicy`` sets a value, and a group already as
  wanted is not planned, so a re-run after an apply plans nothing.
- Dry-run sends no write call: each planned change is only logged.
- One group's failure (deleted since it was listed, access denied on it) is
  counted ``failed`` and logged, and never stops the rest; the run ends with
  ``PartialFailure`` (exit 5) once every group was tried.
- botocore is imported only inside the functions that call AWS: the CLI
  answers ``--help`` and refuses bad settings without loading it.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import validate
from .config import Setting, Settings
from .errors import PartialFailure, StopRequest

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

    from .aws import Clients

__all__ = [
    "DESCRIPTION",
    "IAM_ACTIONS",
    "REGIONAL",
    "RETENTION_MODES",
    "SETTINGS",
    "VALID_RETENTION_DAYS",
    "Change",
    "Counts",
    "JobSettings",
    "needs_change",
    "plan",
    "run",
]

DESCRIPTION = (
    "Set a retention of RETENTION_DAYS on CloudWatch Logs log groups "
    "(under LOG_GROUP_PREFIX) that keep logs forever, or as RETENTION_MODE says."
)

# The only retention periods CloudWatch Logs accepts (PutRetentionPolicy).
VALID_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
NEVER_EXPIRE_ONLY = "never-expire-only"
AT_LEAST = "at-least"
EXACT = "exact"
RETENTION_MODES = (NEVER_EXPIRE_ONLY, AT_LEAST, EXACT)
DESCRIBE_PAGE_SIZE = 50  # the most log groups DescribeLogGroups returns per page
# A log group name: 1 to 512 of these characters (CloudWatch Logs' own rule).
_LOG_GROUP_PREFIX = re.compile(r"[A-Za-z0-9._/#-]{1,512}")

# Every IAM action the job may use, with the resource it applies to, in one
# place: it renders the AssumeRole session policy, iam-policy.json, and the
# test that fails when the job calls an API not covered here. (The deploy
# stacks grant the same: tests/test_deploy.py.)
# DescribeLogGroups cannot be scoped to log groups, hence "*".
# PutRetentionPolicy is granted on every log group of the target's account
# and region, not on "{LOG_GROUP_PREFIX}*": LOG_GROUP_PREFIX is optional, and
# a grant naming an unset setting is left out (aws.session_policy, and the
# stacks' conditions), which would leave an unprefixed run, the common one,
# with no right to change any group. The prefix narrows what the job
# touches; the role's resource stays the account's log groups.
LOG_GROUPS_ARN = "arn:{partition}:logs:{region}:{account}:log-group:*"
IAM_ACTIONS: dict[str, str] = {
    "logs:DescribeLogGroups": "*",
    "logs:PutRetentionPolicy": LOG_GROUPS_ARN,
}

# CloudWatch Logs is regional: a fan-out runs once per account and region.
REGIONAL = True

log = logging.getLogger(__name__)


def retention_days(raw: str) -> int:
    """A retention period CloudWatch Logs accepts; anything else is refused
    here, before any AWS call, instead of by PutRetentionPolicy on every group."""
    value = validate.integer(raw, minimum=1, maximum=max(VALID_RETENTION_DAYS))
    if value not in VALID_RETENTION_DAYS:
        accepted = ", ".join(str(days) for days in VALID_RETENTION_DAYS)
        raise validate.InvalidValue(f"must be one of {accepted} (days), got {value}")
    return value


def log_group_prefix(raw: str) -> str:
    """The start of a log group name: only characters a log group name may hold."""
    value = raw.strip()
    if not _LOG_GROUP_PREFIX.fullmatch(value):
        raise validate.InvalidValue(
            f"must be the start of a log group name: 1 to 512 of A-Z a-z 0-9 . _ / # -, got {raw!r}"
        )
    return value


@dataclass(frozen=True)
class JobSettings:
    log_group_prefix: str | None  # None: every log group of the region
    retention_days: int
    retention_mode: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "log_group_prefix",
        ("LOG_GROUP_PREFIX",),
        log_group_prefix,
        flag="--log-group-prefix",
        help="only log groups whose name starts with this (default every log group)",
    ),
    Setting(
        "retention_days",
        ("RETENTION_DAYS",),
        retention_days,
        default="30",
        flag="--retention-days",
        help="the retention to set, in days (a value CloudWatch Logs accepts)",
    ),
    Setting(
        "retention_mode",
        ("RETENTION_MODE",),
        lambda raw: validate.choice(raw, RETENTION_MODES),
        default=NEVER_EXPIRE_ONLY,
        flag="--retention-mode",
        help=(
            "never-expire-only: only groups that keep logs forever; at-least: also raise "
            "shorter ones; exact: bring every group to RETENTION_DAYS"
        ),
    ),
)


@dataclass
class Counts:
    """What the run did so far; the summary line reports it even after a failure.

    ``planned = changed + failed`` once an apply run has tried every group.
    """

    checked: int = 0
    planned: int = 0
    changed: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Change:
    description: str
    log_group: str
    current: int | None  # days; None: never expire
    wanted: int
    apply: Callable[[], None]


def needs_change(current: int | None, wanted: int, mode: str) -> bool:
    """Whether a group with ``current`` days (None: never expire) gets ``wanted``."""
    if current is None:
        return True
    if mode == AT_LEAST:
        return current < wanted
    if mode == EXACT:
        return current != wanted
    return False  # never-expire-only: a group with any retention is left alone


def describe_retention(days: int | None) -> str:
    return "never expire" if days is None else f"{days} days"


def plan(clients: Clients, job: JobSettings, counts: Counts) -> list[Change]:
    """List the log groups (read-only) and return one change per group to fix."""
    logs_client = _logs(clients)
    params: dict[str, Any] = {"PaginationConfig": {"PageSize": DESCRIBE_PAGE_SIZE}}
    if job.log_group_prefix:
        params["logGroupNamePrefix"] = job.log_group_prefix
    changes: list[Change] = []
    for page in logs_client.get_paginator("describe_log_groups").paginate(**params):
        for group in page.get("logGroups", []):
            name = group.get("logGroupName")
            if not name:
                continue
            counts.checked += 1
            current = group.get("retentionInDays")
            if needs_change(current, job.retention_days, job.retention_mode):
                changes.append(_change(logs_client, name, current, job.retention_days))
    log.info(
        "listed log groups",
        extra={"log_groups": counts.checked, "prefix": job.log_group_prefix},
    )
    return changes


def _change(
    logs_client: CloudWatchLogsClient, name: str, current: int | None, wanted: int
) -> Change:
    def apply() -> None:
        logs_client.put_retention_policy(logGroupName=name, retentionInDays=wanted)

    description = f"{name}: {describe_retention(current)} -> {describe_retention(wanted)}"
    return Change(description, name, current, wanted, apply)


def _logs(clients: Clients) -> CloudWatchLogsClient:
    """The run's CloudWatch Logs client, with the run's timeouts and retries."""
    client: CloudWatchLogsClient = clients.session.client("logs", config=clients.config)
    return client


def run(
    settings: Settings, job: JobSettings, clients: Clients, counts: Counts, stop: StopRequest
) -> None:
    """Set (or, in dry-run, report) the retention of every group that needs it."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - loaded by now

    changes = plan(clients, job, counts)
    counts.planned = len(changes)
    log.info(
        "retention planned",
        extra={
            "retention_days": job.retention_days,
            "retention_mode": job.retention_mode,
            "planned": counts.planned,
        },
    )
    for change in changes:
        stop.check()  # a signal stops between changes, never halfway through one
        if settings.dry_run:
            log.info("would change", extra={"change": change.description})
            continue
        try:
            change.apply()
        except (ClientError, BotoCoreError) as error:  # one group's failure never stops the rest
            counts.failed += 1
            code = (
                error.response.get("Error", {}).get("Code")
                if isinstance(error, ClientError)
                else ""
            )
            log.warning(
                "could not change",
                extra={
                    "change": change.description,
                    "log_group": change.log_group,
                    "error_code": code or type(error).__name__,
                    "error": str(error),
                },
            )
            continue
        counts.changed += 1
        log.info("changed", extra={"change": change.description})
    if counts.failed:
        raise PartialFailure(f"{counts.failed} log group(s) could not be changed")

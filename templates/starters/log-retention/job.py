"""Log retention: give CloudWatch Logs log groups a retention period.

Why it is built this way:
- ``plan`` only reads: one ``DescribeLogGroups`` paginator (with
  ``logGroupNamePrefix`` when ``LOG_GROUP_PREFIX`` is set), read through
  ``stop_aware.pages`` so a stop ends the listing between pages, then one
  ``ListTagsForResource`` per group whose retention ``RETENTION_MODE`` says
  is wrong (only those: a group left alone needs no tag read), and one
  ``Change`` per such group that is not exempt.
- Groups that keep logs forever (no retention) are the main target: they
  grow, and cost, without end. ``RETENTION_MODE`` says what happens to groups
  that already have a retention: ``never-expire-only`` leaves them alone,
  ``at-least`` raises those shorter than ``RETENTION_DAYS`` (and never
  shortens one), ``exact`` brings every group to ``RETENTION_DAYS``.
- Setting a retention deletes logs: once a group that kept its logs forever
  (or longer) has ``RETENTION_DAYS``, CloudWatch Logs deletes its events
  older than that. An apply run with the defaults does it to every
  never-expire group of the region, audit logs included, so
  ``DESCRIPTION`` (``--help``) says so, and every run logs how many groups
  will start deleting logs (``start_deleting``) before it changes any.
- A group tagged ``EXEMPT_TAG_KEY`` is never changed. The key is matched
  whatever its case, and a key that only nearly matches (other spaces, a
  compatibility form of the same characters) also keeps the group, with a
  warning: a wrong exemption costs a line in the log, a wrong change
  deletes logs.
- Idempotent: ``PutRetentionPolicy`` sets a value, and a group already as
  wanted is not planned, so a re-run after an apply plans nothing.
- Dry-run sends no write call: each planned change is only logged.
- One group's failure (access denied on that group, say) is counted
  ``failed`` and logged, and the rest still go; the run then ends with
  ``PartialFailure`` (exit 5). A group deleted since it was listed counts
  as ``gone``, not failed. A failure that is about the account, not the
  group (``item_errors.ItemErrors``) ends the run at once: expired or
  invalid credentials (exit 2), an unreachable network (exit 3), and
  access denied on ``DENIALS_IN_A_ROW`` groups in a row with no success
  between (exit 4).
- botocore is imported only inside the functions that call AWS: the CLI
  answers ``--help`` and refuses bad settings without loading it.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import stop_aware, tag_keys, validate
from .config import Setting, Settings
from .errors import AwsError, PartialFailure, StopRequest
from .item_errors import ItemErrors

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
    "Exemption",
    "JobSettings",
    "exemption",
    "needs_change",
    "plan",
    "run",
]

# --help shows it: what the run does, and what that deletes.
# The exemption tag's key unless EXEMPT_TAG_KEY says otherwise. ``--help``
# names it (EXEMPT_TAG_KEY has no flag to show it by): a reader protecting a
# group must know which tag to put on it.
DEFAULT_EXEMPT_TAG_KEY = "log-retention:exempt"
DESCRIPTION = (
    "Set a retention of RETENTION_DAYS on CloudWatch Logs log groups "
    "(under LOG_GROUP_PREFIX) that keep logs forever, or as RETENTION_MODE says. "
    "CloudWatch Logs then deletes their logs older than RETENTION_DAYS: with --apply "
    "and the defaults (no LOG_GROUP_PREFIX, 30 days), every log group of the region "
    "that keeps logs forever, audit logs included, starts deleting its logs older than "
    f"30 days. Groups tagged EXEMPT_TAG_KEY (default {DEFAULT_EXEMPT_TAG_KEY!r}; any value, "
    "the key in any case) are left alone; a dry-run (the default) says how many groups "
    "would start deleting logs."
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
GONE = "ResourceNotFoundException"  # the group was deleted since it was listed
TAG_KEY_MAX = 128
TAG_KEY_PUNCTUATION = "_.:/=+-@"
# A log group name: 1 to 512 of these characters (CloudWatch Logs' own rule).
_LOG_GROUP_PREFIX = re.compile(r"[A-Za-z0-9._/#-]{1,512}")

# Every IAM action the job may use, with the resource it applies to, in one
# place: it renders the AssumeRole session policy, iam-policy.json, and the
# test that fails when the job calls an API not covered here. (The deploy
# stacks grant the same: tests/test_deploy.py.)
# DescribeLogGroups cannot be scoped to log groups, hence "*".
# ListTagsForResource (the exemption tag, read only for groups that would
# change) and PutRetentionPolicy are granted on every log group of the
# target's account and region, not on "{LOG_GROUP_PREFIX}*": LOG_GROUP_PREFIX
# is optional, and a grant naming an unset setting is left out
# (aws.session_policy, and the stacks' conditions), which would leave an
# unprefixed run, the common one, with no right to change any group. The
# prefix narrows what the job touches; the role's resource stays the
# account's log groups.
LOG_GROUPS_ARN = "arn:{partition}:logs:{region}:{account}:log-group:*"
IAM_ACTIONS: dict[str, str] = {
    "logs:DescribeLogGroups": "*",
    "logs:ListTagsForResource": LOG_GROUPS_ARN,
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


def tag_key(raw: str) -> str:
    """A CloudWatch Logs tag key: 1 to 128 Unicode letters, numbers, spaces
    and ``_ . : / = + - @`` (the service's own rule). The line and paragraph
    separators it also allows are refused here: they would split a text log
    line."""
    value = raw.strip()
    if not value or len(value) > TAG_KEY_MAX:
        raise validate.InvalidValue(f"must be 1 to {TAG_KEY_MAX} characters, got {raw!r}")
    if not all(_tag_key_char(char) for char in value):
        raise validate.InvalidValue(
            "may contain only letters, numbers, spaces and _ . : / = + - @ "
            f"(as a CloudWatch Logs tag key), got {raw!r}"
        )
    return value


def _tag_key_char(char: str) -> bool:
    category = unicodedata.category(char)
    return char in TAG_KEY_PUNCTUATION or category[0] in "LN" or category == "Zs"


@dataclass(frozen=True)
class JobSettings:
    log_group_prefix: str | None  # None: every log group of the region
    retention_days: int
    retention_mode: str
    exempt_tag_key: str


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
    Setting(
        "exempt_tag_key",
        ("EXEMPT_TAG_KEY",),
        tag_key,
        default=DEFAULT_EXEMPT_TAG_KEY,
        help="log groups carrying this tag (any value, the key in any case) are never changed",
    ),
)


@dataclass
class Counts:
    """What the run did so far; the summary line reports it even after a failure.

    ``planned`` counts the groups whose retention needs a change and that
    are not exempt (``exempt``: they carry the exemption tag); a group whose
    tags could not be read is planned, and counted ``gone`` or ``failed``
    at once. ``planned = changed + failed + gone`` once an apply run has
    tried every group. ``start_deleting``: the planned groups that keep
    their logs longer (or forever) today; once changed, CloudWatch Logs
    deletes their logs older than ``RETENTION_DAYS``.
    """

    checked: int = 0
    exempt: int = 0
    planned: int = 0
    start_deleting: int = 0
    changed: int = 0
    gone: int = 0
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


def starts_deleting(current: int | None, wanted: int) -> bool:
    """Whether setting ``wanted`` makes CloudWatch Logs delete logs it keeps
    today: the group keeps them forever, or longer than ``wanted``."""
    return current is None or current > wanted


@dataclass(frozen=True)
class Exemption:
    exempt: bool
    near_misses: tuple[str, ...]  # keys that only nearly match: exempt, with a warning


def exemption(keys: Iterable[str], wanted: str) -> Exemption:
    """Whether a group with tag ``keys`` is exempt: one of them is ``wanted``
    in any letter case, or only nearly matches it (``tag_keys.nearly_matches``:
    case, width, spaces and punctuation set aside, or a look-alike letter
    from another script). A near miss
    keeps the group too: a wrong exemption costs a warning, a wrong change
    deletes logs."""
    keys = list(keys)
    if any(tag_keys.same_key(key, wanted) for key in keys):
        return Exemption(exempt=True, near_misses=())
    near = tuple(key for key in keys if tag_keys.nearly_matches(key, wanted))
    return Exemption(exempt=bool(near), near_misses=near)


@dataclass(frozen=True)
class _Candidate:
    """A listed group whose retention would change."""

    name: str
    arn: str
    current: int | None


def plan(clients: Clients, job: JobSettings, counts: Counts, stop: StopRequest) -> list[Change]:
    """List the log groups and read the tags of those that would change (all
    read-only); return one change per group to fix that is not exempt.

    A stop request ends the listing between pages and the tag reads between
    groups (``Interrupted``). A group whose tags cannot be read is not
    changed: deleted since it was listed, it counts ``gone``; otherwise
    ``failed``, unless the error is about the account (``ItemErrors``)."""
    logs_client = _logs(clients)
    params: dict[str, Any] = {"PaginationConfig": {"PageSize": DESCRIBE_PAGE_SIZE}}
    if job.log_group_prefix:
        params["logGroupNamePrefix"] = job.log_group_prefix
    candidates: list[_Candidate] = []
    listing = logs_client.get_paginator("describe_log_groups").paginate(**params)
    for page in stop_aware.pages(listing, stop):
        for group in page.get("logGroups", []):
            name = group.get("logGroupName")
            if not name:
                continue
            counts.checked += 1
            current = group.get("retentionInDays")
            if needs_change(current, job.retention_days, job.retention_mode):
                candidates.append(_Candidate(name, _group_arn(group), current))
    log.info(
        "listed log groups",
        extra={"log_groups": counts.checked, "prefix": job.log_group_prefix},
    )
    changes: list[Change] = []
    errors = ItemErrors()
    for candidate in candidates:
        stop.check()  # one tag read per group: a stop ends the reads between groups
        keys = _tag_keys(logs_client, candidate, counts, errors)
        if keys is None:
            continue
        found = exemption(keys, job.exempt_tag_key)
        if found.near_misses:
            log.warning(
                "log group kept: a tag key nearly matches EXEMPT_TAG_KEY",
                extra={
                    "log_group": candidate.name,
                    "tag_keys": list(found.near_misses),
                    "exempt_tag_key": job.exempt_tag_key,
                },
            )
        if found.exempt:
            counts.exempt += 1
            log.info("log group exempt", extra={"log_group": candidate.name})
            continue
        counts.planned += 1
        change = _change(logs_client, candidate.name, candidate.current, job.retention_days)
        changes.append(change)
    counts.start_deleting = sum(starts_deleting(c.current, c.wanted) for c in changes)
    return changes


def _group_arn(group: Mapping[str, Any]) -> str:
    """The group's ARN as ListTagsForResource takes it (no trailing ``:*``)."""
    arn = group.get("logGroupArn") or str(group.get("arn") or "").removesuffix(":*")
    if not isinstance(arn, str) or not arn:
        raise AwsError(
            f"malformed DescribeLogGroups answer: no ARN for {group.get('logGroupName')!r}"
        )
    return arn


def _tag_keys(
    logs_client: CloudWatchLogsClient, candidate: _Candidate, counts: Counts, errors: ItemErrors
) -> list[str] | None:
    """The group's tag keys; None when they cannot be read (counted)."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - loaded by now

    try:
        tags = logs_client.list_tags_for_resource(resourceArn=candidate.arn).get("tags", {})
    except (ClientError, BotoCoreError) as error:
        counts.planned += 1  # it needs a change; whether it is exempt cannot be told
        code = _error_code(error)
        if code == GONE:
            counts.gone += 1
            log.warning("log group gone", extra={"log_group": candidate.name, "error_code": code})
            return None
        counts.failed += 1
        log.warning(
            "could not read tags; log group not changed",
            extra={
                "log_group": candidate.name,
                "error_code": code or type(error).__name__,
                "error": str(error),
            },
        )
        errors.failed(error)  # raises when the error is about the account, not this group
        return None
    errors.succeeded()
    return list(tags)


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


def _error_code(error: BaseException) -> str:
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def run(
    settings: Settings, job: JobSettings, clients: Clients, counts: Counts, stop: StopRequest
) -> None:
    """Set (or, in dry-run, report) the retention of every group that needs it."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - loaded by now

    changes = plan(clients, job, counts, stop)
    log.info(
        "retention planned",
        extra={
            "retention_days": job.retention_days,
            "retention_mode": job.retention_mode,
            "planned": counts.planned,
            "exempt": counts.exempt,
        },
    )
    _say_what_is_deleted(settings, job, counts)
    errors = ItemErrors()
    for change in changes:
        stop.check()  # a signal stops between changes, never halfway through one
        if settings.dry_run:
            log.info("would change", extra={"change": change.description})
            continue
        try:
            change.apply()
        except (ClientError, BotoCoreError) as error:
            code = _error_code(error)
            if code == GONE:  # deleted since it was listed: nothing left to change
                counts.gone += 1
                log.warning(
                    "log group gone",
                    extra={"change": change.description, "log_group": change.log_group},
                )
                continue
            counts.failed += 1
            log.warning(
                "could not change",
                extra={
                    "change": change.description,
                    "log_group": change.log_group,
                    "error_code": code or type(error).__name__,
                    "error": str(error),
                },
            )
            errors.failed(error)  # raises when the error is about the account, not this group
            continue
        errors.succeeded()
        counts.changed += 1
        log.info("changed", extra={"change": change.description})
    if counts.failed:
        raise PartialFailure(f"{counts.failed} log group(s) could not be changed")


def _say_what_is_deleted(settings: Settings, job: JobSettings, counts: Counts) -> None:
    """One line, before any change: how many groups will start deleting logs."""
    days, groups = job.retention_days, counts.start_deleting
    message = (
        "with --apply, %d log group(s) would start deleting logs older than %d days"
        if settings.dry_run
        else "%d log group(s) will start deleting logs older than %d days"
    )
    log.log(
        logging.WARNING if groups else logging.INFO,
        message,
        groups,
        days,
        extra={"start_deleting": groups, "retention_days": days},
    )

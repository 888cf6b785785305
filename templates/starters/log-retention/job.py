"""Log retention: give CloudWatch Logs log groups a retention period.

This module declares the job for the runtime: its settings (with their
validators), the IAM grants it needs, its counts. It imports no AWS code,
so ``--help`` and a refused configuration answer before boto3 is loaded.
The work is in ``policies`` beside it (the plan, exemptions and the
changes), which ``run`` imports once the settings are valid; its docstring
says why the job is built the way it is.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .runtime.outcome.errors import StopRequest
from .runtime.settings import validate
from .runtime.settings.config import Setting, Settings

if TYPE_CHECKING:
    from .runtime.access.aws import Clients

__all__ = [
    "DESCRIPTION",
    "IAM_ACTIONS",
    "REGIONAL",
    "RETENTION_MODES",
    "SETTINGS",
    "VALID_RETENTION_DAYS",
    "Counts",
    "JobSettings",
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


def run(
    settings: Settings, job: JobSettings, clients: Clients, counts: Counts, stop: StopRequest
) -> None:
    """Give every planned log group its retention (or, in dry-run, log it)."""
    from . import policies  # noqa: PLC0415 - the work imports AWS code: only once settings are valid

    policies.run(settings, job, clients, counts, stop)

"""The job: replace ``plan`` with what your script should change.

How it is meant to grow:
- ``plan`` only reads. It looks at the account and returns the changes it
  would make as ``Change`` objects, each describing itself. Out of the box
  it lists the account's buckets (read-only, page by page) and plans nothing.
- ``run`` is where dry-run guards every write: in dry-run each planned
  change is only logged; with ``--apply`` it is applied and counted.
- Each ``Change.apply`` must be idempotent (check, then act; treat
  "already done" as success), so a re-run after a failure is always safe.
- A change that was made is always counted and logged, even when the run
  is stopped or fails right after it: ``run`` counts a change as soon as
  its ``apply`` returns, so ``apply`` ends with its one write. Waiting for
  the write to take effect (a waiter) goes in ``Change.settle``, which
  ``run`` calls after counting; a change that needs several writes is
  several ``Change`` objects. An ``apply`` that waited, or wrote again,
  after its write would leave that write out of the summary whenever a
  stop or an error cut it short.

The job contract (``tests/test_job_contract.py`` holds every job to it):
- A stop (the first SIGINT or SIGTERM) is looked at between pages of every
  listing and between units of work: list through
  ``stop_aware.pages(paginator.paginate(...), stop)``, wait through
  ``stop_aware.wait``, and call ``stop.check()`` before each change. A stop
  during the listing then asks for no further page, and the run ends with
  130 (SIGINT) or 143 (SIGTERM); the runtime looks once more when ``run``
  returns, so a stop with nothing planned ends the same way.
- An error about the account, not one item, ends the run at once: a job
  that changes items one by one and goes on past one item's failure hands
  each failure to ``item_errors.ItemErrors.failed`` (and calls
  ``succeeded`` after each item that worked). Expired or invalid
  credentials then end the run with exit 2, and an unreachable network
  with 3, after that one call; access denied with 4 after
  ``DENIALS_IN_A_ROW`` items denied in a row. A job that lets every error
  raise, as this one does, keeps the rule as it is.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .runtime.access import stop_aware
from .runtime.outcome.errors import StopRequest
from .runtime.settings.config import Setting, Settings

if TYPE_CHECKING:
    from .runtime.access.aws import Clients

__all__ = [
    "DESCRIPTION",
    "IAM_ACTIONS",
    "REGIONAL",
    "SETTINGS",
    "Change",
    "Counts",
    "JobSettings",
    "plan",
    "run",
]

DESCRIPTION = "Inspect the account and apply the planned changes (dry-run by default)."

log = logging.getLogger(__name__)

# Every IAM action the job may use, with the resource it applies to, in one
# place: it renders the AssumeRole session policy, iam-policy.json, and the
# test that fails when the job calls an API not covered here. Add your
# changes' actions as you write them, each scoped to what it touches: a
# resource may name {partition}, {account}, {region} and a job setting's
# variable, filled in with the run's own values, e.g.
#     "s3:PutBucketTagging": "arn:{partition}:s3:::{S3_BUCKET}",
# A grant whose resource names an unset setting is not given. ListAllMyBuckets
# has no resource to scope to, hence "*". The deploy stacks grant the same
# (tests/test_deploy.py).
IAM_ACTIONS: dict[str, str] = {
    "s3:ListAllMyBuckets": "*",
}

# Whether the job's service is regional: a fan-out runs once per account and
# region when it is, once per account when it is global (IAM, Organizations).
REGIONAL = True


@dataclass(frozen=True)
class JobSettings:
    """The job's own settings; add fields here and rows to SETTINGS."""


SETTINGS: tuple[Setting, ...] = ()


@dataclass
class Counts:
    """What the run did so far; the summary line reports it even after a failure."""

    checked: int = 0
    planned: int = 0
    changed: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Change:
    """One write to make, and what to wait for once it is made.

    ``apply`` makes the write (after any check it needs); ``settle``, when
    given, waits until the write has taken effect (``stop_aware.wait``).
    ``run`` counts and logs the change between the two, so a stop or a
    failure during ``settle`` still leaves the change in the summary.
    """

    description: str
    apply: Callable[[], None]
    settle: Callable[[], None] | None = None


def plan(clients: Clients, job: JobSettings, counts: Counts, stop: StopRequest) -> list[Change]:
    """Read the current state and return the changes to make (none yet).

    Every listing goes through ``stop_aware.pages``: a stop ends it before
    the next page is asked for (``Interrupted``)."""
    listing = clients.s3.get_paginator("list_buckets").paginate()
    buckets = [
        bucket for page in stop_aware.pages(listing, stop) for bucket in page.get("Buckets", [])
    ]
    counts.checked = len(buckets)
    log.info("listed buckets", extra={"buckets": len(buckets)})
    return []


def run(
    settings: Settings, job: JobSettings, clients: Clients, counts: Counts, stop: StopRequest
) -> None:
    """Apply (or, in dry-run, log) each planned change, looking at ``stop``
    before each one: a stop ends the run between changes, never halfway
    through one. A failed call raises, and ``main`` maps it to its exit code."""
    changes = plan(clients, job, counts, stop)
    counts.planned = len(changes)
    for change in changes:
        stop.check()  # a signal stops between changes, never halfway through one
        if settings.dry_run:
            log.info("would change", extra={"change": change.description})
            continue
        change.apply()
        counts.changed += 1
        log.info("changed", extra={"change": change.description})
        if change.settle is not None:
            change.settle()  # counted first: a stop or failure here leaves the change counted

# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""AWS Lambda entry point: the same settings, job and exit codes as the CLI.

The function's environment holds the settings (the SAM template sets them,
dry-run included). The stack decides what an event may change: an event's
``settings`` may set only the variables the stack names in
``EVENT_OVERRIDABLE_SETTINGS`` (none by default), for example
``{"settings": {"RETENTION_DAYS": "60"}}``. Whatever the stack allows, an
event can never apply while the function is in dry-run (``DRY_RUN`` may
only go to true), change the environment, the account allow-list, long-term
credentials, the role, MFA, the region, the endpoint or the fan-out
targets, or blank a value. A refused override ends the run with exit 1, naming each variable,
before any AWS call (see ``overrides``). Besides ``settings``, an event may
hold only an EventBridge envelope's keys (``source``, ``detail``, ...), and
no key below them that reads as ``settings`` (``detail.settings``,
``detail.Settings``): any other event is refused the same way, naming the
key, since ignoring a misspelt or misplaced ``settings`` would run without
what it asked for (a dry run, say).

The run's deadline is the invocation's remaining time less
``DEADLINE_MARGIN_SECONDS`` (at most half of it), so the run stops between
units of work and writes its summary before Lambda's timeout would kill it
without one (see ``cli.execute``'s ``deadline``).

The handler returns the run's summary, exit code included, instead of
raising: a run that failed some targets still did useful work, and the
summary says which. Alarm on ``exit_code`` (the template's metric filter
does). One case does not return: when the run must end at once (a call
outlived its worst case, or the deadline came with work still in flight),
the summary is logged (``forced``) and the process exits, which Lambda
counts as an error (the template's errors alarm); the function is not
retried (``MaximumRetryAttempts: 0``), the next schedule runs it again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .runtime.output import logs
from .runtime.run import cli, moved
from .runtime.settings.overrides import LambdaEvent

moved.install(__name__.rpartition(".")[0])  # a 0.7.0 job's imports, until 0.9.0
from . import job  # noqa: E402 - once the names a 0.7.0 job imports by are answered

__all__ = ["DEADLINE_MARGIN_SECONDS", "deadline_for", "lambda_handler"]

# Kept back from the invocation's remaining time: the summary's write and the
# runtime's own bookkeeping happen in it.
DEADLINE_MARGIN_SECONDS = 5.0


def lambda_handler(event: object, context: object) -> dict[str, Any]:
    logs.claim_root_logger()
    # The event's "settings" are the overrides; an event that is not an
    # object, or has a key that looks like a misspelt or misplaced
    # "settings", is refused (exit 1) before any AWS call.
    request_id = getattr(context, "aws_request_id", None)
    return cli.execute(
        job,
        [],
        os.environ,
        overrides=LambdaEvent(event),
        run_id=request_id if isinstance(request_id, str) else None,
        deadline=deadline_for(context),
    )


def deadline_for(context: object) -> float | None:
    """Seconds the run may take: the invocation's remaining time less a margin."""
    # The Lambda context's method: the milliseconds the invocation has left.
    remaining: Callable[[], float] | None = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None  # not invoked by the Lambda runtime: no deadline
    seconds = max(float(remaining()) / 1000, 0.0)
    return max(seconds - DEADLINE_MARGIN_SECONDS, seconds / 2)

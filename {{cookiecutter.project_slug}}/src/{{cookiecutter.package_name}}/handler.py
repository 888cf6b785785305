"""AWS Lambda entry point: the same settings, job and exit codes as the CLI.

The function's environment holds the settings (the SAM template sets them,
dry-run included); an event may override some of them under ``settings``,
for example ``{"settings": {"DRY_RUN": "false", "TARGET_REGIONS": "eu-west-1"}}``.
Other keys of the event (an EventBridge envelope, say) are ignored. Names
that are not settings of this script are refused, and the run exits 1.

The handler returns the run's summary, exit code included, instead of
raising: a run that failed some targets still did useful work, and the
summary says which. Alarm on ``exit_code`` (the template's metric filter
does), not on the function's error count.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from . import cli, logs

__all__ = ["lambda_handler"]


def lambda_handler(event: object, context: object) -> dict[str, Any]:
    logs.claim_root_logger()
    # None overrides nothing; an event that is not an object is refused, naming its type.
    overrides = event.get("settings") if isinstance(event, Mapping) else event
    request_id = getattr(context, "aws_request_id", None)
    return cli.execute(
        [],
        os.environ,
        overrides=overrides,
        run_id=request_id if isinstance(request_id, str) else None,
    )

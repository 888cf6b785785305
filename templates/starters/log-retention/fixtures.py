"""What the log-retention job's tests need around them: the environment a
run needs to succeed (nothing: every setting has a default) and job
settings that must be refused before any AWS call."""

from __future__ import annotations

__all__ = ["BAD_JOB_INPUTS", "FAN_OUT_ENV", "JOB_ENV"]

# What the job needs, on top of the defaults, to run successfully.
JOB_ENV: dict[str, str] = {}
# The same for a run over many targets: every target gets the same settings.
FAN_OUT_ENV: dict[str, str] = dict(JOB_ENV)
# Job settings the guardrail tests expect refused before any AWS call.
BAD_JOB_INPUTS: list[dict[str, str]] = [
    {"RETENTION_DAYS": "2"},  # a number CloudWatch Logs does not accept
    {"RETENTION_DAYS": "0"},
    {"RETENTION_DAYS": "30x"},
    {"RETENTION_DAYS": " "},  # blank: never read as "the default"
    {"RETENTION_MODE": "shorten"},
    {"LOG_GROUP_PREFIX": "/aws/lambda/*"},  # not a character of a log group name
]

"""What the blank job's tests need around them: the environment a run needs
to succeed (nothing yet) and job settings that must be refused.

Add a job setting with no default and it goes into JOB_ENV; add its bad
values to BAD_JOB_INPUTS and the guardrail tests check each is refused
before any AWS call.
"""

from __future__ import annotations

__all__ = ["BAD_JOB_INPUTS", "FAN_OUT_ENV", "JOB_ENV"]

# What the job needs, on top of the defaults, to run successfully.
JOB_ENV: dict[str, str] = {}
# The same for a run over many targets.
FAN_OUT_ENV: dict[str, str] = dict(JOB_ENV)
# Job settings the guardrail tests expect refused before any AWS call.
BAD_JOB_INPUTS: list[dict[str, str]] = []

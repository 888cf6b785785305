# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""What the run's last line says about a fan-out: per-target results in brief."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..outcome.exit_codes import ExitCode

if TYPE_CHECKING:
    from .targets import TargetResult

__all__ = ["MAX_FAILED_TARGETS_LISTED", "fan_out_summary"]

MAX_FAILED_TARGETS_LISTED = 100  # keeps the summary line well under CloudWatch's event size


def fan_out_summary(
    results: Sequence[TargetResult], codes: Sequence[ExitCode]
) -> dict[str, object]:
    """How many targets ended with each code, and which failed (``codes`` match ``results``)."""
    failed = [
        {
            "account": result.account,
            "region": result.target.region,
            "exit_code": int(code),
            "error": str(result.error) or type(result.error).__name__,
        }
        for result, code in zip(results, codes, strict=True)
        if result.error is not None
    ]
    summary: dict[str, object] = {
        "targets": len(results),
        "targets_by_exit_code": {str(int(code)): codes.count(code) for code in sorted(set(codes))},
        "failed_targets": failed[:MAX_FAILED_TARGETS_LISTED],
    }
    if len(failed) > MAX_FAILED_TARGETS_LISTED:
        summary["failed_targets_not_listed"] = len(failed) - MAX_FAILED_TARGETS_LISTED
    return summary

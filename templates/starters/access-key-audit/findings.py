"""What the audit found, as its log lines and its report tell it.

``audit`` finds and changes keys and ``reporting`` writes them down; both
read what is here, so neither imports the other's work: the actions a
finding can end with (the report's ``action``), ``Finding`` (one stale
Active key: a log line, a report line), ``Report`` (the lines, written
whole), and how an error reads on them (``describe``, ``error_code``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "DEACTIVATED",
    "FAILED",
    "GONE",
    "KEPT",
    "NOT_REACHED",
    "PLANNED",
    "UNKNOWN",
    "WOULD_DEACTIVATE",
    "Finding",
    "Report",
    "describe",
    "error_code",
]

# What the report says was done to a finding.
WOULD_DEACTIVATE = "would deactivate"  # a dry run
PLANNED = "planned"  # --apply, written before the first change; left so only by a forced end
DEACTIVATED = "deactivated"
FAILED = "failed"
# The call's answer was lost (connection closed, read timeout, an error after
# sending) and the key's status could not be read again: it may be Inactive.
UNKNOWN = "unknown"
GONE = "gone"  # the key was deleted before it could be deactivated
NOT_REACHED = "not reached"  # the run was stopped before this key: still Active
KEPT = "kept, in use by this run"  # this run's own credentials depend on it: never changed


@dataclass
class Finding:
    """One stale Active key, and what this run did to it (the report's line)."""

    user: str
    access_key_id: str
    created: datetime
    age_days: int
    last_used: datetime | None
    last_used_service: str | None
    last_used_region: str | None
    unused_days: int
    reasons: list[str]
    previous_status: str = "Active"
    action: str = WOULD_DEACTIVATE
    error: str | None = None
    kept_because: str | None = None

    def log_fields(self) -> dict[str, Any]:
        """The record for a log line: the logs scrub every AKIA/ASIA-shaped
        text (``redact``), so a line names the key by its last 4 characters
        (as the IAM console does) and the report carries the whole id.
        Date-times stay datetimes: the log writes them as it writes ``time``."""
        fields = self.record()
        fields["key_id_suffix"] = fields.pop("access_key_id")[-4:]
        fields["create_date"], fields["last_used"] = self.created, self.last_used
        return fields

    def record(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "access_key_id": self.access_key_id,
            "create_date": self.created.isoformat(),
            "age_days": self.age_days,
            "last_used": self.last_used.isoformat() if self.last_used else None,
            "last_used_service": self.last_used_service,
            "last_used_region": self.last_used_region,
            "unused_days": self.unused_days,
            "reasons": self.reasons,
            "previous_status": self.previous_status,
            "action": self.action,
            **({"error": self.error} if self.error else {}),
            **({"kept_because": self.kept_because} if self.kept_because else {}),
        }


@dataclass
class Report:
    """One line per finding, as it stands when written; written whole."""

    account: str
    checked_at: datetime
    path: str
    findings: list[Finding] = field(default_factory=list)

    def text(self) -> str:
        checked_at = self.checked_at.isoformat()
        return "".join(
            json.dumps(
                {"account": self.account, "checked_at": checked_at, **finding.record()},
                sort_keys=True,
            )
            + "\n"
            for finding in self.findings
        )


def error_code(error: BaseException) -> str:
    """The AWS error code of a ``ClientError`` (``NoSuchEntity``, say), ""
    for any other error: what the audit and the report tell errors apart by."""
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def describe(error: BaseException) -> str:
    """An error as a finding's ``error`` and the log lines give it: its type
    and its message, so a reader can tell a timeout from a refusal."""
    return f"{type(error).__name__}: {error}"

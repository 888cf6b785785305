# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""The one line a person at a terminal reads on stderr when a run fails.

The log says everything, but at a terminal a failure should not need
reading the log: every failing exit code prints one line naming what went
wrong and the code. Not at a terminal (a scheduler, Lambda, ECS) the log is
the only output. Configuration errors print their own lines (one per
problem, always), and a closed stdout prints its own (``closed_output``).

A log that could not be written (exit 8) is the exception: its line is
printed at a terminal or not (``tell_output_failed``), because the log,
where everything else is said, is what failed.
"""

from __future__ import annotations

import sys
from typing import IO

from ..outcome.errors import OutputFailed
from ..outcome.exit_codes import ExitCode
from ..output.log_formats import printable
from ..output.redact import redact

__all__ = ["MEANINGS", "tell_output_failed", "tell_person"]

MAX_DETAIL = 300  # one terminal line or two, never a wall of text
MEANINGS = {
    ExitCode.CREDENTIALS: "credentials missing, invalid or expired",
    ExitCode.NETWORK: "network: the endpoint could not be reached in time",
    ExitCode.PERMISSION: "permission denied",
    ExitCode.AWS_ERROR: "AWS error, or some items failed",
    ExitCode.REFUSED: "refused for safety",
    ExitCode.FINDINGS: "findings remain: see the report",
    ExitCode.OUTPUT_FAILED: "the run's own output could not be written",
    ExitCode.UNEXPECTED: "unexpected error (a bug): the traceback is in the log",
    ExitCode.INTERRUPTED: "stopped by Ctrl-C: re-run to finish",
    ExitCode.TERMINATED: "stopped by SIGTERM: re-run to finish",
}


def tell_person(code: ExitCode, error: BaseException | None, stream: IO[str] | None = None) -> None:
    """Print the failure's line on ``stream`` (stderr) if it is a terminal."""
    meaning = MEANINGS.get(code)
    target = stream if stream is not None else sys.stderr
    if meaning is None or target is None or not _is_terminal(target):
        return
    detail = ""
    if error is not None and code in (
        ExitCode.CREDENTIALS,
        ExitCode.NETWORK,
        ExitCode.PERMISSION,
        ExitCode.AWS_ERROR,
        ExitCode.REFUSED,
        ExitCode.FINDINGS,
        ExitCode.OUTPUT_FAILED,
    ):
        text = " ".join(redact(str(error) or type(error).__name__).split())
        detail = ": " + printable(text[:MAX_DETAIL] + ("..." if len(text) > MAX_DETAIL else ""))
    try:
        target.write(f"error: {meaning}{detail} (exit {int(code)})\n")
        target.flush()
    except (OSError, ValueError):
        pass  # the terminal is gone: the log still has it


def tell_output_failed(code: ExitCode, error: OutputFailed, stream: IO[str] | None = None) -> None:
    """Print the one line on ``stream`` (stderr) that says the output failed
    and whether changes were made, wherever ``stream`` goes."""
    target = stream if stream is not None else sys.stderr
    if target is None:
        return
    try:
        target.write(f"error: {printable(str(error))} (exit {int(code)})\n")
        target.flush()
    except (OSError, ValueError):
        pass  # stderr failed too: the exit code is all that is left


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return False

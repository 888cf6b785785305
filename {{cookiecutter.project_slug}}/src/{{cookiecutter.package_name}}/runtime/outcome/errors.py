# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""The script's own failures, one class per exit code they lead to, and the
stop request a signal or the run's deadline sets.

Business logic raises these (or lets botocore's exceptions through); only
``cli.main`` turns them into exit codes. Nothing here imports boto3.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

__all__ = [
    "LOG",
    "SIGPIPE",
    "AwsError",
    "ConfigError",
    "CredentialError",
    "FindingsRemain",
    "Interrupted",
    "OutOfTime",
    "OutputFailed",
    "PartialFailure",
    "SafetyRefusal",
    "StopRequest",
]
# The stop reason for a closed stdout: the signal a closed pipe stands for
# (its number on every POSIX system; Windows has no signal.SIGPIPE).
SIGPIPE = 13
LOG = "the log"  # what ``OutputFailed`` names when the run's log could not be written


class ConfigError(Exception):
    """Settings or input that cannot be used; every problem is listed at once."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


class CredentialError(Exception):
    """The credentials the run is pointed at cannot be had: a profile's
    ``credential_process`` that cannot run or prints no credentials, a role
    profile with no source, an MFA code that cannot be asked for. Exit 2,
    like missing or expired credentials; the message names the profile."""


class SafetyRefusal(Exception):
    """The script could run but must not: the wrong account, say."""


class PartialFailure(Exception):
    """The job finished, but some items could not be processed."""


class AwsError(PartialFailure):
    """AWS answered, but not in a way the job can act on: a missing bucket, a
    malformed or inconsistent response. Exit 5, like any other AWS error."""


class FindingsRemain(Exception):
    """A report job finished and found what it was asked to find, and left it
    as it was (a dry run, say): exit 7, so a compliance pipeline can fail on
    it while a clean run exits 0."""

    def __init__(self, findings: int) -> None:
        self.findings = findings
        super().__init__(f"{findings} finding(s) remain")


class OutputFailed(Exception):
    """The run's own output (its log, a report) could not be written: exit 8.

    ``changes_made`` says whether the run had already changed something when
    the write failed, so the one stderr line can tell the operator that the
    record of those changes is missing or stale.
    """

    def __init__(self, what: str, reason: str, *, changes_made: bool) -> None:
        self.what = what
        self.reason = reason
        self.changes_made = changes_made
        made = "changes were made" if changes_made else "no change was made"
        super().__init__(f"{what} could not be written ({reason}); {made}")


class Interrupted(Exception):
    """A signal asked the run to stop; work in flight was finished first."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"stopped by signal {signum}")


class OutOfTime(Exception):
    """The run's deadline came: it stopped between units of work, unfinished."""

    def __init__(self) -> None:
        super().__init__("stopped: the run's deadline came before it finished")


class StopRequest(threading.Event):
    """Set by a signal handler, the run's deadline, or with ``SIGPIPE`` when
    stdout is closed, or when the log could not be written; the job checks it
    between units of work.

    Stopping there, instead of raising inside whatever call was running,
    lets the request in flight settle so the counts match what happened.
    """

    signum = 0
    out_of_time = False
    output_closed = False  # stdout was found closed: 141 unless a signal outranks it
    output_failure = ""  # why the log could not be written; empty while it can

    def __init__(self) -> None:
        super().__init__()
        # Whether the run has changed anything yet, for the ``OutputFailed``
        # a failed log write stops the run with; the runtime (``cli``), which
        # holds the job's counts, puts its own answer here.
        self.changes_made: Callable[[], bool] = lambda: True

    def request(self, signum: int) -> None:
        self.signum = signum
        self.set()

    def request_for_closed_output(self) -> None:
        """stdout was found closed: stop as SIGPIPE would (exit 141)."""
        self.output_closed = True
        self.request(SIGPIPE)

    def request_for_deadline(self) -> None:
        self.out_of_time = True
        self.set()

    def request_for_output_failure(self, reason: str) -> None:
        """The log could not be written: stop before the next change (exit 8)."""
        self.output_failure = self.output_failure or reason
        self.set()

    def check(self) -> None:
        if not self.is_set():
            return
        if self.signum:
            raise Interrupted(self.signum)
        if self.output_failure:
            raise OutputFailed(LOG, self.output_failure, changes_made=self.changes_made())
        raise OutOfTime()

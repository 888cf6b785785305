# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""The run's entry points: ``main`` for the command, ``execute`` for the
command and the Lambda handler. They are the only place that turns failures
into exit codes (with ``exit_codes``) and that writes the summary line.

``execute`` runs once and returns the summary (the Lambda handler returns
it as is), and ``main`` returns its exit code to the console script
(``console``), which returns it to the process. Everything below them
raises. Two ends do not return: a signal that comes before ``execute`` has
begun (or after it has returned) is answered by ``console`` with 130/143
and no summary (or after it), and an end forced by the watchdog (below)
leaves through ``process_exit``, with the code chosen here.

boto3 is imported only once the settings are valid, so ``--help``,
``--version`` and every configuration error answer at once.

With TARGET_ACCOUNTS or TARGET_REGIONS the job runs once per target (see
``targets``): each target's failure gets its own code on its "target
finished" line, and the run exits with the most severe one.

SIGINT and SIGTERM only set a stop request (``signals``): the job stops
between units of work, the request in flight settles, and the summary still
comes last, with counts that match what happened. The ``watchdog`` ends the
run at once on a second signal (a summary marked ``forced``, exit 130/143),
when a call outlives the worst case (``timed_out``, exit 3, or 130/143
after a first signal), or at the deadline ``execute`` was given; the
summary is written exactly once, by whichever comes first. A closed stdout
sets the same stop request as a first signal (``closed_output``) and ends
in exit 141, as its stderr line says, even when the run failed otherwise
(a refused setting included). A log line that cannot be written for any
other reason (a full disk) sets it too, and ends in exit 8 with one line on
stderr, at a terminal or not, saying whether changes were made: nothing
else is left to say it. At a terminal, every other failing exit code also prints one line
on stderr (``failure_line``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..access.watchdog import Ending, Watchdog
from ..outcome.errors import LOG, ConfigError, Interrupted, OutputFailed, StopRequest
from ..outcome.exit_codes import ExitCode, exit_code_for, most_severe
from ..output import closed_output, logs
from ..output.log_formats import printable
from ..settings import config
from ..settings.overrides import with_overrides
from .failure_line import tell_output_failed, tell_person
from .parser import AnswerNotWritten, build_parser
from .process_exit import exit_now
from .signals import stop_on_first_signal
from .summary import fan_out_summary

if TYPE_CHECKING:
    from .job_contract import Job
    from .targets import TargetResult

__all__ = ["ExitCode", "build_parser", "execute", "exit_code_for", "main", "most_severe"]

SUMMARY_WRITE_SECONDS = 1.0  # how long an ending run waits for its summary to be written
# The counts by which a job reports the changes it made (the job contract):
# what the stderr line of exit 8 reads to say whether changes were made.
CHANGE_COUNTS = frozenset({"changed", "deleted", "deactivated"})


def main(
    job: Job, argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> int:
    """Run ``job`` once and return the exit code; the last log line is always the summary."""
    return int(execute(job, argv, environ)["exit_code"])


def execute(
    job: Job,
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    overrides: object = None,
    run_id: str | None = None,
    deadline: float | None = None,
) -> dict[str, Any]:
    """Run once and return the summary (the last line logged), exit code included.

    ``overrides`` (a Lambda event's ``settings``, say) maps setting variable
    names to values that win over ``environ``, within what ``overrides``
    allows; they are validated like the rest. ``--help`` and ``--version``
    return only an exit code.

    ``deadline`` is the number of seconds from now by which the summary must
    be written (the Lambda handler's remaining time, less a margin). Up to
    ``watchdog.DEADLINE_GRACE_SECONDS`` before it, the run is asked to stop
    after the work in flight (exit 3, ``timed_out``); if it is still going at
    the deadline, the summary is written (``forced``) and the process ends.
    """
    # A run id as unique as a uuid4, without importing uuid:
    run = _Run(run_id or os.urandom(16).hex(), job.Counts())
    env = os.environ if environ is None else environ
    stop = StopRequest()

    def output_closed() -> None:
        stop.request_for_closed_output()

    def log_to_stdout(
        level: str, fmt: logs.Format, colour: bool, *, watch_reader: bool = True
    ) -> logging.Logger:
        return logs.setup(
            level,
            run.run_id,
            fmt=fmt,
            colour=colour,
            on_output_closed=output_closed,
            on_output_failed=stop.request_for_output_failure,
            watch_reader=watch_reader,
        )

    # Until the run ends and its counts can be read, a failed log write
    # counts as changes made in an apply run: never a false "no change".
    stop.changes_made = lambda: not run.dry_run
    # LOG_FORMAT as set while the settings are read, so that their errors
    # come out in the format asked for; validated with the rest below. No
    # watch for a pipe's reader yet: ``--version | head -c1`` wrote all it
    # had to when the reader leaves, and exits 0.
    early = env.get("LOG_FORMAT", "").strip().lower()
    early_format = logs.choose_format(early if early in config.LOG_FORMATS else "auto", env)
    log = log_to_stdout("INFO", *early_format, watch_reader=False)
    watch = Watchdog(run.end_now, stop)
    watch.start(deadline)
    restore_signals = stop_on_first_signal(stop, watch.force)
    failure: BaseException | None = None
    try:
        settings, job_settings = _load(job, argv, env, overrides)
        run.dry_run = settings.dry_run
        log = log_to_stdout(settings.log_level, *logs.choose_format(settings.log_format, env))
        watch.bound = settings.worst_case_call_seconds()
        results = _run(job, settings, job_settings, run, stop=stop, watch=watch)
        codes = [exit_code_for(result.error) for result in results]
        code = most_severe(codes)
        if settings.fans_out:
            run.fan_out = fan_out_summary(results, codes)
    except (SystemExit, AnswerNotWritten) as done:  # --help, --version, --print-iam-policy
        watch.close()
        restore_signals()
        return {"exit_code": int(_answered(done, stop))}
    except BaseException as error:  # noqa: BLE001 - every failure gets a code and a summary
        code = exit_code_for(error)
        failure = error
        _report(log, code, error)
    watch.close()
    try:
        return _end(run, code, failure, stop)
    finally:
        restore_signals()


def _load(
    job: Job, argv: Sequence[str] | None, env: Mapping[str, str], overrides: object
) -> tuple[config.Settings, Any]:
    """The run's settings, or one ConfigError naming every problem at once.

    Overrides that are refused (a Lambda event's) apply none of them, and
    the settings are still loaded without them: the function's own bad
    settings are reported with the refused overrides, not on the next try.
    """
    refused: tuple[str, ...] = ()
    try:
        env = with_overrides(env, overrides, job.SETTINGS)
    except ConfigError as error:
        refused = error.problems
    args = build_parser(job).parse_args(argv)
    try:
        loaded = config.load(args, env, job.JobSettings, job.SETTINGS, regional=job.REGIONAL)
    except ConfigError as error:
        raise ConfigError([*refused, *error.problems]) from None
    if refused:
        raise ConfigError(refused)
    return loaded


def _end(
    run: _Run, code: ExitCode, failure: BaseException | None, stop: StopRequest
) -> dict[str, Any]:
    """Write the summary, tell a person what failed, and return the summary.

    A stdout found closed, or a log that failed, at any moment of the run
    (while its settings were refused too) decides the exit code by
    ``SEVERITY``, as the one stderr line about it says: 141 or 8.
    """
    if stop.output_closed:
        code = most_severe([code, ExitCode.OUTPUT_CLOSED])
    if stop.output_failure:
        code = most_severe([code, ExitCode.OUTPUT_FAILED])
    elif code is not ExitCode.CONFIG:  # configuration errors printed theirs
        tell_person(code, failure)
    summary = run.finish(code, timed_out=stop.out_of_time and code is not ExitCode.OK)
    if closed_output.end_watch():  # found closed before the summary, or while writing it
        code = most_severe([code, ExitCode.OUTPUT_CLOSED])
        summary["exit_code"] = int(code)
    if stop.output_failure:  # it failed before the summary, or while writing it
        code = most_severe([code, ExitCode.OUTPUT_FAILED])
        summary["exit_code"] = int(code)
        changes_made = run.changes_made()
        tell_output_failed(code, OutputFailed(LOG, stop.output_failure, changes_made=changes_made))
    return summary


def _answered(done: SystemExit | AnswerNotWritten, stop: StopRequest) -> ExitCode | int:
    """The exit code of ``--help``, ``--version`` or ``--print-iam-policy``.

    Their answer must be out: a closed stdout exits 141 (as a run would),
    any other failure to write it 8, each with one line on stderr, and a
    signal that came meanwhile 130 or 143.
    """
    if isinstance(done, AnswerNotWritten):
        ours = closed_output.is_process_stdout(sys.stdout)
        if closed_output.is_closed_output_error(done.error):
            # One line on stderr; requests the stop read below.
            closed_output.output_closed(silence_stdout=ours)
        else:
            if ours:
                closed_output.discard_stdout()  # nothing left to fail as the process exits
            reason = " ".join(str(done).split())
            error = OutputFailed("standard output", reason, changes_made=False)
            tell_output_failed(ExitCode.OUTPUT_FAILED, error)
            return ExitCode.OUTPUT_FAILED
    if stop.signum:  # a signal, or a stdout found closed
        return exit_code_for(Interrupted(stop.signum))
    return int(done.code or 0) if isinstance(done, SystemExit) else ExitCode.OK


class _Run:
    """What the summary reports, and the guarantee that it is written once.

    The summary comes either from the main thread when the run ends, or from
    the watchdog's thread when it ends the run; whichever comes first writes
    it, and the other writes nothing.
    """

    def __init__(self, run_id: str, counts: Any) -> None:
        self.run_id = run_id
        self.started = time.monotonic()
        self.counts = counts
        self.dry_run = True
        self.fan_out: dict[str, object] = {}
        self._written = threading.Lock()

    def changes_made(self) -> bool:
        """Whether the run changed anything, by the job's counts of changes made.

        A dry run changes nothing. A job whose ``Counts`` has none of
        ``CHANGE_COUNTS`` cannot say, so it is taken to have made changes:
        the stderr line of exit 8 must never say "no change" wrongly.
        """
        if self.dry_run:
            return False
        counted = [value for name, value in self.counts.as_dict().items() if name in CHANGE_COUNTS]
        return any(counted) or not counted

    def finish(self, code: ExitCode, **markers: bool) -> dict[str, Any]:
        """Write the summary and return it; if the watchdog is ending the run,
        wait for the end instead (it writes the summary)."""
        if not self._written.acquire(blocking=False):
            threading.Event().wait()  # the process ends from the watchdog's thread
        return self._write(code, **markers)

    def _write(self, code: ExitCode, **markers: bool) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "summary": True,
            "exit_code": int(code),
            "dry_run": self.dry_run,
            "duration_ms": round((time.monotonic() - self.started) * 1000),
            **self.counts.as_dict(),
            **self.fan_out,
            **{name: True for name, marked in markers.items() if marked},
        }
        logs.summary_logger().info("run finished", extra=summary)
        return {"run_id": self.run_id, **summary}

    def end_now(self, ending: Ending) -> None:
        """Called by the watchdog: write the summary with what is known, end the process."""
        if not self._written.acquire(blocking=False):
            return  # the run ended on its own meanwhile, and is writing its summary
        # A stop asked for by a signal (or a closed stdout: 141, as its
        # stderr line said) outranks the timeout, as in SEVERITY.
        code = exit_code_for(Interrupted(ending.signum)) if ending.signum else ExitCode.NETWORK
        markers = {"forced": True, "timed_out": ending.reason != "forced"}

        def write() -> None:
            log = logging.getLogger(logs.PROJECT)
            if ending.reason == "timed_out":
                log.error(
                    "a call outlived the worst case; ending the run",
                    extra={"call": ending.call, "call_s": ending.seconds},
                )
            elif ending.reason == "deadline":
                log.error("the run's deadline came; ending the run")
            else:
                log.warning("stopped at once by a second signal; work in flight is not counted")
            self._write(code, **markers)

        # Written from a helper thread: if stdout is stuck, the process still ends.
        writer = threading.Thread(target=write, name="summary", daemon=True)
        writer.start()
        writer.join(SUMMARY_WRITE_SECONDS)
        tell_person(code, None)  # a person at a terminal learns why, as for any failure
        exit_now(int(code))


def _run(
    job: Job,
    settings: config.Settings,
    job_settings: Any,
    run: _Run,
    *,
    stop: StopRequest,
    watch: Watchdog,
) -> list[TargetResult]:
    """Run the job here, or in every target; return the targets' results."""
    from . import targets  # imports boto3: only once the settings are valid

    logging.getLogger(logs.PROJECT).info(
        "run started",
        extra={
            "environment": settings.environment,
            "dry_run": settings.dry_run,
            "region": settings.region,
            "settings": dataclasses.asdict(job_settings),
            "worst_case_call_s": settings.worst_case_call_seconds(),
        },
    )
    if not settings.fans_out:
        targets.run_here(
            job, settings, job_settings, run.run_id, run.counts, stop=stop, watch=watch
        )
        return []

    adding = threading.Lock()

    def done(result: TargetResult) -> None:  # runs in the target's own thread and log context
        code = exit_code_for(result.error)
        if result.error is not None:
            _report(logging.getLogger(logs.PROJECT), code, result.error)
        with adding:
            targets.add_counts(run.counts, result.counts)
        logs.summary_logger().info(
            "target finished",
            extra={
                "exit_code": int(code),
                "duration_ms": result.duration_ms,
                **result.counts.as_dict(),
            },
        )

    return targets.run_all(
        job, settings, job_settings, run.run_id, stop=stop, on_done=done, watch=watch
    )


def _report(log: logging.Logger, code: ExitCode, error: BaseException) -> None:
    if code is ExitCode.UNEXPECTED:
        log.critical("unexpected error", exc_info=error)
        return
    if code is ExitCode.OUTPUT_CLOSED:
        log.warning("stopped: standard output was closed; re-run to finish the remaining work")
        return
    if code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED):
        log.warning("stopped by a signal; re-run to finish the remaining work")
        return
    fields: dict[str, object] = {"error_type": type(error).__name__, "exit_code": int(code)}
    if isinstance(error, ConfigError):
        fields["problems"] = list(error.problems)
        for problem in error.problems:  # people at a terminal read stderr
            # One line each, however the bad value was made: a newline or an
            # escape sequence in it is shown, never acted on.
            _to_stderr(f"error: {printable(problem)}")
    log.error("%s: %s", code.name.lower(), str(error) or type(error).__name__, extra=fields)


def _to_stderr(line: str) -> None:
    """Print ``line`` on stderr, or nothing when stderr is closed or full:
    never on stdout (where it would break the JSON lines) and never a
    traceback (the log already has the problem)."""
    stream = sys.stderr
    if stream is None:
        return
    try:
        stream.write(line + "\n")
        stream.flush()
    except (OSError, ValueError):
        pass

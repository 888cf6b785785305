"""The run's entry points: ``main`` for the command, ``execute`` for the
command and the Lambda handler. They are the only place that turns failures
into exit codes (with ``exit_codes``) and that writes the summary line.

``execute`` runs once and returns the summary (the Lambda handler returns
it as is), and ``main`` returns its exit code to the console script
wrapper, the only way the process ends. Everything below them raises.

boto3 is imported only once the settings are valid, so ``--help``,
``--version`` and every configuration error answer at once.

With TARGET_ACCOUNTS or TARGET_REGIONS the job runs once per target (see
``targets``): each target's failure gets its own code on its "target
finished" line, and the run exits with the most severe one.

SIGINT and SIGTERM only set a stop request (``signals``): the job stops
between units of work, the request in flight settles, and the summary still
comes last, with counts that match what happened. A second signal stops at
once. A closed stdout sets the same stop request (``closed_output``) and
ends in exit 141. At a terminal, every failing exit code also prints one
line on stderr (``failure_line``).
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

from . import config, job, logs
from .errors import SIGPIPE, ConfigError, StopRequest
from .exit_codes import ExitCode, exit_code_for, most_severe
from .failure_line import tell_person
from .parser import build_parser
from .signals import stop_on_first_signal
from .summary import fan_out_summary

if TYPE_CHECKING:
    from .targets import TargetResult

__all__ = ["ExitCode", "build_parser", "execute", "exit_code_for", "main", "most_severe"]


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run once and return the exit code; the last log line is always the summary."""
    return int(execute(argv, environ)["exit_code"])


def execute(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    overrides: object = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Run once and return the summary (the last line logged), exit code included.

    ``overrides`` (a Lambda event's ``settings``, say) maps setting variable
    names to values that win over ``environ``; they are validated like the
    rest. ``--help`` and ``--version`` return only an exit code.
    """
    started = time.monotonic()
    run_id = run_id or os.urandom(16).hex()  # as unique as a uuid4, without importing uuid
    env = os.environ if environ is None else environ
    stop = StopRequest()

    def output_closed() -> None:
        stop.request(SIGPIPE)

    fmt, colour = logs.choose_format("auto", env)  # until LOG_FORMAT is read
    log = logs.setup("INFO", run_id, fmt=fmt, colour=colour, on_output_closed=output_closed)
    counts = job.Counts()
    dry_run = True
    restore_signals = stop_on_first_signal(stop)
    fan_out: dict[str, object] = {}
    failure: BaseException | None = None
    try:
        env = config.with_overrides(env, overrides, job.SETTINGS)
        args = build_parser().parse_args(argv)
        settings, job_settings = config.load(args, env, job.JobSettings, job.SETTINGS)
        dry_run = settings.dry_run
        fmt, colour = logs.choose_format(settings.log_format, env)
        log = logs.setup(
            settings.log_level, run_id, fmt=fmt, colour=colour, on_output_closed=output_closed
        )
        results = _run(settings, job_settings, run_id, counts, stop)
        codes = [exit_code_for(result.error) for result in results]
        code = most_severe(codes)
        if settings.fans_out:
            fan_out = fan_out_summary(results, codes)
    except SystemExit as done:  # --help and --version
        return {"exit_code": int(done.code or 0)}
    except BaseException as error:  # noqa: BLE001 - every failure gets a code and a summary
        code = exit_code_for(error)
        failure = error
        _report(log, code, error)
    finally:
        restore_signals()
    if code is not ExitCode.CONFIG:  # configuration errors printed theirs
        tell_person(code, failure)
    summary: dict[str, Any] = {
        "summary": True,
        "exit_code": int(code),
        "dry_run": dry_run,
        "duration_ms": round((time.monotonic() - started) * 1000),
        **counts.as_dict(),
        **fan_out,
    }
    logs.summary_logger().info("run finished", extra=summary)
    return {"run_id": run_id, **summary}


def _run(
    settings: config.Settings,
    job_settings: job.JobSettings,
    run_id: str,
    counts: job.Counts,
    stop: StopRequest,
) -> list[TargetResult]:
    """Run the job here, or in every target; return the targets' results."""
    from . import targets  # imports boto3: only once the settings are valid

    logging.getLogger(__package__).info(
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
        targets.run_here(settings, job_settings, run_id, counts, stop)
        return []

    adding = threading.Lock()

    def done(result: TargetResult) -> None:  # runs in the target's own thread and log context
        code = exit_code_for(result.error)
        if result.error is not None:
            _report(logging.getLogger(__package__), code, result.error)
        with adding:
            targets.add_counts(counts, result.counts)
        logs.summary_logger().info(
            "target finished",
            extra={
                "exit_code": int(code),
                "duration_ms": result.duration_ms,
                **result.counts.as_dict(),
            },
        )

    return targets.run_all(settings, job_settings, run_id, stop, done)


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
            print(f"error: {problem}", file=sys.stderr)
    log.error("%s: %s", code.name.lower(), str(error) or type(error).__name__, extra=fields)

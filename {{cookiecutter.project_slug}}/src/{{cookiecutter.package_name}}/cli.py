"""Command line entry point: flags, exit codes, and the run's summary line.

This module is the only place that turns failures into exit codes:
``execute`` runs once and returns the summary (the Lambda handler returns
it as is), and ``main`` returns its exit code to the console script
wrapper, the only way the process ends. Everything below them raises.

boto3 is imported only once the settings are valid, so ``--help``,
``--version`` and every configuration error answer at once.

With TARGET_ACCOUNTS or TARGET_REGIONS the job runs once per target (see
``targets``): each target's failure gets its own code on its "target
finished" line, and the run exits with the most severe one (``SEVERITY``).

SIGINT and SIGTERM only set a stop request: the job stops between units of
work, the request in flight settles, and the summary still comes last, with
counts that match what happened. A second signal stops at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import IntEnum
from typing import TYPE_CHECKING, Any, NoReturn

from . import config, job, logs
from .errors import ConfigError, Interrupted, PartialFailure, SafetyRefusal, StopRequest
from .overrides import with_overrides

if TYPE_CHECKING:
    from .targets import TargetResult

__all__ = ["ExitCode", "build_parser", "execute", "exit_code_for", "main", "most_severe"]

DIST_NAME = {{ cookiecutter.project_slug | tojson }}


class ExitCode(IntEnum):
    OK = 0
    CONFIG = 1  # configuration or usage error
    CREDENTIALS = 2  # credentials missing or invalid
    NETWORK = 3  # endpoint unreachable, connect or read timeout
    PERMISSION = 4  # access denied
    AWS_ERROR = 5  # any other AWS API error, or items that failed
    REFUSED = 6  # refused for safety (account not allowed)
    UNEXPECTED = 99  # a bug: the traceback is logged
    INTERRUPTED = 130  # SIGINT (Ctrl-C): 128 + 2
    TERMINATED = 143  # SIGTERM: 128 + 15


# Least to most severe: a run over many targets exits with the worst one. A
# stop by signal outranks everything (the run did not finish), then a bug,
# then a safety refusal, then problems that need a person before a re-run.
SEVERITY = (
    ExitCode.OK,
    ExitCode.AWS_ERROR,
    ExitCode.NETWORK,
    ExitCode.PERMISSION,
    ExitCode.CREDENTIALS,
    ExitCode.CONFIG,
    ExitCode.REFUSED,
    ExitCode.UNEXPECTED,
    ExitCode.TERMINATED,
    ExitCode.INTERRUPTED,
)
MAX_FAILED_TARGETS_LISTED = 100  # keeps the summary line well under CloudWatch's event size

# Error codes AWS uses for bad or expired credentials; several come with HTTP 403.
CREDENTIAL_ERROR_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidToken",
        "AuthFailure",
        "MissingAuthenticationToken",
        "RequestExpired",
    }
)
PERMISSION_ERROR_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedAccess",
        "AuthorizationError",
        "AuthorizationErrorException",
        "Forbidden",
        "AllAccessDisabled",
    }
)


class _VersionAction(argparse.Action):
    """Like argparse's "version", but reads the version only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        print(f"{parser.prog} {_version()}")
        parser.exit()


class _PolicyAction(_VersionAction):
    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        from .aws import session_policy

        print(session_policy(job.IAM_ACTIONS))
        parser.exit()


class _Parser(argparse.ArgumentParser):
    """Report usage errors as ConfigError (exit 1): exit 2 means credentials here."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError([f"usage: {message}"])


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=DIST_NAME,
        description=job.DESCRIPTION,
        epilog="Dry-run is the default: nothing is changed unless --apply or DRY_RUN=false.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--apply", dest="dry_run", action="store_false", default=None, help="make the changes"
    )
    mode.add_argument(
        "--dry-run", dest="dry_run", action="store_true", help="only report (the default)"
    )
    config.add_flags(parser, config.COMMON_SETTINGS)
    config.add_flags(parser, job.SETTINGS)
    parser.add_argument("--version", action=_VersionAction, help="show the version and exit")
    parser.add_argument(
        "--print-iam-policy",
        action=_PolicyAction,
        help="print the least-privilege IAM policy for the job (iam-policy.json) and exit",
    )
    return parser


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
    names to values that win over ``environ``, within what ``overrides``
    allows; they are validated like the rest. ``--help`` and ``--version`` return only an exit code.
    """
    started = time.monotonic()
    run_id = run_id or os.urandom(16).hex()  # as unique as a uuid4, without importing uuid
    env = os.environ if environ is None else environ
    log = logs.setup("INFO", run_id)
    counts = job.Counts()
    dry_run = True
    stop = StopRequest()
    restore_signals = _handle_signals(stop)
    fan_out: dict[str, object] = {}
    try:
        env = with_overrides(env, overrides, job.SETTINGS)
        args = build_parser().parse_args(argv)
        settings, job_settings = config.load(args, env, job.JobSettings, job.SETTINGS)
        dry_run = settings.dry_run
        log = logs.setup(settings.log_level, run_id)
        results = _run(settings, job_settings, run_id, counts, stop)
        codes = [exit_code_for(result.error) for result in results]
        code = most_severe(codes)
        if settings.fans_out:
            fan_out = _fan_out_summary(results, codes)
    except SystemExit as done:  # --help and --version
        return {"exit_code": int(done.code or 0)}
    except BaseException as error:  # noqa: BLE001 - every failure gets a code and a summary
        code = exit_code_for(error)
        _report(log, code, error)
    finally:
        restore_signals()
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


def most_severe(codes: Iterable[ExitCode]) -> ExitCode:
    return max(codes, key=SEVERITY.index, default=ExitCode.OK)


def _fan_out_summary(
    results: Sequence[TargetResult], codes: Sequence[ExitCode]
) -> dict[str, object]:
    """Per-target results in brief: how many ended with each code, and which failed."""
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


def _handle_signals(stop: StopRequest) -> Callable[[], None]:
    """Turn SIGINT/SIGTERM into a stop request; return a function that undoes it."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # only the main thread may set handlers
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def request_stop(signum: int, _frame: object) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second signal stops at once
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        stop.request(signum)

    for sig in previous:
        signal.signal(sig, request_stop)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def exit_code_for(error: BaseException | None) -> ExitCode:
    """Map a failure to the documented exit code; most specific first."""
    if error is None:
        return ExitCode.OK
    if isinstance(error, ConfigError):
        return ExitCode.CONFIG
    if isinstance(error, SafetyRefusal):
        return ExitCode.REFUSED
    if isinstance(error, PartialFailure):
        return ExitCode.AWS_ERROR
    if isinstance(error, Interrupted):
        return ExitCode.TERMINATED if error.signum == signal.SIGTERM else ExitCode.INTERRUPTED
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if "botocore" in sys.modules:  # otherwise it cannot be a botocore error
        aws_code = _aws_exit_code(error)
        if aws_code is not None:
            return aws_code
    return ExitCode.UNEXPECTED


def _aws_exit_code(error: BaseException) -> ExitCode | None:
    from botocore import exceptions as aws

    if isinstance(
        error,
        aws.NoCredentialsError
        | aws.PartialCredentialsError
        | aws.CredentialRetrievalError
        | aws.ProfileNotFound
        | aws.TokenRetrievalError
        | aws.SSOError,
    ):
        return ExitCode.CREDENTIALS
    if isinstance(error, aws.ConnectionError | aws.HTTPClientError):
        return ExitCode.NETWORK
    if isinstance(error, aws.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in CREDENTIAL_ERROR_CODES:
            return ExitCode.CREDENTIALS
        if code in PERMISSION_ERROR_CODES or status == 403:
            return ExitCode.PERMISSION
        return ExitCode.AWS_ERROR
    if isinstance(error, aws.BotoCoreError):
        return ExitCode.AWS_ERROR
    return None


def _report(log: logging.Logger, code: ExitCode, error: BaseException) -> None:
    if code is ExitCode.UNEXPECTED:
        log.critical("unexpected error", exc_info=error)
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


def _version() -> str:
    from importlib import metadata  # slow to import; only --version needs it

    try:
        return metadata.version(DIST_NAME)
    except metadata.PackageNotFoundError:
        return "0+unknown"

# Maintained by the template: a template update replaces this file. Your tests go in test_job.py.
"""The run contract: one exit code per kind of failure, and a summary line always last."""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.parsers import ResponseParserError

from {{ cookiecutter.package_name }} import job
from {{ cookiecutter.package_name }}.runtime.outcome.errors import (
    Interrupted,
    StopRequest,
)
from {{ cookiecutter.package_name }}.runtime.run import (
    signals,
)
from {{ cookiecutter.package_name }}.runtime.run.cli import (
    CHANGE_COUNTS,
    ExitCode,
    exit_code_for,
    main,
)

from .conftest import JOB_ENV, RunCli

SUMMARY_FIELDS = {"exit_code", "dry_run", "duration_ms", *job.Counts().as_dict()}


def client_error(code: str, status: int) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": "test"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(cast(Any, response), "TestOperation")


def assert_summary(summary: dict[str, Any], code: int) -> None:
    assert summary["message"] == "run finished"
    assert summary.keys() >= SUMMARY_FIELDS
    assert summary["exit_code"] == code


def test_success_exits_0_in_dry_run_with_summary_last(aws: None, run_cli: RunCli) -> None:
    result = run_cli(env=JOB_ENV)
    assert result.code == ExitCode.OK
    assert_summary(result.summary, 0)
    assert result.summary["dry_run"] is True
    assert len({line["run_id"] for line in result.lines}) == 1


@pytest.mark.parametrize("level", ["ERROR", "CRITICAL"])
def test_summary_is_last_whatever_the_log_level(aws: None, run_cli: RunCli, level: str) -> None:
    result = run_cli(env={**JOB_ENV, "LOG_LEVEL": level})
    assert result.code == ExitCode.OK
    assert [line["message"] for line in result.lines] == ["run finished"]
    assert_summary(result.summary, 0)


def test_bad_environment_exits_1_naming_every_problem(aws: None, run_cli: RunCli) -> None:
    result = run_cli(env={**JOB_ENV, "DRY_RUN": "maybe", "READ_TIMEOUT": "-3"})
    assert result.code == ExitCode.CONFIG
    assert_summary(result.summary, 1)
    error = next(line for line in result.lines if line["level"] == "ERROR")
    assert any(p.startswith("DRY_RUN") for p in error["problems"])
    assert any(p.startswith("READ_TIMEOUT") for p in error["problems"])
    assert "DRY_RUN" in result.stderr


def test_usage_errors_exit_1_not_2(aws: None, run_cli: RunCli) -> None:
    result = run_cli("--no-such-flag", env=JOB_ENV)
    assert result.code == ExitCode.CONFIG
    assert "--no-such-flag" in result.stderr
    assert_summary(result.summary, 1)


@pytest.mark.parametrize("flag", ["--app", "--appl", "--dry", "--regio"])
def test_abbreviated_flags_are_usage_errors(
    aws: None, run_cli: RunCli, api_calls: list[str], flag: str
) -> None:
    result = run_cli(flag, env=JOB_ENV)
    assert result.code == ExitCode.CONFIG
    assert flag in result.stderr
    assert api_calls == []


@pytest.mark.parametrize("url", ["localhost:4566", "ftp://127.0.0.1", "http://", "http://h:port"])
def test_a_bad_endpoint_url_exits_1_naming_it(
    aws: None, run_cli: RunCli, api_calls: list[str], url: str
) -> None:
    result = run_cli(env={**JOB_ENV, "AWS_ENDPOINT_URL": url})
    assert result.code == ExitCode.CONFIG
    assert "error: AWS_ENDPOINT_URL: " in result.stderr
    assert api_calls == []


def test_help_and_version_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(job, ["--help"], {}) == 0
    help_text = capsys.readouterr().out
    assert "--apply" in help_text
    assert "AWS_REGION" in help_text  # flags name their environment variable
    assert main(job, ["--version"], {}) == 0
    slug = "{{ cookiecutter.project_slug }}"
    assert capsys.readouterr().out.startswith(f"{slug} ")


class _Failing(io.StringIO):
    """A stdout whose writes fail with ``error`` once a line contains ``after``."""

    def __init__(self, error: OSError, after: str = "") -> None:
        super().__init__()
        self.error = error
        self.after = after

    def write(self, text: str) -> int:
        if self.after in text:
            raise self.error
        return super().write(text)


def full_disk(after: str = "") -> _Failing:
    return _Failing(OSError(28, "No space left on device"), after)


def test_a_log_that_cannot_be_written_stops_the_run_before_any_aws_call_with_exit_8(
    aws: None,
    api_calls: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdout", full_disk())
    assert main(job, ["--apply"], {**os.environ, **JOB_ENV}) == ExitCode.OUTPUT_FAILED
    assert api_calls == []
    assert capsys.readouterr().err.splitlines() == [
        "error: the log could not be written ([Errno 28] No space left on device); "
        "no change was made (exit 8)"
    ]


@pytest.mark.parametrize(
    ("mode", "made"), [("--apply", "changes were made"), ("--dry-run", "no change was made")]
)
def test_a_log_that_fails_mid_run_stops_it_before_the_next_change(
    aws: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    made: str,
) -> None:
    """Any job: one that counts each change it makes, and checks the stop
    between them. A dry run changes nothing, whatever it counted."""
    changes = next(name for name in job.Counts().as_dict() if name in CHANGE_COUNTS)
    made_before_the_stop: list[int] = []

    def run(*args: Any) -> None:
        counts, stop = args[3], args[4]
        for _ in range(3):
            stop.check()
            setattr(counts, changes, getattr(counts, changes) + 1)
            made_before_the_stop.append(1)
            logging.getLogger(job.__name__).info("changed one")

    monkeypatch.setattr(job, "run", run)
    stdout = full_disk(after="changed one")
    monkeypatch.setattr(sys, "stdout", stdout)
    assert main(job, [mode], {**os.environ, **JOB_ENV}) == ExitCode.OUTPUT_FAILED
    assert len(made_before_the_stop) == 1
    assert "run started" in stdout.getvalue()  # the log worked until the first change
    assert capsys.readouterr().err.splitlines() == [
        f"error: the log could not be written ([Errno 28] No space left on device); {made} (exit 8)"
    ]
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    capsys.readouterr()


def test_every_starter_counts_its_changes_under_a_name_exit_8_reads() -> None:
    assert CHANGE_COUNTS & job.Counts().as_dict().keys()


UNWRITTEN: dict[str, tuple[OSError, ExitCode, str]] = {
    "full": (
        OSError(28, "No space left on device"),
        ExitCode.OUTPUT_FAILED,
        "error: standard output could not be written ([Errno 28] No space left on device); "
        "no change was made (exit 8)",
    ),
    "closed": (
        BrokenPipeError(32, "Broken pipe"),
        ExitCode.OUTPUT_CLOSED,
        "error: standard output was closed; stopping the run (exit 141)",
    ),
}


def test_a_closed_stdout_while_the_settings_are_refused_exits_141_as_its_line_says(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refusal's problems are on stderr; the closed stdout's line promises
    141, and 141 it is (a closed stdout ranks above a refusal, as a full one
    does: exit 8)."""
    _, code, closed_line = UNWRITTEN["closed"]
    monkeypatch.setattr(sys, "stdout", _Failing(BrokenPipeError(32, "Broken pipe")))
    assert main(job, [], {**JOB_ENV, "LOG_LEVEL": "LOUD"}) == code
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert err[0].startswith("error: LOG_LEVEL")
    assert err[1] == closed_line
    monkeypatch.setattr(sys, "stdout", io.StringIO())


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["--print-iam-policy"]])
@pytest.mark.parametrize("stdout", UNWRITTEN)
def test_an_answer_that_cannot_be_written_exits_with_one_line_and_no_traceback(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    stdout: str,
) -> None:
    error, code, line = UNWRITTEN[stdout]
    monkeypatch.setattr(sys, "stdout", _Failing(error))
    assert main(job, argv, {}) == code
    assert capsys.readouterr().err.splitlines() == [line]


def test_help_on_an_ascii_only_stdout_escapes_what_it_cannot_encode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="ascii"))
    monkeypatch.setattr(job, "DESCRIPTION", "Nettoie les journaux \u2014 caf\u00e9 \U0001f680")
    assert main(job, ["--help"], {}) == 0
    assert "Nettoie les journaux \\u2014 caf\\u00e9 \\U0001f680" in raw.getvalue().decode("ascii")


def test_missing_credentials_exit_2(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = run_cli(env=JOB_ENV)
    assert result.code == ExitCode.CREDENTIALS
    assert_summary(result.summary, 2)


def test_unreachable_endpoint_exits_3(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused.
    # botocore reads AWS_ENDPOINT_URL from the process's environment.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    result = run_cli(env={**JOB_ENV, "CONNECT_TIMEOUT": "1", "AWS_MAX_ATTEMPTS": "1"})
    assert result.code == ExitCode.NETWORK
    assert_summary(result.summary, 3)


class NotAws(BaseHTTPRequestHandler):
    """Another server on the endpoint's port: 403 with an empty body to
    everything, as macOS's AirPlay receiver answers on port 5000."""

    def answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = answer  # noqa: N815 - http.server's names

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads the script's output, not the server's."""


@pytest.fixture
def not_aws() -> Iterator[str]:
    """The URL of a server on loopback that is not AWS."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotAws)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_an_endpoint_that_is_not_aws_exits_5_without_a_traceback(
    run_cli: RunCli, not_aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", not_aws)  # botocore reads it from the environment
    result = run_cli(env={**JOB_ENV, "AWS_MAX_ATTEMPTS": "1"})
    assert result.code == ExitCode.AWS_ERROR
    assert_summary(result.summary, 5)
    assert not [line for line in result.lines if "exception" in line]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (client_error("AccessDenied", 403), ExitCode.PERMISSION),
        (client_error("AccessDeniedException", 400), ExitCode.PERMISSION),
        (client_error("SomethingForbidden", 403), ExitCode.PERMISSION),
        (client_error("InvalidClientTokenId", 403), ExitCode.CREDENTIALS),
        (client_error("ExpiredToken", 400), ExitCode.CREDENTIALS),
        (client_error("ThrottlingException", 400), ExitCode.AWS_ERROR),
        (client_error("InternalError", 500), ExitCode.AWS_ERROR),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1"), ExitCode.NETWORK),
        (ResponseParserError("Unable to parse response"), ExitCode.AWS_ERROR),
        (PermissionError("a local file"), ExitCode.UNEXPECTED),
        (Interrupted(2), ExitCode.INTERRUPTED),
        (Interrupted(15), ExitCode.TERMINATED),
        (KeyError("x"), ExitCode.UNEXPECTED),
    ],
)
def test_failures_from_the_job_map_to_their_exit_code(
    aws: None,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
    code: ExitCode,
) -> None:
    def fail(*_: object) -> None:
        raise error

    monkeypatch.setattr(job, "run", fail)
    result = run_cli("--apply", env=JOB_ENV)
    assert result.code == code
    assert exit_code_for(error) is code
    assert_summary(result.summary, int(code))
    assert result.summary["dry_run"] is False


def test_unexpected_errors_exit_99_with_traceback(
    aws: None, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(job, "run", fail)
    result = run_cli(env=JOB_ENV)
    assert result.code == ExitCode.UNEXPECTED
    critical = next(line for line in result.lines if line["level"] == "CRITICAL")
    assert "RuntimeError: bug" in critical["exception"]
    assert_summary(result.summary, 99)


@pytest.mark.parametrize("value", [",", " , ", " "])
def test_a_blank_allow_list_exits_1_before_any_aws_call(
    aws: None, run_cli: RunCli, api_calls: list[str], value: str
) -> None:
    result = run_cli("--apply", env={**JOB_ENV, "ALLOWED_ACCOUNT_IDS": value})
    assert result.code == ExitCode.CONFIG
    assert "ALLOWED_ACCOUNT_IDS" in result.stderr
    assert api_calls == []


def test_account_outside_the_allow_list_exits_6(aws: None, run_cli: RunCli) -> None:
    result = run_cli("--apply", env={**JOB_ENV, "ALLOWED_ACCOUNT_IDS": "111111111111"})
    assert result.code == ExitCode.REFUSED
    assert_summary(result.summary, 6)


def interrupt_and_wait() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)  # the handler runs in the main thread, between bytecodes


def test_first_signal_requests_a_stop_and_a_second_forces_the_end() -> None:
    # What was there before, not Python's default: a shell starts background
    # jobs (and some CI runners their steps) with SIGINT ignored.
    before = signal.getsignal(signal.SIGINT)
    stop = StopRequest()
    forced: list[int] = []
    restore = signals.stop_on_first_signal(stop, forced.append)
    try:
        interrupt_and_wait()
        assert stop.is_set()
        assert stop.signum == signal.SIGINT
        assert forced == []
        interrupt_and_wait()  # no KeyboardInterrupt: the handler only hands it over
        assert forced == [signal.SIGINT]
    finally:
        restore()
    assert signal.getsignal(signal.SIGINT) is before


def test_an_ignored_sigint_stays_ignored_and_sigterm_is_answered() -> None:
    """A shell script's ``cmd &`` starts the run with SIGINT ignored (docs/safety.md, "Signals")."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    restore = signals.stop_on_first_signal(StopRequest(), lambda _: None)
    try:
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        assert callable(signal.getsignal(signal.SIGTERM))
    finally:
        restore()
        signal.signal(signal.SIGINT, before)


def test_python_dash_m_runs_the_same_cli() -> None:
    package = "{{ cookiecutter.package_name }}"
    slug = "{{ cookiecutter.project_slug }}"
    done = subprocess.run(
        [sys.executable, "-m", package, "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith(f"{slug} ")


@pytest.mark.parametrize(
    ("argv", "code"),
    [(["--help"], 0), (["--version"], 0), (["--region", "nowhere"], 1), (["--bogus"], 1)],
)
def test_help_version_and_config_errors_do_not_import_boto3(argv: list[str], code: int) -> None:
    """They answer at once: boto3 and botocore are imported only for real work."""
    package = "{{ cookiecutter.package_name }}"
    program = (
        # As the console script does: a job written for 0.7.0 imports by the old names.
        f"import sys; from {package}.runtime.run import moved; moved.install({package!r}); "
        f"from {package} import job; from {package}.runtime.run.cli import main; "
        f"rc = main(job, {argv!r}, dict()); "
        "print(rc, 'boto3' in sys.modules, 'botocore' in sys.modules, file=sys.stderr)"
    )
    command = [sys.executable, "-c", program]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.stderr.strip().splitlines()[-1] == f"{code} False False"


def test_the_readme_lists_every_exit_code_and_no_other() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    listed = [int(row.split("|")[1]) for row in table.splitlines() if row[:3].strip("| ").isdigit()]
    assert listed == sorted(int(code) for code in ExitCode)


@pytest.mark.parametrize("log_format", ["text", " TEXT "])
def test_a_configuration_error_is_logged_in_the_format_asked_for(
    log_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(job, [], {"LOG_FORMAT": log_format, "LOG_LEVEL": "LOUD"})
    assert code == ExitCode.CONFIG
    lines = capsys.readouterr().out.splitlines()
    assert lines
    assert not any(line.lstrip().startswith("{") for line in lines), lines
    assert "run finished" in lines[-1]


@pytest.mark.parametrize(
    "value",
    ["{a\nerror: a second line}", "\x1b[31mred\x1b[0m", "us-east-1,\x1b]0;title\x07", "\u202eexe"],
)
def test_each_configuration_problem_is_one_stderr_line_with_nothing_to_act_on(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {**JOB_ENV, "ALLOWED_ACCOUNT_IDS": value, "TARGET_REGIONS": value}
    assert main(job, [], env) == ExitCode.CONFIG
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines  # one per problem
    for line in lines:
        assert line.startswith("error: ")
        assert line.isprintable(), repr(line)


class _FullStream(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(28, "No space left on device")


@pytest.mark.parametrize("stderr", ["full", "closed"])
def test_a_configuration_error_with_stderr_full_or_closed_is_logged_without_a_traceback(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, stderr: str
) -> None:
    monkeypatch.setattr(sys, "stderr", _FullStream() if stderr == "full" else None)
    result = run_cli(env={**JOB_ENV, "LOG_LEVEL": "chatty"})
    assert result.code == ExitCode.CONFIG
    # every stdout line is still one JSON object (run_cli parses each), and the
    # problem and the summary are in the log: nothing went to stdout as text
    (error,) = [line for line in result.lines if line.get("problems")]
    assert any("LOG_LEVEL" in problem for problem in error["problems"])
    assert_summary(result.summary, int(ExitCode.CONFIG))

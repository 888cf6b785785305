# Maintained by the template: a template update replaces this file. Your tests go in test_job.py.
"""What a person at a terminal sees: one line on stderr per failure, --help."""

from __future__ import annotations

import io
import signal

import pytest

from {{ cookiecutter.package_name }} import job
from {{ cookiecutter.package_name }}.runtime.access.watchdog import (
    Ending,
)
from {{ cookiecutter.package_name }}.runtime.outcome.errors import (
    LOG,
    SIGPIPE,
    Interrupted,
    OutputFailed,
)
from {{ cookiecutter.package_name }}.runtime.outcome.exit_codes import (
    ExitCode,
    exit_code_for,
)
from {{ cookiecutter.package_name }}.runtime.run import (
    cli,
)
from {{ cookiecutter.package_name }}.runtime.run.failure_line import (
    MEANINGS,
    tell_output_failed,
    tell_person,
)
from {{ cookiecutter.package_name }}.runtime.run.parser import (
    build_parser,
)
from {{ cookiecutter.package_name }}.runtime.settings import (
    config,
)

from .conftest import JOB_ENV, RunCli


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_every_failing_exit_code_but_config_has_a_human_line() -> None:
    failing = set(ExitCode) - {ExitCode.OK, ExitCode.CONFIG, ExitCode.OUTPUT_CLOSED}
    assert set(MEANINGS) == failing  # config errors and a closed output print their own


@pytest.mark.parametrize("code", sorted(MEANINGS))
def test_the_line_is_printed_at_a_terminal_only(code: ExitCode) -> None:
    terminal, pipe = Terminal(), io.StringIO()
    error = RuntimeError("detail\nwith\x1b[31m a second line")
    tell_person(code, error, terminal)
    tell_person(code, error, pipe)
    (line,) = terminal.getvalue().splitlines()
    assert line.startswith(f"error: {MEANINGS[code]}")
    assert line.endswith(f"(exit {int(code)})")
    assert "\x1b" not in line
    assert pipe.getvalue() == ""


@pytest.mark.parametrize("changes_made", [True, False])
def test_a_log_that_failed_is_told_on_stderr_at_a_terminal_or_not(changes_made: bool) -> None:
    """The log, where everything else is said, is what failed: stderr is all there is."""
    error = OutputFailed(LOG, "[Errno 28] No space left\non device", changes_made=changes_made)
    for stream in (Terminal(), io.StringIO()):
        tell_output_failed(ExitCode.OUTPUT_FAILED, error, stream)
        made = "changes were made" if changes_made else "no change was made"
        assert stream.getvalue().splitlines() == [
            f"error: the log could not be written ([Errno 28] No space left\\u000aon device); "
            f"{made} (exit 8)"
        ]


def test_a_failed_run_at_a_terminal_says_why_on_stderr(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = run_cli(env=JOB_ENV)
    assert result.code == ExitCode.CREDENTIALS
    (line,) = terminal.getvalue().splitlines()
    assert line.startswith("error: credentials missing, invalid or expired: ")
    assert line.endswith("(exit 2)")


@pytest.mark.parametrize(
    ("ending", "code"),
    [
        (Ending("forced", signum=signal.SIGINT), ExitCode.INTERRUPTED),
        (Ending("forced", signum=signal.SIGTERM), ExitCode.TERMINATED),
        (Ending("timed_out", call="s3.ListObjectsV2", seconds=95.0), ExitCode.NETWORK),
        (Ending("deadline"), ExitCode.NETWORK),
    ],
)
def test_a_run_ended_at_once_still_says_why_at_a_terminal(
    ending: Ending, code: ExitCode, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    ended: list[int] = []
    monkeypatch.setattr(cli, "exit_now", ended.append)
    cli._Run("run", job.Counts()).end_now(ending)
    assert ended == [int(code)]
    (line,) = terminal.getvalue().splitlines()
    assert line == f"error: {MEANINGS[code]} (exit {int(code)})"


def test_a_closed_output_maps_to_141() -> None:
    assert exit_code_for(Interrupted(SIGPIPE)) is ExitCode.OUTPUT_CLOSED
    assert int(ExitCode.OUTPUT_CLOSED) == 141


def test_help_marks_required_settings_as_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser(job).parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for setting in (*config.COMMON_SETTINGS, *job.SETTINGS):
        if setting.flag:
            described = f"{setting.help} (env {' or '.join(setting.env)}"
            described = " ".join(described.split())
            assert described in text
            after = text.split(described, 1)[1].split(")", 1)[0]
            assert ("required" in after) == setting.required, setting.name

"""The run's time limits hold for a real process, whatever the endpoint does.

Each test runs the baked CLI as its own process against an endpoint that
never lets a call finish on its own (``Trickle`` sends a valid answer one
byte at a time, each within the read timeout), or a ``credential_process``
that never returns. They assert on exit codes, the summary line and which
processes are left, never on elapsed time; the subprocess timeouts are only
a safety net against a hang.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from .e2e import SLUG, base_env, sealed_env, sigint_at_default
from .fault_proxy import Trickle

SAFETY_NET = 180  # seconds; a run that takes this long has hung
PACKAGE = "aws_automation_script"
# One attempt of 1 s + 3 s: the stated worst case of a call is 4 s. The
# trickle's bytes come every 0.3 s, far within the 3 s read timeout even on
# a loaded machine, so only the bound can end the call.
SMALL_BOUND = {"CONNECT_TIMEOUT": "1", "READ_TIMEOUT": "3", "AWS_MAX_ATTEMPTS": "1"}


class Process:
    """The CLI running in the background, its stdout read line by line."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        self.popen = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=sigint_at_default,
        )
        self.lines: list[dict[str, Any]] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, message: str) -> dict[str, Any]:
        """Read lines until one with ``message``; fail if the output ends first."""
        while True:
            line = self._queue.get(timeout=SAFETY_NET)
            assert line is not None, f"output ended before {message!r}"
            record = json.loads(line)
            self.lines.append(record)
            if record["message"] == message:
                return record

    def finish(self) -> tuple[int, list[dict[str, Any]], str]:
        code = self.popen.wait(timeout=SAFETY_NET)
        while (line := self._queue.get(timeout=SAFETY_NET)) is not None:
            self.lines.append(json.loads(line))
        assert self.popen.stderr is not None
        return code, self.lines, self.popen.stderr.read()


def gone(pid: int) -> bool:
    """Wait until ``pid`` has died (SIGKILL is delivered asynchronously); a
    zombie waiting for its reaper counts as dead. False if it still runs
    after the safety net."""
    give_up = time.monotonic() + SAFETY_NET
    while time.monotonic() < give_up:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def start(project: Any, env: dict[str, str], *argv: str) -> Process:
    return Process([str(project.venv_bin / SLUG), *argv], env, project.path)


def trickled(project: Any, tmp_path: Path, trickle: Trickle) -> dict[str, str]:
    """The CLI's environment with every call sent to the trickling endpoint."""
    return base_env(project, trickle.url, tmp_path) | {"S3_BUCKET": "some-bucket"}


def assert_summary(lines: list[dict[str, Any]], code: int, **markers: bool) -> dict[str, Any]:
    summary = lines[-1]
    assert summary["message"] == "run finished"
    assert summary["exit_code"] == code
    assert {"dry_run", "duration_ms", "matched", "deleted", "failed"} <= summary.keys()
    for name, value in markers.items():
        assert summary.get(name, False) is value, (name, summary)
    return summary


def test_a_trickling_endpoint_ends_the_run_at_its_bound_with_exit_3(
    project: Any, tmp_path: Path
) -> None:
    with Trickle(interval=0.3) as trickle:
        run = start(project, trickled(project, tmp_path, trickle) | SMALL_BOUND)
        started = run.wait_for("run started")
        code, lines, stderr = run.finish()
    assert started["worst_case_call_s"] == 4
    assert code == 3, stderr
    assert_summary(lines, 3, timed_out=True, forced=True)
    ended = next(line for line in lines if line["message"].startswith("a call outlived"))
    assert ended["call"] == "GetCallerIdentity"
    assert "Traceback" not in stderr
    assert gone(run.popen.pid)


def test_a_hung_call_after_a_first_sigterm_ends_at_its_bound_with_143(
    project: Any, tmp_path: Path
) -> None:
    """ECS sends one SIGTERM and waits: the run must end by itself, with the
    signal's code (a signal outranks a timeout), before the task is killed."""
    with Trickle(interval=0.3) as trickle:
        run = start(project, trickled(project, tmp_path, trickle) | SMALL_BOUND)
        run.wait_for("run started")
        assert trickle.requested.wait(SAFETY_NET)
        run.popen.send_signal(signal.SIGTERM)
        code, lines, stderr = run.finish()
    assert code == 143, stderr
    assert_summary(lines, 143, timed_out=True, forced=True)
    assert "Traceback" not in stderr


def test_a_credential_process_that_never_returns_is_ended_with_the_run(
    project: Any, endpoint: str, tmp_path: Path
) -> None:
    pid_file, grandchild_file = tmp_path / "process.pid", tmp_path / "grandchild.pid"
    hang = tmp_path / "hang.sh"  # starts a child of its own, then waits forever
    hang.write_text('#!/bin/sh\nsleep 3600 &\necho $! > "$2"\necho $$ > "$1"\nwait\n')
    hang.chmod(0o755)
    config = tmp_path / "aws-config"
    config.write_text(f"[default]\ncredential_process = {hang} {pid_file} {grandchild_file}\n")
    env = {
        **base_env(project, endpoint, tmp_path),
        **SMALL_BOUND,
        "AWS_CONFIG_FILE": str(config),
        "S3_BUCKET": "some-bucket",
    }
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(name)
    run = start(project, env)
    code, lines, stderr = run.finish()
    assert code == 3, stderr
    assert_summary(lines, 3, timed_out=True)
    ended = next(line for line in lines if line["message"].startswith("a call outlived"))
    assert ended["call"] == "credential lookup for profile 'default'"
    assert gone(int(pid_file.read_text())), "the credential_process was left running"
    assert gone(int(grandchild_file.read_text())), "its child was left running"
    assert gone(run.popen.pid)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_second_signal_during_a_hung_call_forces_a_summary(
    project: Any, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    with Trickle(interval=0.3) as trickle:
        run = start(project, trickled(project, tmp_path, trickle))
        run.wait_for("run started")
        assert trickle.requested.wait(SAFETY_NET)  # the run is inside the call
        run.popen.send_signal(sig)
        run.wait_for(
            "stop requested by a signal: stopping after the work in flight; "
            "a second signal stops at once"
        )
        run.popen.send_signal(sig)
        returned, lines, stderr = run.finish()
    assert returned == code, stderr
    assert_summary(lines, code, forced=True)
    assert "Traceback" not in stderr
    assert "KeyboardInterrupt" not in stderr


# A test-only sitecustomize: it runs before the console script's first
# line, and makes the process send itself a signal at a chosen point, the
# moment it looks for a module (SIGNAL_AT, a module name), or as the
# interpreter exits ("<exit>", after every exit handler of the run). With
# RECORD_IMPORTS it only writes down the module names, in order: the points.
START_HOOK = """
import atexit
import os
import sys

AT = os.environ.get("SIGNAL_AT", "")
SIGNAL = int(os.environ.get("SIGNAL_NUMBER", "0"))
RECORD = os.environ.get("RECORD_IMPORTS", "")


class Points:
    def find_spec(self, name, path=None, target=None):
        if RECORD:
            with open(RECORD, "a", encoding="utf-8") as record:
                record.write(name + "\\n")
        elif name == AT:
            os.kill(os.getpid(), SIGNAL)
        return None


sys.meta_path.insert(0, Points())
if AT == "<exit>":
    atexit.register(os.kill, os.getpid(), SIGNAL)
"""
EXIT = "<exit>"


@pytest.fixture(scope="module")
def start_hook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("start-hook")
    (folder / "sitecustomize.py").write_text(START_HOOK, encoding="utf-8")
    return folder


def signalled(
    project: Any, start_hook: Path, argv: list[str], env: dict[str, str], **popen: Any
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        env={**env, "PYTHONPATH": str(start_hook)},
        cwd=project.path,
        capture_output=True,
        text=True,
        timeout=SAFETY_NET,
        check=False,
        **{"preexec_fn": sigint_at_default, **popen},
    )


@pytest.fixture(scope="module")
def start_up_points(
    project: Any, start_hook: Path, tmp_path_factory: pytest.TempPathFactory
) -> list[str]:
    """Every module the console script looks for once the package's console
    module is found, in order, for ``--version``: the start-up, the run's
    handler going in, the version looked up. Before it, only the import
    system looking for the package runs, which no code of the package can
    reach."""
    record = tmp_path_factory.mktemp("points") / "imports"
    env = {**sealed_env(project.venv_bin, record.parent), "RECORD_IMPORTS": str(record)}
    done = signalled(project, start_hook, [str(project.venv_bin / SLUG), "--version"], env)
    assert done.returncode == 0, done.stderr
    names = record.read_text(encoding="utf-8").split()
    return names[names.index(f"{PACKAGE}.console") + 1 :]


def chosen(points: list[str]) -> list[tuple[str, signal.Signals]]:
    """Each of the package's own modules and every third other one, with the
    two signals in turn; the process's exit with both."""
    picked = [
        name for index, name in enumerate(points) if name.startswith(PACKAGE) or index % 3 == 0
    ]
    signals = (signal.SIGINT, signal.SIGTERM)
    return [(name, signals[index % 2]) for index, name in enumerate(picked)] + [
        (EXIT, signal.SIGINT),
        (EXIT, signal.SIGTERM),
    ]


def test_a_signal_at_any_point_of_start_up_or_exit_ends_with_its_code_and_no_traceback(
    project: Any, start_hook: Path, start_up_points: list[str], tmp_path: Path
) -> None:
    """From the console script's first line (once the package is found) to the
    process's end: SIGINT exits 130, SIGTERM 143, nothing on stderr."""
    assert f"{PACKAGE}.runtime.run.cli" in start_up_points
    assert "importlib.metadata" in start_up_points  # looked up after the run's handler is in
    command = [str(project.venv_bin / SLUG), "--version"]
    failures = []
    for point, sig in chosen(start_up_points):
        env = {
            **sealed_env(project.venv_bin, tmp_path),
            "SIGNAL_AT": point,
            "SIGNAL_NUMBER": str(int(sig)),
        }
        done = signalled(project, start_hook, command, env)
        if done.returncode != 128 + sig or done.stderr:
            failures.append((point, sig.name, done.returncode, done.stderr[-300:]))
    assert failures == []


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize(
    "point", [f"{PACKAGE}.runtime.run.cli", f"{PACKAGE}.runtime.output.logs", EXIT]
)
def test_python_dash_m_answers_a_signal_the_same_way(
    project: Any, start_hook: Path, tmp_path: Path, point: str, sig: signal.Signals, code: int
) -> None:
    """``python -m``: the package's ``__main__`` imports the console module first."""
    env = {
        **sealed_env(project.venv_bin, tmp_path),
        "SIGNAL_AT": point,
        "SIGNAL_NUMBER": str(int(sig)),
    }
    done = signalled(
        project, start_hook, [str(project.venv_bin / "python"), "-m", PACKAGE, "--version"], env
    )
    assert done.returncode == code, done.stderr
    assert done.stderr == ""


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_after_the_summary_ends_the_process_quietly_with_its_code(
    project: Any,
    endpoint: str,
    bucket: str,
    start_hook: Path,
    tmp_path: Path,
    sig: signal.Signals,
    code: int,
) -> None:
    """The run is over (its summary written, with exit 0) when the signal
    comes, as the interpreter shuts down: the process still ends quietly."""
    env = {
        **base_env(project, endpoint, tmp_path),
        "S3_BUCKET": bucket,
        "SIGNAL_AT": EXIT,
        "SIGNAL_NUMBER": str(int(sig)),
    }
    done = signalled(project, start_hook, [str(project.venv_bin / SLUG)], env)
    assert done.returncode == code, done.stderr
    assert done.stderr == ""
    summary = json.loads(done.stdout.splitlines()[-1])
    assert (summary["message"], summary["exit_code"]) == ("run finished", 0)


def test_a_sigint_ignored_at_start_stays_ignored_and_sigterm_still_ends_the_run(
    project: Any, start_hook: Path, tmp_path: Path
) -> None:
    """As a shell script's ``cmd &`` starts it: a Ctrl-C meant for the script
    leaves the run alone (docs/safety.md, "Signals")."""
    command = [str(project.venv_bin / SLUG), "--version"]
    for point in (f"{PACKAGE}.runtime.run.cli", "importlib.metadata", EXIT):
        env = {**sealed_env(project.venv_bin, tmp_path), "SIGNAL_AT": point, "SIGNAL_NUMBER": "2"}
        ignored = signalled(
            project,
            start_hook,
            command,
            env,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
        assert (ignored.returncode, ignored.stderr) == (0, ""), point
        assert ignored.stdout.startswith(f"{SLUG} ")
        env["SIGNAL_NUMBER"] = str(int(signal.SIGTERM))
        terminated = signalled(
            project,
            start_hook,
            command,
            env,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
        assert (terminated.returncode, terminated.stderr) == (143, ""), point

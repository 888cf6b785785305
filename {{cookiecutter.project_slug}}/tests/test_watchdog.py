# Maintained by the template: a template update replaces this file. Your tests go in test_job.py.
"""The watchdog: calls in flight are bounded, and the run ends when one is not.

The watchdog only decides; ending the process is ``cli``'s callback, so
these tests hand it one that records the ending instead. Real processes (a
trickling endpoint, a ``credential_process`` that never returns, a second
signal during a hung call) are exercised by the template's own test suite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from {{ cookiecutter.package_name }} import job
from {{ cookiecutter.package_name }}.runtime.access import (
    watchdog,
)
from {{ cookiecutter.package_name }}.runtime.access.watchdog import (
    Ending,
    Watchdog,
)
from {{ cookiecutter.package_name }}.runtime.outcome.errors import (
    StopRequest,
)
from {{ cookiecutter.package_name }}.runtime.run import (
    cli,
)
from {{ cookiecutter.package_name }}.runtime.run.process_exit import (
    descendants,
)

from .conftest import ACCOUNT_ID, JOB_ENV, REGION

WAIT = 60  # seconds: only a safety net, a passing test never waits this long


class Recorder:
    def __init__(self) -> None:
        self.endings: list[Ending] = []
        self.ended = threading.Event()

    def __call__(self, ending: Ending) -> None:
        self.endings.append(ending)
        self.ended.set()


def test_a_call_that_outlives_the_bound_ends_the_run() -> None:
    end = Recorder()
    watch = Watchdog(end, StopRequest())
    watch.bound = 0.01
    watch.start()
    with watch.watching("credential lookup"):
        assert end.ended.wait(WAIT)
    assert end.endings[0].reason == "timed_out"
    assert end.endings[0].call == "credential lookup"
    assert end.endings[0].seconds >= 0.01


def test_every_call_of_a_watched_session_is_in_flight_until_it_returns(aws: None) -> None:
    watch = Watchdog(Recorder(), StopRequest())
    base = boto3.Session(region_name=REGION)
    watch.register(base._session)  # the botocore session, as aws.Clients registers
    sts = base.client("sts")
    during: list[list[str]] = []
    sts.meta.events.register("before-send", lambda **_: during.append(watch.in_flight()))
    sts.get_caller_identity()
    assert during == [["GetCallerIdentity"]]
    assert watch.in_flight() == []


def test_a_failed_call_leaves_nothing_in_flight(aws: None) -> None:
    from botocore.exceptions import ClientError

    watch = Watchdog(Recorder(), StopRequest())
    base = boto3.Session(region_name=REGION)
    watch.register(base._session)
    with pytest.raises(ClientError):
        base.client("organizations").describe_organization()  # no organization exists
    assert watch.in_flight() == []


def test_a_call_that_fails_before_it_is_sent_leaves_nothing_in_flight(aws: None) -> None:
    """An error between botocore's before-call and the request (here, raised
    by a later before-call handler) sends no after-call event."""
    watch = Watchdog(Recorder(), StopRequest())
    base = boto3.Session(region_name=REGION)
    watch.register(base._session)
    sts = base.client("sts")

    during: list[list[str]] = []

    def fail(**_: Any) -> None:
        during.append(watch.in_flight())
        raise RuntimeError("a handler failed")

    sts.meta.events.register("before-call", fail)  # runs after the watchdog's
    try:
        sts.get_caller_identity()
    except RuntimeError:
        pass  # dropping the error (and its frames) drops botocore's request context
    else:
        pytest.fail("the failing handler did not run")
    assert during == [["GetCallerIdentity"]]
    assert watch.in_flight() == []


def test_a_second_signal_forces_the_end() -> None:
    end = Recorder()
    watch = Watchdog(end, StopRequest())
    watch.start()
    watch.force(signal.SIGTERM)
    assert end.ended.wait(WAIT)
    assert end.endings == [Ending("forced", signum=signal.SIGTERM)]


def test_a_deadline_first_asks_for_a_stop_then_ends_the_run() -> None:
    end = Recorder()
    stop = StopRequest()
    watch = Watchdog(end, stop)
    watch.start(deadline=0.2)
    assert stop.wait(WAIT)
    assert stop.out_of_time
    assert end.ended.wait(WAIT)
    assert end.endings == [Ending("deadline")]


def test_a_run_past_its_deadline_stops_gracefully_with_exit_3(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stop request comes at once (all of the deadline is grace); the job
    stops at its next check, and the summary says the run timed out."""
    forced: list[int] = []
    monkeypatch.setattr(watchdog, "DEADLINE_GRACE_SECONDS", 3600.0)
    monkeypatch.setattr(watchdog, "DEADLINE_GRACE_SHARE", 1.0)
    monkeypatch.setattr(cli, "exit_now", forced.append)

    def waits_for_a_stop(*args: Any) -> None:
        stop: StopRequest = args[4]
        assert stop.wait(WAIT)
        stop.check()

    monkeypatch.setattr(job, "run", waits_for_a_stop)
    summary = cli.execute(job, [], {**JOB_ENV, "ALLOWED_ACCOUNT_IDS": ACCOUNT_ID}, deadline=3600.0)
    assert summary["exit_code"] == 3
    assert summary["timed_out"] is True
    assert "forced" not in summary
    assert forced == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="children are found in /proc")
def test_exit_now_leaves_no_child_process_behind(tmp_path: Path) -> None:
    package = "{{ cookiecutter.package_name }}"
    program = (
        "import subprocess, sys\n"
        f"from {package}.runtime.run.process_exit import exit_now\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(3600)'])\n"
        "print(child.pid, flush=True)\n"
        "exit_now(7)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=WAIT, check=False
    )
    assert done.returncode == 7
    assert ended(int(done.stdout))


def ended(pid: int) -> bool:
    """Wait until ``pid`` has died (SIGKILL is delivered asynchronously); a
    zombie waiting for its reaper counts as dead."""
    give_up = time.monotonic() + WAIT
    while time.monotonic() < give_up:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="children are found in /proc")
def test_descendants_are_found_below_this_process() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    try:
        assert child.pid in descendants(os.getpid())
    finally:
        child.kill()
        child.wait()


def test_a_blocked_log_never_keeps_the_watchdog_from_ending_the_run() -> None:
    """With stdout blocked, the main thread waits in a write holding the log
    handler's lock; the watchdog's own warning must not wait there too, or a
    second signal would never end the run."""
    import logging

    class Stuck(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.entered = threading.Event()

        def handle(self, record: logging.LogRecord) -> bool:
            self.entered.set()
            return super().handle(record)  # waits for the lock the "write" holds

        def emit(self, record: logging.LogRecord) -> None:
            pass

    end = Recorder()
    stop = StopRequest()
    watch = Watchdog(end, stop)
    handler = Stuck()
    logging.getLogger().addHandler(handler)
    handler.acquire()  # as a write stuck on a pipe nobody reads would hold it
    try:
        watch.start()
        stop.request(signal.SIGTERM)  # the first signal: the watchdog tells the log
        assert handler.entered.wait(WAIT)
        watch.force(signal.SIGTERM)  # the second: the run must end at once
        assert end.ended.wait(WAIT)
    finally:
        handler.release()
        logging.getLogger().removeHandler(handler)
        watch.close()
    assert end.endings[0].reason == "forced"
    assert end.endings[0].signum == signal.SIGTERM

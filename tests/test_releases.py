"""A project baked at an earlier release keeps working with this one.

0.7.0 is commit ``b5354dc`` of this repository, whose history holds every
release: the tests bake it from there (``git archive``), as a project made
then was baked.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cookiecutter.main import cookiecutter

from .combinations import TEMPLATE, Combination, installable
from .test_platform import SKIP_WHEN_COPYING, answers, commit_all, cruft, git

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
    the command answers, and the practice tests (dry-run by default, JSON
    logs, typed exit codes, validation before any call) and the command's
    tests pass through the new runtime, in their own processes too."""
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
            "tests/test_cli.py",
            "tests/test_config.py::test_these_refusals_do_not_import_botocore",
            check=False,
        )
    finally:
        for name, text in current.items():
            (project.path / name).write_text(text, encoding="utf-8")
    assert helped.returncode == 0, helped.stderr
    assert '"Statement"' in policy.stdout, policy.stderr
    assert practices.returncode == 0, practices.stdout[-4000:]
    assert " passed" in practices.stdout.strip().splitlines()[-1]


# --- updating a 0.7.0 project ----------------------------------------------------


def differences(left: Path, right: Path) -> list[str]:
    """The files that differ between two project trees (recorded answers aside)."""
    skip = {".git", ".cruft.json", ".cookiecutter.json"}

    def files(root: Path) -> dict[str, bytes]:
        return {
            str(path.relative_to(root)): path.read_bytes()
            for path in root.rglob("*")
            if path.is_file() and not skip.intersection(path.relative_to(root).parts)
        }

    mine, theirs = files(left), files(right)
    return sorted(
        name for name in mine.keys() | theirs.keys() if mine.get(name) != theirs.get(name)
    )


def test_cruft_updates_a_0_7_0_project_and_keeps_the_owner_s_edits(tmp_path: Path) -> None:
    """A project made with cruft at 0.7.0, whose job its owner edited, updates
    to this release: the runtime moves under ``runtime/``, the edit survives,
    and the result is a fresh bake of this release plus the edit. From then
    on the owner's files are skipped: a later template change to the job
    leaves the project's job alone and still reaches the template's files."""
    repo = tmp_path / "template"
    repo.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(TEMPLATE), "archive", RELEASE_0_7_0], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(repo)], input=archive.stdout, check=True)
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "0.7.0")
    baked_at = git(repo, "rev-parse", "HEAD").strip()
    for old in repo.iterdir():
        if old.name != ".git":
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    shutil.copytree(TEMPLATE, repo, ignore=SKIP_WHEN_COPYING, dirs_exist_ok=True)
    commit_all(repo, "this release")

    projects = tmp_path / "projects"
    created = cruft(
        tmp_path, "create", str(repo), "--checkout", baked_at, "--no-input",
        "--output-dir", str(projects),
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    project = projects / "aws-automation-script"
    package = answers(project)["package_name"]
    job = project / "src" / package / "job.py"
    assert (project / "src" / package / "cli.py").is_file()  # 0.7.0's flat layout
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "generated")
    edit = "# Our team: this job also cleans the nightly exports.\n"
    source = job.read_text(encoding="utf-8")
    job.write_text(
        source.replace("\nDESCRIPTION = ", f"\n{edit}DESCRIPTION = ", 1), encoding="utf-8"
    )
    commit_all(project, "our edit")

    updated = cruft(project, "update", "--skip-apply-ask", "--allow-untracked-files")
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert edit in job.read_text(encoding="utf-8")
    assert not (project / "src" / package / "cli.py").exists()
    assert (project / "src" / package / "runtime" / "run" / "cli.py").is_file()
    fresh = Path(cookiecutter(str(repo), no_input=True, output_dir=str(tmp_path / "fresh")))
    assert differences(project, fresh) == [f"src/{package}/job.py"]
    assert job.read_text(encoding="utf-8").replace(edit, "") == (
        fresh / "src" / package / "job.py"
    ).read_text(encoding="utf-8")
    commit_all(project, "updated")

    # Later, the template changes the starter's job and the README.
    starter_job = repo / "templates" / "starters" / answers(project)["starter_job"] / "job.py"
    starter_job.write_text(starter_job.read_text(encoding="utf-8") + "\n# a later fix\n")
    readme = repo / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nA later note.\n")
    commit_all(repo, "a later release")
    before = job.read_text(encoding="utf-8")
    again = cruft(project, "update", "--skip-apply-ask", "--allow-untracked-files")
    assert again.returncode == 0, again.stdout + again.stderr
    assert job.read_text(encoding="utf-8") == before  # the owner's file: skipped
    assert "A later note." in (project / "README.md").read_text(encoding="utf-8")

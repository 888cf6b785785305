"""What a platform team relies on: org defaults, recorded answers, cruft
updates and links, practice tests that catch a removed guardrail, CI files."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cookiecutter.main import cookiecutter

from .baked_project import BakedProject
from .combinations import COMBINATIONS
from .conftest import TEMPLATE

ORG_DEFAULTS = TEMPLATE / "examples" / "org-defaults.yaml"
TEMPLATE_VERSION = json.loads((TEMPLATE / "cookiecutter.json").read_text())["_template_version"]
SKIP_WHEN_COPYING = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"
)


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Template Tests",
        "GIT_AUTHOR_EMAIL": "tests@example.com",
        "GIT_COMMITTER_NAME": "Template Tests",
        "GIT_COMMITTER_EMAIL": "tests@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def cruft(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cruft", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    """A git copy of the template as it is on disk, as a team would publish it."""
    repo = tmp_path / "template"
    shutil.copytree(TEMPLATE, repo, ignore=SKIP_WHEN_COPYING)
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "template")
    return repo


def answers(project: Path) -> dict[str, Any]:
    return json.loads((project / ".cookiecutter.json").read_text(encoding="utf-8"))


# --- org defaults -------------------------------------------------------------------


def org_defaults() -> dict[str, Any]:
    return yaml.safe_load(ORG_DEFAULTS.read_text())["default_context"]


def test_org_config_file_bakes_with_no_input(tmp_path: Path) -> None:
    out = Path(
        cookiecutter(
            str(TEMPLATE), no_input=True, config_file=str(ORG_DEFAULTS), output_dir=str(tmp_path)
        )
    )
    recorded = answers(out)
    for key, value in org_defaults().items():
        assert recorded[key] == value, key
    assert (out / "Dockerfile").exists()  # a switch the org file turns on
    assert (out / "template.yaml").exists()  # and its deploy target


def test_org_config_file_prefills_the_prompts(tmp_path: Path) -> None:
    """A person who presses Enter at every prompt gets the org's values."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "cookiecutter", "--config-file", str(ORG_DEFAULTS)),
            *("--output-dir", str(tmp_path), str(TEMPLATE)),
        ],
        input="\n" * 40,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "(eu-west-1)" in done.stdout  # the region prompt shows the org default
    recorded = answers(tmp_path / "aws-automation-script")
    for key, value in org_defaults().items():
        assert recorded[key] == value, key


def test_answers_and_template_version_are_recorded(cookies: Any) -> None:
    combo = next(c for c in COMBINATIONS if c.id == "blank-minimal")
    result = cookies.bake(extra_context=combo.context)
    recorded = answers(Path(result.project_path))
    assert recorded["_template_version"] == TEMPLATE_VERSION
    for key, value in combo.context.items():
        assert recorded[key] == value


# --- cruft --------------------------------------------------------------------------


def install_and_test(project: Path) -> None:
    baked = BakedProject(project, {})
    baked.install("3.11")
    baked.run(baked.venv_bin / "pytest", "-q", "-p", "no:cacheprovider")


def test_cruft_round_trip_create_update_check(template_repo: Path, tmp_path: Path) -> None:
    projects = tmp_path / "projects"
    created = cruft(
        tmp_path, "create", str(template_repo), "--no-input", "--output-dir", str(projects)
    )
    assert created.returncode == 0, created.stderr
    project = projects / "aws-automation-script"
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "generated")
    assert cruft(project, "check").returncode == 0

    # The platform team ships a change and a new version.
    readme = template_repo / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text() + "\n## Runbook\n\nPage the platform team.\n")
    settings = json.loads((template_repo / "cookiecutter.json").read_text())
    settings["_template_version"] = "99.0.0"
    (template_repo / "cookiecutter.json").write_text(json.dumps(settings, indent=2) + "\n")
    commit_all(template_repo, "add a runbook section")

    outdated = cruft(project, "check")
    assert outdated.returncode != 0
    assert "out of date" in (outdated.stdout + outdated.stderr).lower()

    updated = cruft(project, "update", "--skip-apply-ask", "--allow-untracked-files")
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "Page the platform team." in (project / "README.md").read_text()
    assert answers(project)["_template_version"] == "99.0.0"
    assert cruft(project, "check").returncode == 0
    install_and_test(project)


def test_plain_cookiecutter_project_can_be_linked_later(
    template_repo: Path, tmp_path: Path
) -> None:
    project = Path(
        cookiecutter(str(template_repo), no_input=True, output_dir=str(tmp_path / "out"))
    )
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "generated")
    recorded = (project / ".cookiecutter.json").read_text()
    linked = cruft(project, "link", str(template_repo), "--no-input", "--extra-context", recorded)
    assert linked.returncode == 0, linked.stdout + linked.stderr
    state = json.loads((project / ".cruft.json").read_text())
    assert state["context"]["cookiecutter"]["project_slug"] == "aws-automation-script"
    assert cruft(project, "check").returncode == 0
    diff = cruft(project, "diff", "--exit-code")
    assert diff.returncode == 0, diff.stdout
    # a team weakens a guardrail in a template-owned file: cruft diff shows the edit
    practices = project / "tests" / "test_practices.py"
    practices.write_text(practices.read_text().replace("<= 10", "<= 600"))
    commit_all(project, "relax the timeout check")
    edited = cruft(project, "diff", "--exit-code")
    assert edited.returncode != 0
    assert "<= 600" in edited.stdout


# --- practice tests catch a removed guardrail ----------------------------------------

GUARDRAIL_EDITS = [
    (
        "dry-run default",
        "config.py",
        'DRY_RUN",), validate.boolean, default="true"',
        'DRY_RUN",), validate.boolean, default="false"',
        "practice_6",
    ),
    ("client timeouts", "aws.py", '"connect_timeout": settings.connect_timeout,', "", "practice_2"),
    ("UTC timestamps", "log_fields.py", "tz=UTC", "tz=None", "practice_1"),
    (
        "account guard",
        "aws.py",
        "if allow_list and allowed and identity.account not in allowed:",
        "if allow_list and not allowed:",
        "account_guard",
    ),
    ("input validation", "config.py", "validate.region,", "str.strip,", "practice_8"),
    (
        "hardcoded key",
        "job.py",
        "log = logging.getLogger(__name__)",
        'log = logging.getLogger(__name__)\nKEY = "AKIAABCDEFGHIJKLMNOP"',
        "practice_3",
    ),
]


@pytest.mark.parametrize(
    ("module", "before", "after", "failing"),
    [edit[1:] for edit in GUARDRAIL_EDITS],
    ids=[edit[0] for edit in GUARDRAIL_EDITS],
)
def test_removing_a_guardrail_fails_the_practice_tests(
    installed: Any, module: str, before: str, after: str, failing: str
) -> None:
    project = installed(next(c for c in COMBINATIONS if c.id == "defaults"))
    source = project.path / "src" / project.context["package_name"] / module
    original = source.read_text()
    assert before in original
    source.write_text(original.replace(before, after))
    try:
        run = project.run(
            project.venv_bin / "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_practices.py",
            check=False,
        )
    finally:
        source.write_text(original)
    assert run.returncode == 1, run.stdout
    failed = re.findall(r"FAILED tests/test_practices.py::(\S+)", run.stdout)
    assert any(failing in name for name in failed), run.stdout


# --- CI files and versioning -------------------------------------------------------------


def test_template_ci_runs_the_readme_test_command() -> None:
    workflow = yaml.safe_load((TEMPLATE / ".github" / "workflows" / "ci.yml").read_text())
    assert workflow["permissions"] == {"contents": "read"}
    steps = workflow["jobs"]["test"]["steps"]
    assert any(step.get("run", "").strip() == "bash scripts/test" for step in steps)
    for step in steps:
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
    assert "bash scripts/test" in (TEMPLATE / "README.md").read_text()
    assert "scripts/test" in (TEMPLATE / ".ci" / "run").read_text()


def test_generated_workflow_checks_drift_when_linked(cookies: Any) -> None:
    project = cookies.bake()
    workflow = yaml.safe_load((Path(project.project_path) / ".github/workflows/ci.yml").read_text())
    steps = {step.get("name"): step for step in workflow["jobs"]["checks"]["steps"]}
    drift = steps["Template drift"]
    assert "cruft check" in drift["run"]
    assert drift["if"] == "hashFiles('.cruft.json') != ''"
    assert {"Tests", "Lint", "Format", "Types"} <= steps.keys()


def test_every_template_version_has_a_changelog_entry() -> None:
    changelog = (TEMPLATE / "CHANGELOG.md").read_text()
    assert re.search(rf"^## {re.escape(TEMPLATE_VERSION)} \(\d{{4}}-\d\d-\d\d\)$", changelog, re.M)

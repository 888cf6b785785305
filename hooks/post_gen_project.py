"""Trim the generated project to the chosen switches and print next steps.

What each answer removes lives in one table, ``OPTIONAL_PATHS``: each
path there is kept only when its condition holds for the answers. Removing a
path that is already gone is not an error, so the hook is safe to run again
on a project it has already trimmed (template updates re-run it).
Stdlib only.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ANSWERS_JSON = r"""
{
  "project_slug": {{ cookiecutter.project_slug | tojson }},
  "package_name": {{ cookiecutter.package_name | tojson }},
  "python_version": {{ cookiecutter.python_version | tojson }},
  "include_github_actions": {{ cookiecutter.include_github_actions | tojson }},
  "include_pre_commit": {{ cookiecutter.include_pre_commit | tojson }},
  "include_dockerfile": {{ cookiecutter.include_dockerfile | tojson }},
  "deploy_target": {{ cookiecutter.deploy_target | tojson }}
}
"""


def _container(answers: Mapping[str, Any]) -> bool:
    # ECS Fargate runs the image, so it brings the Dockerfile whatever the switch says.
    return bool(answers["include_dockerfile"] or answers["deploy_target"] == "ecs-fargate")


# paths (relative to the project root) -> when they are kept
OPTIONAL_PATHS: dict[tuple[str, ...], Callable[[Mapping[str, Any]], bool]] = {
    (".github",): lambda answers: bool(answers["include_github_actions"]),
    (".pre-commit-config.yaml",): lambda answers: bool(answers["include_pre_commit"]),
    ("Dockerfile", ".dockerignore"): _container,
    ("template.yaml", "target-role.yaml", "tests/test_deploy.py"): (
        lambda answers: answers["deploy_target"] != "none"
    ),
    ("Makefile", "src/{package}/handler.py", "tests/test_handler.py"): (
        lambda answers: answers["deploy_target"] == "lambda"
    ),
}


def paths_to_remove(answers: Mapping[str, Any]) -> list[str]:
    return [
        path.format(package=answers["package_name"])
        for paths, kept in OPTIONAL_PATHS.items()
        if not kept(answers)
        for path in paths
    ]


def remove(root: Path, relative: str) -> None:
    target = root / relative
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists() or target.is_symlink():
        target.unlink()


def next_steps(answers: Mapping[str, Any]) -> str:
    """What to type next. The chosen minimum Python is named because an older
    ``python3`` sends an old pip into a dependency search that runs for many minutes; pip is
    upgraded first because a current one refuses such an interpreter at once."""
    slug, python = answers["project_slug"], answers["python_version"]
    hooks = "\n  pre-commit install" if answers["include_pre_commit"] else ""
    return f"""
Created {slug}. Next steps:

  cd {slug} && git init
  python{python} -m venv .venv && . .venv/bin/activate
  python -m pip install --upgrade pip && pip install -e '.[dev]'{hooks}
  pytest && ruff check . && ruff format --check . && mypy
  {slug} --help

With uv, the venv and install lines are:
  uv venv --python {python} && . .venv/bin/activate && uv pip install -e '.[dev]'

Dry-run is the default: nothing changes without --apply (or DRY_RUN=false).
"""


def main(root: Path | None = None) -> int:
    answers = json.loads(ANSWERS_JSON)
    project = root if root is not None else Path.cwd()
    for relative in paths_to_remove(answers):
        remove(project, relative)
    print(next_steps(answers))
    return 0


if __name__ == "__main__":
    sys.exit(main())

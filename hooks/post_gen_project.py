"""Trim the generated project to the chosen switches, record the template
commit and print next steps.

What each answer removes lives in one table, ``OPTIONAL_PATHS``: each
path there is kept only when its condition holds for the answers. Removing a
path that is already gone is not an error, so the hook is safe to run again
on a project it has already trimmed (template updates re-run it).

The commit the template was at is added to ``.cookiecutter.json`` as
``_template_commit_id`` (cruft passes it as ``_commit``; for plain cookiecutter
it is the HEAD of the template's git checkout), so ``cruft link --checkout``
can link a project to the version it was baked from, not the newest.

The next steps are for a new project only. ``cruft update`` and ``cruft
diff`` re-bake the template into a fresh temporary directory to compare, with
``_commit`` in the context and without the ``_output_dir`` plain cookiecutter
sets; such a bake prints nothing. Stdlib only.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
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

# Where this bake comes from (cookiecutter and cruft set different keys).
BAKE_JSON = r"""
{
  "repo_dir": {{ cookiecutter.get("_repo_dir", "") | tojson }},
  "commit": {{ cookiecutter.get("_commit", "") | tojson }},
  "output_dir": {{ cookiecutter.get("_output_dir", "") | tojson }},
  "version": {{ cookiecutter.get("_template_version", "") | tojson }}
}
"""
COMMIT_RE = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


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


def next_steps(answers: Mapping[str, Any], project: Path) -> str:
    """What to type next. The chosen minimum Python is named because an older
    ``python3`` sends an old pip into a dependency search that runs for many minutes; pip is
    upgraded first because a current one refuses such an interpreter at once."""
    slug, python = answers["project_slug"], answers["python_version"]
    hooks = "\n  pre-commit install" if answers["include_pre_commit"] else ""
    return f"""
Created {slug} in {project}. Next steps:

  cd {shlex.quote(where_from_shell(project))} && git init
  python{python} -m venv .venv && . .venv/bin/activate
  python -m pip install --upgrade pip && pip install -e '.[dev]'{hooks}
  pytest && ruff check . && ruff format --check . && mypy && lint-imports && pyright
  {slug} --help

With uv, the venv and install lines are:
  uv venv --python {python} && . .venv/bin/activate && uv pip install -e '.[dev]'

Dry-run is the default: nothing changes without --apply (or DRY_RUN=false).
"""


def where_from_shell(project: Path) -> str:
    """The project's path as the person's shell reaches it: this hook runs in
    the project, the shell stayed where cookiecutter was started (its
    ``PWD``), e.g. in the template's clone with ``--output-dir ..``."""
    shell = os.environ.get("PWD")
    if not shell or not Path(shell).is_absolute():
        return str(project)
    relative = os.path.relpath(project, shell)
    return str(project) if relative.startswith(os.pardir + os.sep + os.pardir) else relative


def template_dir(bake: Mapping[str, str]) -> Path | None:
    """The template's folder. Cookiecutter passes it as given on its command
    line (often ``.``), relative to where it was started, while this hook runs
    in the new project: resolve it against the shell's ``PWD`` and accept it
    only if it holds this very template version."""
    if not bake["repo_dir"]:
        return None
    path = Path(bake["repo_dir"])
    if not path.is_absolute():
        if not os.environ.get("PWD"):
            return None
        path = Path(os.environ["PWD"]) / path
    try:
        settings = json.loads((path / "cookiecutter.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(settings, dict) or settings.get("_template_version") != bake["version"]:
        return None
    return path


def git_head(repo_dir: Path) -> str | None:
    """The commit checked out in ``repo_dir`` when it is a git checkout's top."""
    try:
        done = subprocess.run(
            ["git", "-C", str(repo_dir), "rev-parse", "--show-toplevel", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = done.stdout.split()
    if done.returncode != 0 or len(lines) != 2:
        return None
    top, head = lines
    if Path(top).resolve() != repo_dir.resolve() or not COMMIT_RE.fullmatch(head):
        return None
    return head


def template_commit(bake: Mapping[str, str]) -> str | None:
    if COMMIT_RE.fullmatch(bake["commit"]):
        return bake["commit"]
    folder = template_dir(bake)
    return git_head(folder) if folder is not None else None


def record_commit(project: Path, commit: str) -> None:
    """Add (or replace) ``_template_commit_id`` in ``.cookiecutter.json``, as text,
    so the rendered file keeps its layout."""
    recorded = project / ".cookiecutter.json"
    if not recorded.is_file():
        return
    text = recorded.read_text(encoding="utf-8")
    line = f'  "_template_commit_id": {json.dumps(commit)},\n'
    existing = re.compile(r'^  "_template_commit_id": "[^"]*",\n', re.M)
    text = (
        existing.sub(line, text) if existing.search(text) else text.replace("{\n", "{\n" + line, 1)
    )
    recorded.write_text(text, encoding="utf-8")


def is_new_project(bake: Mapping[str, str], project: Path) -> bool:
    """False for cruft's comparison bakes: ``_commit`` and no ``_output_dir`` in
    the context, into a fresh ``tmp*`` directory right under the temp dir."""
    if bake["output_dir"] or not bake["commit"]:
        return True
    scratch = project.resolve().parent
    in_scratch = scratch.parent == Path(tempfile.gettempdir()).resolve()
    return not (in_scratch and scratch.name.startswith("tmp"))


def main(root: Path | None = None) -> int:
    answers = json.loads(ANSWERS_JSON)
    bake = json.loads(BAKE_JSON)
    project = root if root is not None else Path.cwd()
    for relative in paths_to_remove(answers):
        remove(project, relative)
    commit = template_commit(bake)
    if commit is not None:
        record_commit(project, commit)
    if is_new_project(bake, project):
        print(next_steps(answers, project))
    return 0


if __name__ == "__main__":
    sys.exit(main())

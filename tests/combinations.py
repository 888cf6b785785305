"""The option combinations every template test is driven by.

Structure tests bake every combination; the slower install-and-test runs use
the ones marked ``install``. Keep this the only list of combinations.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Free text that would break a template pasting values into code unescaped.
# Characters outside the Basic Multilingual Plane (emoji) included: JSON
# escapes them as surrogate pairs, which TOML refuses.
HOSTILE_TEXT = 'O\'Brien "Ops" \\ \'\'\' """ ${HOME} $(touch pwned) `id` <b>&amp;</b> ünï 🚀 𝄞 日本'


TEMPLATE = Path(__file__).resolve().parent.parent
_QUESTIONS = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
STARTER_JOBS: tuple[str, ...] = tuple(_QUESTIONS["starter_job"])
DEPLOY_TARGETS: tuple[str, ...] = tuple(_QUESTIONS["deploy_target"])


@dataclass(frozen=True)
class Combination:
    id: str
    context: dict[str, Any] = field(default_factory=dict)
    install: bool = False
    # The README's "Writing your job" guide is applied to it as written
    # (tests/test_guide.py): a blank bake with no deploy target.
    follows_guide: bool = False
    # Regions of other partitions the starter's own tests (tests/test_job.py)
    # also run in: the combination is baked again with each as its
    # aws_region and those tests run in this combination's installed
    # environment (tests/test_generated.py): one run of those tests per
    # region, not another installed combination's install and whole suite.
    also_regions: tuple[str, ...] = ()

    def answer(self, key: str) -> Any:
        defaults = {
            "starter_job": "s3-cleanup",
            "python_version": "3.11",
            "include_github_actions": True,
            "include_pre_commit": True,
            "include_dockerfile": False,
            "deploy_target": "none",
        }
        return self.context.get(key, defaults.get(key))


COMBINATIONS = (
    Combination("defaults", install=True),
    Combination(
        "blank-minimal",
        {
            "starter_job": "blank",
            "project_name": "Tag Auditor",
            "aws_region": "eu-west-1",
            "allowed_account_ids": "111111111111, 222222222222",
            "include_github_actions": False,
            "include_pre_commit": False,
            "deploy_target": "ecs-fargate",
        },
        install=True,
    ),
    Combination(
        "hostile-text-govcloud",
        {
            "project_name": HOSTILE_TEXT,
            "project_slug": "hostile-tool",
            "description": HOSTILE_TEXT,
            "author_name": HOSTILE_TEXT,
            "author_email": "ops+scripts@example.com",
            "aws_region": "us-gov-west-1",
            "include_dockerfile": True,
            "deploy_target": "lambda",
        },
        install=True,
    ),
    Combination(
        "s3-everything-py312-govcloud",
        {
            "python_version": "3.12",
            "aws_region": "us-gov-west-1",
            "include_dockerfile": True,
            "deploy_target": "ecs-fargate",
        },
    ),
    Combination(
        "blank-py313-china",
        {
            "starter_job": "blank",
            "python_version": "3.13",
            "aws_region": "cn-north-1",
            "include_pre_commit": False,
            "deploy_target": "lambda",
        },
    ),
    Combination(
        "blank-plain",
        {"starter_job": "blank", "aws_region": "ap-southeast-2"},
        follows_guide=True,
    ),
    Combination(
        "s3-py314-no-ci",
        {"python_version": "3.14", "include_github_actions": False, "include_dockerfile": True},
    ),
    Combination(
        "log-retention-lambda-py312-china",
        {
            "starter_job": "log-retention",
            "python_version": "3.12",
            "aws_region": "cn-north-1",
            "deploy_target": "lambda",
        },
        install=True,
    ),
    Combination(
        "log-retention-ecs",
        {
            "starter_job": "log-retention",
            "aws_region": "eu-central-1",
            "deploy_target": "ecs-fargate",
        },
    ),
    Combination(
        "log-retention-plain",
        {"starter_job": "log-retention", "include_github_actions": False},
    ),
    Combination(
        "access-key-audit-ecs-py313",
        {
            "starter_job": "access-key-audit",
            "python_version": "3.13",
            "include_pre_commit": False,
            "deploy_target": "ecs-fargate",
        },
        install=True,
        also_regions=("cn-north-1",),
    ),
    Combination(
        "access-key-audit-lambda-govcloud",
        {
            "starter_job": "access-key-audit",
            "aws_region": "us-gov-west-1",
            "deploy_target": "lambda",
        },
    ),
    Combination(
        "access-key-audit-plain",
        {"starter_job": "access-key-audit", "include_dockerfile": True},
    ),
)


@functools.cache
def interpreter(version: str) -> str | None:
    """A working python executable for ``version`` on this machine, if there is one.

    Looks on PATH, then in pyenv's versions folder (its shims exist for
    versions that are installed but not active, and fail when run).
    """
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(map(str, pyenv_root.glob(f"versions/{version}.*/bin/python{version}")))
    probe = "import sys; print('%d.%d' % sys.version_info[:2])"
    for candidate in filter(None, candidates):
        done = subprocess.run(
            [candidate, "-c", probe], capture_output=True, text=True, check=False, timeout=30
        )
        if done.returncode == 0 and done.stdout.strip() == version:
            return candidate
    return None


def installable() -> list[Combination]:
    """The install combinations whose Python is on this machine.

    Each install runs the project's whole suite, so the Python versions are
    spread over the starters (3.11 for s3-cleanup and blank, 3.12 and 3.13
    for the others) instead of repeating one starter at every version.
    """
    return [
        combo
        for combo in COMBINATIONS
        if combo.install and interpreter(combo.answer("python_version"))
    ]

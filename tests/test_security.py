"""A static security pass over baked projects: bandit on the code and a
secrets scan of every file. (ruff's S rules also run in every installed
project's own lint.)"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from .combinations import COMBINATIONS, Combination
from .conftest import bake

SCANNED = [combo for combo in COMBINATIONS if combo.id in {"defaults", "blank-minimal"}]


@pytest.mark.parametrize("combination", SCANNED, ids=lambda combo: combo.id)
def test_bandit_finds_nothing_in_the_generated_code(cookies: Any, combination: Combination) -> None:
    project = bake(cookies, combination)
    done = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", "src", "-f", "json", "-q"],
        cwd=project.path,
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(done.stdout)
    assert report["results"] == [], json.dumps(report["results"], indent=2)
    assert report["metrics"]["_totals"]["loc"] > 300  # it really read the code


@pytest.mark.parametrize("combination", SCANNED, ids=lambda combo: combo.id)
def test_no_secrets_in_any_generated_file(cookies: Any, combination: Combination) -> None:
    project = bake(cookies, combination)
    files = [str(path.relative_to(project.path)) for path in project.files()]
    done = subprocess.run(
        [sys.executable, "-m", "detect_secrets", "scan", *files],
        cwd=project.path,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout)
    assert len(files) > 20
    assert report["results"] == {}, json.dumps(report["results"], indent=2)

"""Install baked projects in fresh virtualenvs and run their own checks."""

from __future__ import annotations

from typing import Any

import pytest

from .combinations import Combination, installable


@pytest.mark.parametrize("combination", installable(), ids=lambda combo: combo.id)
def test_project_passes_its_own_tests_lint_and_types(
    installed: Any, combination: Combination
) -> None:
    project = installed(combination)
    bin_dir = project.venv_bin
    tests = project.run(bin_dir / "pytest", "-q", "-p", "no:cacheprovider")
    summary = tests.stdout.strip().splitlines()[-1]
    assert " passed" in summary, summary
    assert "failed" not in summary, summary
    assert "skipped" not in summary, summary
    passed = int(summary.split(" passed")[0].split()[-1])
    assert passed >= 10, summary
    # The starter's own tests ran, not only the shared ones.
    starter_tests = project.run(bin_dir / "pytest", "-q", "--collect-only", "tests/test_job.py")
    collected = [line for line in starter_tests.stdout.splitlines() if "::" in line]
    assert len(collected) >= 5, starter_tests.stdout
    project.run(bin_dir / "ruff", "check", ".")
    project.run(bin_dir / "ruff", "format", "--check", ".")
    project.run(bin_dir / "mypy")

"""Install baked projects in fresh virtualenvs and run their own checks."""

from __future__ import annotations

import importlib.util
import json
import re
from typing import Any

import pytest

from .combinations import TEMPLATE, Combination, installable


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


# What the venv's own interpreter prints: each top-level import name and the
# distributions that provide it.
TOP_LEVEL_PROBE = (
    "import importlib.metadata as m, json; print(json.dumps(m.packages_distributions()))"
)


@pytest.mark.parametrize("combination", installable(), ids=lambda combo: combo.id)
def test_the_hook_refuses_every_import_name_the_environment_holds(
    installed: Any, combination: Combination
) -> None:
    """A package named like anything the project's environment installs (its
    dependencies, test and tool dependencies, and theirs) would shadow it: the
    hook's generated list holds every such name. A dependency added without
    running scripts/update-shadowed-names fails here."""
    project = installed(combination)
    done = project.run(project.venv_bin / "python", "-c", TOP_LEVEL_PROBE)
    own = project.path.name  # the project's own distribution (its slug)
    names = {
        name
        for name, distributions in json.loads(done.stdout).items()
        if name.isidentifier() and any(canonical(d) != own for d in distributions)
    }
    assert "pytest" in names
    assert "hypothesis" in names
    missing = names - hook_names("DEPENDENCY_NAMES")
    assert not missing, f"run scripts/update-shadowed-names: {sorted(missing)} not refused"


def canonical(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def hook_names(constant: str) -> frozenset[str]:
    path = TEMPLATE / "hooks" / "pre_gen_project.py"
    spec = importlib.util.spec_from_file_location("unrendered_pre_gen_project", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names: frozenset[str] = getattr(module, constant)
    return names

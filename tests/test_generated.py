"""Install baked projects in fresh virtualenvs and run their own checks."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
from typing import Any

import pytest

from . import environment_names
from .combinations import TEMPLATE, Combination, installable
from .conftest import bake


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
    project.run(bin_dir / "pyright", "--pythonpath", bin_dir / "python")
    project.run(bin_dir / "lint-imports", "--no-cache")


ELSEWHERE = [(combo, region) for combo in installable() for region in combo.also_regions]


@pytest.mark.parametrize(
    ("combination", "region"), ELSEWHERE, ids=[f"{c.id}-{r}" for c, r in ELSEWHERE]
)
def test_the_starter_tests_pass_in_the_other_partitions(
    cookies: Any, installed: Any, combination: Combination, region: str
) -> None:
    """The starter's own tests, baked for a region of another partition, in
    the installed environment (the same dependencies: only the region
    differs). moto keeps each partition's IAM and ARNs apart, as AWS does,
    so a fixture that writes ``aws`` where the region's partition is
    ``aws-cn`` or ``aws-us-gov`` fails here."""
    venv_bin = installed(combination).venv_bin
    context = {**combination.context, "aws_region": region}
    elsewhere = bake(cookies, dataclasses.replace(combination, context=context))
    assert elsewhere.context["aws_region"] == region
    # The package of this bake, not the installed one: first on the path.
    env = {**os.environ, "PYTHONPATH": str(elsewhere.path / "src")}
    package = elsewhere.context["package_name"]
    where = elsewhere.run(
        venv_bin / "python", "-c", f"import {package}; print({package}.__file__)", env=env
    )
    assert where.stdout.strip().startswith(str(elsewhere.path)), where.stdout
    done = elsewhere.run(
        venv_bin / "python",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/test_job.py",
        env=env,
    )
    summary = done.stdout.strip().splitlines()[-1]
    assert " passed" in summary, summary
    assert "failed" not in summary, summary
    assert "skipped" not in summary, summary


@pytest.mark.parametrize("combination", installable(), ids=lambda combo: combo.id)
def test_the_hook_refuses_every_name_the_environment_holds(
    installed: Any, combination: Combination
) -> None:
    """A package named like anything the project's environment installs (its
    dependencies, test and tool dependencies, and theirs) would shadow it; a
    slug named like one of its distributions could not install (the project
    would require itself), like a file in its bin would replace it. The hook's
    generated lists hold every such name. A dependency added without running
    scripts/update-shadowed-names fails here."""
    project = installed(combination)
    names = environment_names.read(project.path / ".venv", project.path.name)
    assert {"pytest", "hypothesis"} <= names.imports
    assert {"pytest", "hypothesis", "pyyaml", "python-dateutil"} <= names.distributions
    assert {"python", "pytest", "ruff"} <= names.commands
    update = "run scripts/update-shadowed-names"
    missing = names.imports - hook_names("DEPENDENCY_NAMES")
    assert not missing, f"{update}: modules {sorted(missing)} not refused"
    missing = names.distributions - hook_names("DISTRIBUTION_NAMES")
    assert not missing, f"{update}: distributions {sorted(missing)} not refused"
    missing = names.commands - hook_names("COMMAND_NAMES")
    assert not missing, f"{update}: commands {sorted(missing)} not refused"


def hook_names(constant: str) -> frozenset[str]:
    path = TEMPLATE / "hooks" / "pre_gen_project.py"
    spec = importlib.util.spec_from_file_location("unrendered_pre_gen_project", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names: frozenset[str] = getattr(module, constant)
    return names


# An import that breaks the layout, planted in a file of each room: the
# runtime importing the job, and a lower runtime group importing a higher one.
PLANTED = [
    ("runtime/output/redact.py", "from ... import job", "never imports the job"),
    ("runtime/settings/validate.py", "from ..run import cli", "import only the groups below"),
]


@pytest.mark.parametrize("combination", installable()[:1], ids=lambda combo: combo.id)
@pytest.mark.parametrize(("module", "line", "contract"), PLANTED, ids=["job", "layer"])
def test_the_import_contract_fails_on_an_upward_import(
    installed: Any, combination: Combination, module: str, line: str, contract: str
) -> None:
    """``lint-imports`` (the project's own check) breaks on an import that
    crosses the layout's rooms the wrong way, naming the contract, and keeps
    the project as baked."""
    project = installed(combination)
    path = project.path / "src" / project.context["package_name"] / module
    source = path.read_text(encoding="utf-8")
    try:
        path.write_text(f"{source}\n{line}  # planted\n", encoding="utf-8")
        broken = project.run(project.venv_bin / "lint-imports", "--no-cache", check=False)
    finally:
        path.write_text(source, encoding="utf-8")
    assert broken.returncode != 0, broken.stdout
    assert f"{contract}" in broken.stdout
    assert "BROKEN" in broken.stdout
    kept = project.run(project.venv_bin / "lint-imports", "--no-cache", check=False)
    assert kept.returncode == 0, kept.stdout

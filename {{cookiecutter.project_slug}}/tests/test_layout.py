# Maintained by the template: a template update replaces this file. Your tests go in test_job.py.
"""The package's two rooms: the job at the top, the template's runtime under it.

``lint-imports`` checks that the runtime never imports the job and that its
groups import only the groups below them; these tests hold the rest of the
layout's promises.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.runtime.run import moved

PACKAGE = "{{ cookiecutter.package_name }}"
SOURCE = Path(__file__).resolve().parent.parent / "src" / PACKAGE


def test_the_runtime_s_init_files_import_nothing() -> None:
    """Importing a group costs nothing until one of its modules is asked for."""
    for init in sorted((SOURCE / "runtime").rglob("__init__.py")):
        tree = ast.parse(init.read_text(encoding="utf-8"))
        imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
        assert imports == [], init


@pytest.mark.parametrize(("old", "new"), sorted(moved.MOVED.items()))
def test_a_0_7_0_name_is_the_module_at_its_new_place(old: str, new: str) -> None:
    """``from . import logs`` in a job written for 0.7.0 gets the runtime's
    module itself (one module object: registered secrets, say, are shared)."""
    assert importlib.import_module(f"{PACKAGE}.{old}") is importlib.import_module(
        f"{PACKAGE}.runtime.{new}"
    )


def test_the_old_names_are_the_modules_that_moved_and_no_other() -> None:
    """Every moved name exists at its new place, none is at the top any more,
    and a name that never existed is still an error."""
    for old, new in moved.MOVED.items():
        assert not (SOURCE / f"{old}.py").exists(), old
        assert (SOURCE / "runtime" / Path(*new.split("."))).with_suffix(".py").is_file(), new
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(f"{PACKAGE}.no_such_module")


# The package's modules that are the template's: the entry points.
ENTRY_POINTS = {"__init__", "__main__", "console", "handler"}


def runtime_imports(path: Path) -> list[tuple[str, str]]:
    """Each (runtime module, name) a module of the job imports from the runtime."""
    found: list[tuple[str, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom) or node.level != 1 or node.module is None:
            continue
        if node.module == "runtime" or not node.module.startswith("runtime."):
            continue
        group = node.module.removeprefix("runtime.")
        for alias in node.names:
            if "." in group:  # from .runtime.<group>.<module> import <name>
                found.append((group, alias.name))
            else:  # from .runtime.<group> import <module>
                found.append((f"{group}.{alias.name}", "*"))
    return found


def test_the_job_imports_only_the_runtime_s_interface() -> None:
    """Every module of the job (``job.py`` and the modules beside it) imports
    from the runtime only what ``job_contract.INTERFACE`` lists: a runtime
    module, whole, or names in its ``__all__``. The rest of the runtime may
    change in any release; these keep their names for one."""
    from {{ cookiecutter.package_name }}.runtime.run.job_contract import (
        INTERFACE,
    )

    job_modules = [path for path in SOURCE.glob("*.py") if path.stem not in ENTRY_POINTS]
    assert any(path.stem == "job" for path in job_modules)
    outside = []
    for path in job_modules:
        for module, name in runtime_imports(path):
            if module not in INTERFACE:
                outside.append((path.name, module, name))
                continue
            exported = importlib.import_module(f"{PACKAGE}.runtime.{module}").__all__
            if name != "*" and name not in exported:
                outside.append((path.name, module, name))
    assert outside == []


def test_every_interface_module_says_what_it_exports() -> None:
    from {{ cookiecutter.package_name }}.runtime.run.job_contract import (
        INTERFACE,
    )

    for module in sorted(INTERFACE):
        loaded = importlib.import_module(f"{PACKAGE}.runtime.{module}")
        assert loaded.__all__, module
        assert all(hasattr(loaded, name) for name in loaded.__all__), module

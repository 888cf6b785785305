# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""The runtime's modules by the names they had up to 0.7.0, until 0.9.0.

Up to 0.7.0 the runtime's modules stood beside ``job.py``, and a job
imported them from there (``from . import logs``, ``from .config import
Settings``). 0.8.0 moved them under ``runtime/``. So that a job written
against 0.7.0 keeps working for one release while its owner updates its
imports (the CHANGELOG lists each move), an import of an old name gets the
module at its new place: the same module object, so state such as the
registered secrets is shared, never copied. 0.9.0 removes the old names.

The entry points put the finder on ``sys.meta_path`` just before they
import the job (``console`` once its signal handlers are in place, and
``handler``); it answers only the old names, under this package.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec
    from types import ModuleType

__all__ = ["MOVED", "MOVED_TO", "install"]

# Each module a 0.7.0 job could import, by the group it is in now under
# runtime/ (its name is unchanged).
MOVED_TO = {
    "access": ("aws", "watchdog"),
    "run": ("cli", "failure_line", "parser", "process_exit", "signals", "summary", "targets"),
    "settings": ("config", "overrides", "validate"),
    "output": ("closed_output", "log_fields", "log_formats", "logs", "redact", "secret_calls"),
    "outcome": ("errors", "exit_codes"),
}
# The same, by old name: the module's place under runtime/ ("output.logs").
MOVED = {name: f"{group}.{name}" for group, names in MOVED_TO.items() for name in names}


class _Moved:
    """Finds ``<package>.<old name>`` and loads it as the module's new place."""

    def __init__(self, package: str) -> None:
        self.package = package

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        """A spec for an old name under this package; None for any other name."""
        parent, _, leaf = name.rpartition(".")
        if parent != self.package or leaf not in MOVED:
            return None
        from importlib.machinery import ModuleSpec  # noqa: PLC0415 - only for an old name

        # A loader by its methods (importlib.abc would cost an import of its own).
        return ModuleSpec(name, cast("Loader", self))

    def create_module(self, spec: ModuleSpec) -> None:
        """The import system's default module: ``exec_module`` replaces it."""

    def exec_module(self, module: ModuleType) -> None:
        """Put the moved module where the old name is looked up.

        The import system hands the importer whatever ``sys.modules`` holds
        under the name once this returns, so the old name and the new one are
        the same module.
        """
        new_name = MOVED[module.__name__.rpartition(".")[2]]
        sys.modules[module.__name__] = importlib.import_module(f"{self.package}.runtime.{new_name}")


def install(package: str) -> None:
    """Answer the old names under ``package`` (once, however often called)."""
    installed = (
        isinstance(finder, _Moved) and finder.package == package for finder in sys.meta_path
    )
    if not any(installed):
        sys.meta_path.append(_Moved(package))

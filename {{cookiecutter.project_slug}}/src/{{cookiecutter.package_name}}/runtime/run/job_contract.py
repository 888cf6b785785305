# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""What the runtime needs from the project's job: the job contract, as a type.

The runtime never imports the job. The entry points (``console``,
``__main__``, ``handler``) import the project's ``job`` module and hand it
to ``cli.main`` or ``cli.execute``; from there it travels as a ``Job``.
Keeping the dependency this way round is what lets a template update
replace the runtime without touching the job, and it is checked: the
project's import contract (``[tool.importlinter]`` in ``pyproject.toml``)
fails if anything under ``runtime`` imports the job or its modules.

A module satisfies ``Job`` by defining these names at its top level; mypy
and pyright check the ``job`` module against it where an entry point hands
it over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..access.aws import Clients
    from ..outcome.errors import StopRequest
    from ..settings.config import Setting, Settings

__all__ = ["INTERFACE", "Job"]

# The runtime's modules a job may import from, by ``runtime.<group>.<module>``;
# from each, the names in its ``__all__``. This is the runtime's interface: a
# module or name here that moves or is renamed keeps its old name for one
# release (``moved``), while anything else under runtime/ may change in any
# release. ``tests/test_layout.py`` holds every module of the job to it.
INTERFACE = frozenset(
    {
        "access.aws",
        "access.item_errors",
        "access.stop_aware",
        "access.tag_keys",
        "outcome.errors",
        "outcome.exit_codes",
        "output.log_formats",
        "output.logs",
        "settings.config",
        "settings.validate",
    }
)


class Job(Protocol):
    """The names a job module declares for the runtime (see docs/writing-your-job.md)."""

    @property
    def DESCRIPTION(self) -> str:  # noqa: N802 - a module constant, by the contract's name
        """One line for ``--help``."""
        ...

    @property
    def IAM_ACTIONS(self) -> Mapping[str, str]:  # noqa: N802
        """Each IAM action the job calls, with the resource it needs it on."""
        ...

    @property
    def REGIONAL(self) -> bool:  # noqa: N802
        """False for a global service (IAM): one target per account."""
        ...

    @property
    def SETTINGS(self) -> Sequence[Setting]:  # noqa: N802
        """The job's own settings, one row each."""
        ...

    @property
    def JobSettings(self) -> type[Any]:  # noqa: N802
        """The frozen dataclass ``config.load`` fills from ``SETTINGS``."""
        ...

    @property
    def Counts(self) -> type[Any]:  # noqa: N802
        """The dataclass of counts the summary reports (with ``as_dict``)."""
        ...

    def run(
        self,
        settings: Settings,
        job: Any,
        clients: Clients,
        counts: Any,
        stop: StopRequest,
        /,
    ) -> None:
        """Plan and apply (or, in dry-run, log) the job's changes in one target."""
        ...

"""The script's own failures, one class per exit code they lead to.

Business logic raises these (or lets botocore's exceptions through); only
``cli.main`` turns them into exit codes. Nothing here imports boto3.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["ConfigError", "PartialFailure", "SafetyRefusal"]


class ConfigError(Exception):
    """Settings or input that cannot be used; every problem is listed at once."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))


class SafetyRefusal(Exception):
    """The script could run but must not: the wrong account, say."""


class PartialFailure(Exception):
    """The job finished, but some items could not be processed."""

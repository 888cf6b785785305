# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""The command's flags: one per setting that has one, plus the run mode.

Usage errors raise ``ConfigError`` (exit 1), because exit 2 means
credentials here, not argparse's "bad usage". ``--version`` and
``--print-iam-policy`` read what they print only when asked, so building
the parser stays cheap.

``--help``, ``--version`` and ``--print-iam-policy`` write their answer
themselves: argparse would drop a failed write without a word (exit 0 with
nothing printed on a full disk). A write that fails raises
``AnswerNotWritten``, which ``cli`` turns into exit 141 (closed) or 8; a
character stdout's encoding cannot carry is written as an escape.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from ..outcome.errors import ConfigError
from ..output import closed_output
from ..output.log_formats import encodable
from ..settings import config

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

    from .job_contract import Job

__all__ = ["DIST_NAME", "AnswerNotWritten", "build_parser"]

DIST_NAME = {{ cookiecutter.project_slug | tojson }}


class _VersionAction(argparse.Action):
    """Like argparse's "version", but reads the version only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        _answer(f"{parser.prog} {_version()}\n")
        parser.exit()


class _PolicyAction(_VersionAction):
    def __init__(
        self, option_strings: Sequence[str], dest: str, grants: Mapping[str, str], **kwargs: Any
    ) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.grants = grants

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        from ..access.aws import session_policy

        _answer(session_policy(self.grants) + "\n")
        parser.exit()


class AnswerNotWritten(Exception):
    """``--help``, ``--version`` or ``--print-iam-policy`` could not write to stdout."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        super().__init__(str(error) or type(error).__name__)


class _Parser(argparse.ArgumentParser):
    """Report usage errors as ConfigError (exit 1): exit 2 means credentials here."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError([f"usage: {message}"])

    def print_help(self, file: SupportsWrite[str] | None = None) -> None:
        _answer(self.format_help(), file)


def _answer(text: str, stream: SupportsWrite[str] | None = None) -> None:
    """Write ``text`` to ``stream`` (stdout) and flush it, or raise ``AnswerNotWritten``."""
    target = stream if stream is not None else sys.stdout
    try:
        if target is None:  # Python found no stdout at start: it was closed
            raise BrokenPipeError(32, "standard output is closed")  # noqa: TRY301
        answer = encodable(text, getattr(target, "encoding", None), json_lines=False)
        closed_output.write_whole(target, answer)  # all of it, or an error: never cut short
    except Exception as error:  # whatever it was, the answer is not out
        raise AnswerNotWritten(error) from error


def build_parser(job: Job) -> argparse.ArgumentParser:
    parser = _Parser(
        prog=DIST_NAME,
        allow_abbrev=False,  # --app must not mean --apply
        description=job.DESCRIPTION,
        epilog="Dry-run is the default: nothing is changed unless --apply or DRY_RUN=false.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--apply", dest="dry_run", action="store_false", default=None, help="make the changes"
    )
    mode.add_argument(
        "--dry-run", dest="dry_run", action="store_true", help="only report (the default)"
    )
    config.add_flags(parser, config.COMMON_SETTINGS)
    config.add_flags(parser, job.SETTINGS)
    parser.add_argument("--version", action=_VersionAction, help="show the version and exit")
    parser.add_argument(
        "--print-iam-policy",
        action=_PolicyAction,
        grants=job.IAM_ACTIONS,
        help="print the least-privilege IAM policy for the job (iam-policy.json) and exit",
    )
    return parser


def _version() -> str:
    from importlib import metadata  # slow to import; only --version needs it

    try:
        return metadata.version(DIST_NAME)
    except metadata.PackageNotFoundError:
        return "0+unknown"

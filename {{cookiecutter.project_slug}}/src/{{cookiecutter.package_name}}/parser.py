"""The command's flags: one per setting that has one, plus the run mode.

Usage errors raise ``ConfigError`` (exit 1), because exit 2 means
credentials here, not argparse's "bad usage". ``--version`` and
``--print-iam-policy`` read what they print only when asked, so building
the parser stays cheap.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, NoReturn

from . import config, job
from .errors import ConfigError

__all__ = ["DIST_NAME", "build_parser"]

DIST_NAME = {{ cookiecutter.project_slug | tojson }}


class _VersionAction(argparse.Action):
    """Like argparse's "version", but reads the version only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        print(f"{parser.prog} {_version()}")
        parser.exit()


class _PolicyAction(_VersionAction):
    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        from .aws import session_policy

        print(session_policy(job.IAM_ACTIONS))
        parser.exit()


class _Parser(argparse.ArgumentParser):
    """Report usage errors as ConfigError (exit 1): exit 2 means credentials here."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError([f"usage: {message}"])


def build_parser() -> argparse.ArgumentParser:
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
        help="print the least-privilege IAM policy for the job (iam-policy.json) and exit",
    )
    return parser


def _version() -> str:
    from importlib import metadata  # slow to import; only --version needs it

    try:
        return metadata.version(DIST_NAME)
    except metadata.PackageNotFoundError:
        return "0+unknown"

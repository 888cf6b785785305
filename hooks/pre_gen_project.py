"""Refuse a bake whose answers would produce a broken or unsafe project.

Every answer is checked and every problem is reported at once, one
``ERROR: <field>: <reason>`` line each on stderr, so a person fixes all of
them in one go. Cookiecutter deletes the half-made project folder when this
hook exits non-zero, so a refused bake leaves nothing on disk.

Answers arrive as JSON rendered with ``tojson`` and are parsed as data: a
value full of quotes or backslashes can neither break this file nor run.
(Cookiecutter has already rendered each answer as a Jinja template by then:
``{{ 7*7 }}`` arrives here as ``49``.) Stdlib only: the hook runs in whatever
interpreter runs cookiecutter.

A refused bake ends with a command that bakes again with every valid answer
already given, so fixing one answer is one edit. The module also imports
unrendered (the answers are in a string), so ``scripts/check-org-defaults``
reuses its checks.
"""

from __future__ import annotations

import json
import keyword
import re
import shlex
import sys
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

ANSWERS_JSON = r"""
{
  "project_name": {{ cookiecutter.project_name | tojson }},
  "project_slug": {{ cookiecutter.project_slug | tojson }},
  "package_name": {{ cookiecutter.package_name | tojson }},
  "description": {{ cookiecutter.description | tojson }},
  "author_name": {{ cookiecutter.author_name | tojson }},
  "author_email": {{ cookiecutter.author_email | tojson }},
  "python_version": {{ cookiecutter.python_version | tojson }},
  "aws_region": {{ cookiecutter.aws_region | tojson }},
  "allowed_account_ids": {{ cookiecutter.allowed_account_ids | tojson }},
  "starter_job": {{ cookiecutter.starter_job | tojson }},
  "include_github_actions": {{ cookiecutter.include_github_actions | tojson }},
  "include_pre_commit": {{ cookiecutter.include_pre_commit | tojson }},
  "include_dockerfile": {{ cookiecutter.include_dockerfile | tojson }},
  "deploy_target": {{ cookiecutter.deploy_target | tojson }}
}
"""

# How this bake was started, for the command that re-runs it.
BAKE_JSON = r"""
{
  "template": {{ cookiecutter.get("_template", "") | tojson }},
  "output_dir": {{ cookiecutter.get("_output_dir", "") | tojson }},
  "checkout": {{ cookiecutter.get("_checkout") | tojson }},
  "cruft": {{ ("_commit" in cookiecutter) | tojson }}
}
"""

PYTHON_VERSIONS = ("3.11", "3.12", "3.13", "3.14")
STARTER_JOBS = ("s3-cleanup", "log-retention", "access-key-audit", "blank")
DEPLOY_TARGETS = ("none", "lambda", "ecs-fargate")
SWITCHES = ("include_github_actions", "include_pre_commit", "include_dockerfile")

SLUG_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
SLUG_MAX = 64
PACKAGE_RE = re.compile(r"[a-z][a-z0-9_]*")
# Every partition's regions (us-east-1, us-gov-west-1, cn-north-1,
# us-iso-east-1, eu-isoe-west-1, eusc-de-east-1): the same rule as the
# generated validate.region, so a baked default is never refused at run time.
REGION_RE = re.compile(
    r"(?:us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov|us-iso|us-isob|us-isof|eu-isoe|eusc-de)"
    r"-(?:east|west|north|south|central|northeast|northwest|southeast|southwest)-[1-9][0-9]?"
)
ACCOUNT_RE = re.compile(r"[0-9]{12}")
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
FREE_TEXT_MAX = 200

# Import names the generated project (or its tests and tools) imports: a
# package with one of these names would shadow it.
SHADOWED = frozenset(
    {
        "boto3",
        "botocore",
        "s3transfer",
        "jmespath",
        "dateutil",
        "urllib3",
        "moto",
        "pytest",
        "_pytest",
        "mypy",
        "ruff",
        "mypy_boto3_s3",
        "mypy_boto3_sts",
        "mypy_boto3_sns",
        "mypy_boto3_secretsmanager",
        "setuptools",
        "pip",
        "hatchling",
        "tests",
        "test",
        "src",
        "conftest",
        "typing_extensions",
        "yaml",
        "requests",
    }
)


# Unicode categories that do not belong in one line of text: controls (C0,
# C1, DEL, ANSI escapes start with ESC), format characters (zero-width
# spaces and joiners, bidirectional overrides and isolates, BOM), surrogates,
# and the line and paragraph separators.
REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def unprintable(value: str) -> str | None:
    """Describe the first character that is not printable text, if any."""
    for position, char in enumerate(value, 1):
        point = ord(char)
        noncharacter = 0xFDD0 <= point <= 0xFDEF or point & 0xFFFE == 0xFFFE
        if unicodedata.category(char) in REFUSED_CATEGORIES or noncharacter:
            name = unicodedata.name(char, "a control character")
            return f"U+{point:04X} ({name}) at character {position}"
    return None


def check_free_text(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "must be non-empty text"
    if len(value) > FREE_TEXT_MAX:
        return f"must be at most {FREE_TEXT_MAX} characters, got {len(value)}"
    if (found := unprintable(value)) is not None:
        return f"must be one line of printable text, found {found}"
    return None


def check_slug(value: object) -> str | None:
    if not isinstance(value, str) or not SLUG_RE.fullmatch(value):
        return (
            f"{value!r} must be lowercase letters, digits and single hyphens, "
            "starting with a letter"
        )
    if len(value) > SLUG_MAX:
        return f"must be at most {SLUG_MAX} characters, got {len(value)}"
    return None


def check_package(value: object) -> str | None:
    if not isinstance(value, str) or not PACKAGE_RE.fullmatch(value):
        return (
            f"{value!r} must be a lowercase Python identifier "
            "(letters, digits, underscores, starting with a letter)"
        )
    if keyword.iskeyword(value):
        return f"{value!r} is a Python keyword"
    if value in sys.stdlib_module_names:
        return f"{value!r} would shadow the standard library module of that name"
    if value in SHADOWED:
        return f"{value!r} would shadow a package the project depends on"
    return None


def check_email(value: object) -> str | None:
    if value == "":
        return None
    if isinstance(value, str) and (found := unprintable(value)) is not None:
        return f"must be printable text, found {found}"
    if not isinstance(value, str) or not EMAIL_RE.fullmatch(value):
        return f"{value!r} is not a plausible email address (leave it empty for none)"
    return None


def check_region(value: object) -> str | None:
    if not isinstance(value, str) or not REGION_RE.fullmatch(value):
        return f"{value!r} is not an AWS region name like us-east-1 or us-gov-west-1"
    return None


def check_account_ids(value: object) -> str | None:
    if value == "":
        return None
    if not isinstance(value, str):
        return "must be comma-separated 12-digit account ids (or empty for any account)"
    parts = [part.strip(" ") for part in value.split(",")]
    if not any(parts):
        return f"{value!r} has no account id: leave it empty for any account"
    bad = [part for part in parts if part and not ACCOUNT_RE.fullmatch(part)]
    if bad:
        return f"each account id must be exactly 12 digits, got {', '.join(map(repr, bad))}"
    return None


def one_of(choices: tuple[str, ...]) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if value not in choices:
            return f"{value!r} must be one of {', '.join(choices)}"
        return None

    return check


def check_switch(value: object) -> str | None:
    if not isinstance(value, bool):
        return f"{value!r} must be a JSON boolean (true or false)"
    return None


CHECKS: dict[str, Callable[[object], str | None]] = {
    "project_name": check_free_text,
    "project_slug": check_slug,
    "package_name": check_package,
    "description": check_free_text,
    "author_name": check_free_text,
    "author_email": check_email,
    "python_version": one_of(PYTHON_VERSIONS),
    "aws_region": check_region,
    "allowed_account_ids": check_account_ids,
    "starter_job": one_of(STARTER_JOBS),
    **{switch: check_switch for switch in SWITCHES},
    "deploy_target": one_of(DEPLOY_TARGETS),
}


def derived_from_bad_slug(answers: Mapping[str, Any], bad_slug: bool) -> bool:
    """Whether the package name is the one derived from a slug that was refused."""
    slug = answers.get("project_slug")
    return (
        bad_slug and isinstance(slug, str) and answers.get("package_name") == slug.replace("-", "_")
    )


def bad_answers(answers: Mapping[str, Any]) -> dict[str, str]:
    """Map each bad answer's field to its reason, in field order.

    A package name left to be derived from a bad slug is not reported again:
    fixing the slug fixes it.
    """
    found = {}
    for field, check in CHECKS.items():
        reason = check(answers.get(field))
        if reason is not None:
            found[field] = reason
    if derived_from_bad_slug(answers, "project_slug" in found):
        found.pop("package_name", None)
    return found


def problems(answers: Mapping[str, Any]) -> list[str]:
    """Return one ``field: reason`` string per bad answer, in field order."""
    return [f"{field}: {reason}" for field, reason in bad_answers(answers).items()]


def as_argument(value: object) -> str:
    """An answer as cookiecutter reads it from a ``key=value`` argument."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def rerun_command(
    answers: Mapping[str, Any], bad: Mapping[str, str], bake: Mapping[str, Any]
) -> str:
    """The command that bakes again with every valid answer given, shell-quoted.

    Bad answers are left out (and a package name derived from a bad slug with
    them), so the command asks again only for what was wrong once the user
    adds its fixed value.
    """
    derived_package = derived_from_bad_slug(answers, "project_slug" in bad)
    kept = {
        field: answers[field]
        for field in CHECKS
        if field in answers
        and field not in bad
        and not (derived_package and field == "package_name")
    }
    template = bake.get("template") or "<template>"
    # The interpreter running this hook is the one running cookiecutter (or
    # cruft), so ``-m`` finds it even when it is not on PATH.
    if bake.get("cruft"):
        extra = json.dumps(kept, ensure_ascii=False)
        command = [sys.executable, "-m", "cruft", "create", template, "--extra-context", extra]
    else:
        command = [sys.executable, "-m", "cookiecutter", "--no-input", template]
        if bake.get("output_dir"):
            command += ["--output-dir", bake["output_dir"]]
        if bake.get("checkout"):
            command += ["--checkout", bake["checkout"]]
        command += [f"{field}={as_argument(value)}" for field, value in kept.items()]
    return " ".join(shlex.quote(part) for part in command)


def main() -> int:
    answers = json.loads(ANSWERS_JSON)
    found = bad_answers(answers)
    for field, reason in found.items():
        print(f"ERROR: {field}: {reason}", file=sys.stderr)
    if found:
        print(f"Refused: {len(found)} invalid answer(s); nothing was generated.", file=sys.stderr)
        print(
            "To bake again with the other answers kept, add the fixed "
            + ", ".join(f"{field}=..." for field in found)
            + " to:",
            file=sys.stderr,
        )
        print("  " + rerun_command(answers, found, json.loads(BAKE_JSON)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What an invocation (a Lambda event's ``settings``) may change, and what never.

Why it exists: the deployed stack decides where and how the script runs;
whoever may invoke the function must not be able to undo that. So:

- Nothing is overridable unless the environment names the variables an
  event may set in ``EVENT_OVERRIDABLE_SETTINGS`` (comma-separated; the
  stack's ``EventOverridableSettings`` parameter, empty by default).
- Some variables are never overridable, whatever that list says (``GUARDED``):
  the environment and its rules, the account allow-list, long-term keys, the
  role, MFA, the credentials' profile, and where the run goes (region,
  endpoint and fan-out targets). A list that names one is refused.
- ``DRY_RUN`` may always be set to true (a safer run); false is refused
  while the function itself is in dry-run.
- An empty value never replaces the function's value: it is refused.

Every problem is reported at once as a ``ConfigError`` (exit 1) before any
setting is loaded, so a refused override sends nothing to AWS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from . import validate
from .config import COMMON_SETTINGS, Setting
from .errors import ConfigError

__all__ = ["ALLOW_LIST_VARIABLE", "GUARDED", "allowed_names", "with_overrides"]

ALLOW_LIST_VARIABLE = "EVENT_OVERRIDABLE_SETTINGS"
DRY_RUN = "DRY_RUN"
GUARDED = frozenset(
    {
        "ENVIRONMENT",
        "ALLOWED_ACCOUNT_IDS",
        "ALLOW_LONG_TERM_CREDENTIALS",
        "ASSUME_ROLE_ARN",
        "MFA_SERIAL",
        "MFA_TOKEN_CODE",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "TARGET_ACCOUNTS",
        "TARGET_ROLE_NAME",
        "TARGET_REGIONS",
    }
)


def allowed_names(env: Mapping[str, str], known: frozenset[str]) -> frozenset[str]:
    """The variables the environment lets an event set; refuse a list that
    names a guarded or unknown variable."""
    listed = [name.strip() for name in env.get(ALLOW_LIST_VARIABLE, "").split(",")]
    names = frozenset(name for name in listed if name)
    problems = [
        f"{ALLOW_LIST_VARIABLE}: {name} can never be set by an event"
        for name in sorted(names & GUARDED)
    ] + [
        f"{ALLOW_LIST_VARIABLE}: {name} is not a setting of this script"
        for name in sorted(names - known)
    ]
    if problems:
        raise ConfigError(problems)
    return names


def with_overrides(
    env: Mapping[str, str], overrides: object, job_settings: Sequence[Setting]
) -> Mapping[str, str]:
    """Return ``env`` with the allowed ``overrides`` laid over it, or raise
    ConfigError naming every variable refused (and then nothing is applied)."""
    known = frozenset(name for setting in (*COMMON_SETTINGS, *job_settings) for name in setting.env)
    allowed = allowed_names(env, known)
    if overrides is None:
        return env
    if not isinstance(overrides, Mapping):
        raise ConfigError([f"settings override: must be an object, got {type(overrides).__name__}"])
    merged = dict(env)
    problems: list[str] = []
    for name, value in overrides.items():
        text = _text(value)
        problem = _refusal(str(name), text, env, known, allowed)
        if problem:
            problems.append(f"{name}: {problem}")
        else:
            merged[str(name)] = str(text)
    if problems:
        raise ConfigError(problems)
    return merged


def _text(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _refusal(
    name: str,
    text: str | None,
    env: Mapping[str, str],
    known: frozenset[str],
    allowed: frozenset[str],
) -> str | None:
    """Why this override is refused, or None when it may apply."""
    if name not in known:
        return "is not a setting of this script"
    if name in GUARDED:
        return "is decided by the deployment; an event can never change it"
    if text is None:
        return "must be text, a number or true/false"
    if not text.strip():
        return "must not be empty (an empty value would replace the function's own)"
    if name == DRY_RUN:
        return _dry_run_refusal(text, env)
    if name not in allowed:
        return f"an event may not set it (the deployment's {ALLOW_LIST_VARIABLE} does not name it)"
    return None


def _dry_run_refusal(text: str, env: Mapping[str, str]) -> str | None:
    """An event may always ask for a dry run; it may apply only if the function does."""
    try:
        wanted = validate.boolean(text)
    except validate.InvalidValue as error:
        return str(error)
    if wanted:
        return None
    try:
        function_dry_run = validate.boolean(env.get(DRY_RUN, "") or "true")
    except validate.InvalidValue:
        function_dry_run = True  # the load reports the function's bad value itself
    if function_dry_run:
        return "an event may not apply while the function is in dry-run"
    return None

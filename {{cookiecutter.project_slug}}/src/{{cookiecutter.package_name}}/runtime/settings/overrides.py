# Maintained by the template: a template update replaces this file. Your code goes in job.py.
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
- A Lambda event (``LambdaEvent``) is read only at its top-level
  ``settings`` key. A key that looks like a misspelt or misplaced one
  (``Settings``, ``"settings "``, ``"\u00a0settings"``, ``setings``,
  ``job_settings``, or ``settings`` one level down, as in an EventBridge
  event's ``detail.settings``) refuses the event: ignored, it would turn a
  request for a dry run into a live run.

Every problem is reported at once as a ``ConfigError`` (exit 1), and none of
the overrides is applied: a refused override sends nothing to AWS. The run
(``cli``) still reads its settings without them, so the function's own
problems are reported in the same breath.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..outcome.errors import ConfigError
from . import validate
from .config import COMMON_SETTINGS, Setting

__all__ = [
    "ALLOW_LIST_VARIABLE",
    "EVENT_KEY",
    "GUARDED",
    "LambdaEvent",
    "allowed_names",
    "event_problems",
    "with_overrides",
]

ALLOW_LIST_VARIABLE = "EVENT_OVERRIDABLE_SETTINGS"
DRY_RUN = "DRY_RUN"
EVENT_KEY = "settings"  # the one key of a Lambda event that holds overrides
# Once case, width, spaces, invisible characters and punctuation are set
# aside, a key that holds "setting" (job_settings, Settings_v2) or is one
# slip (a letter added, removed, changed or swapped) from "settings" is taken
# for a misspelt one. No key of an AWS event envelope comes close.
NEAR_MISS_EDITS = 1
# How many keys and items an event may hold, and how long a key may be: each
# is looked at for a misplaced settings key, in a bounded time.
EVENT_NODES_SEEN = 1_000
EVENT_KEY_MAX = 128
# The top-level keys an event may hold besides "settings": an EventBridge
# event's envelope (a scheduled run's, or a rule's). The stack's schedule
# sends "{}".
ENVELOPE_KEYS = frozenset(
    {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
)
# Letters of other scripts, and Latin small capitals, that look like the
# letters of "settings" (after casefolding): read as those letters. Unicode's
# confusables data is not in the standard library; these are the ones a
# look-alike "settings" is made of.
LOOK_ALIKES = {
    "\u0455": "s",  # Cyrillic dze
    "\ua731": "s",  # Latin small capital s
    "\u0435": "e",  # Cyrillic ie
    "\u0451": "e",  # Cyrillic io
    "\u1d07": "e",  # Latin small capital e
    "\u03b5": "e",  # Greek epsilon
    "\u0442": "t",  # Cyrillic te
    "\u03c4": "t",  # Greek tau
    "\u1d1b": "t",  # Latin small capital t
    "\u0456": "i",  # Cyrillic byelorussian-ukrainian i
    "\u0457": "i",  # Cyrillic yi
    "\u0131": "i",  # dotless i
    "\u03b9": "i",  # Greek iota
    "\u026a": "i",  # Latin small capital i
    "\u04cf": "i",  # Cyrillic palochka
    "\u03bd": "n",  # Greek nu (its capital looks like N)
    "\u0274": "n",  # Latin small capital n
    "\u0578": "n",  # Armenian vo
    "\u0261": "g",  # Latin script g
    "\u0262": "g",  # Latin small capital g
    "\u0581": "g",  # Armenian co
}
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


@dataclass(frozen=True)
class LambdaEvent:
    """A Lambda event as the runtime gave it: its ``settings`` are the overrides."""

    event: object


def event_problems(event: Mapping[object, object]) -> list[str]:
    """The keys of an event the run would not read: at the top level, any key
    but ``settings`` and an EventBridge envelope's (``ENVELOPE_KEYS``), so a
    misspelt ``settings``, however it is misspelt, is never ignored; below
    it, a key that reads as ``settings`` (see ``_looks_like_settings``) at
    any depth, in objects and lists alike (EventBridge puts a custom event's
    fields under ``detail``).
    An event of more than ``EVENT_NODES_SEEN`` keys and items, or with a key
    longer than ``EVENT_KEY_MAX`` characters, is refused before any is
    looked at: what it holds could not be told in a bounded time. A string
    value is not looked into (an SQS or SNS message body, say): the run
    reads its overrides from objects only."""
    too_big = _too_big_to_look_through(event)
    if too_big is not None:
        return [too_big]
    problems: list[str] = []
    for key, value in event.items():
        if key == EVENT_KEY:
            continue
        if _looks_like_settings(key):
            problems.append(
                f"event key {_quoted(key)}: is not {EVENT_KEY!r} but looks like it; only "
                f"the key spelt exactly {EVENT_KEY!r} is read, and ignoring this one would "
                "run without what it asks for"
            )
        elif key not in ENVELOPE_KEYS:
            problems.append(
                f"event key {_quoted(key)}: is not read; an event holds {EVENT_KEY!r} and the "
                "keys of an EventBridge envelope only, so that a misspelt "
                f"{EVENT_KEY!r} is never ignored"
            )
        problems += _nested_settings(key, value)
    return problems


def _too_big_to_look_through(event: Mapping[object, object]) -> str | None:
    """Why the event cannot be looked through in a bounded time, if it
    cannot: more than ``EVENT_NODES_SEEN`` keys and items at every depth
    (counted no further), or a key longer than ``EVENT_KEY_MAX``, anywhere
    but in the ``settings`` object (checked as settings)."""
    seen = 0
    # The settings themselves are checked as settings, not looked through.
    pending: list[object] = [{k: v for k, v in event.items() if k != EVENT_KEY}]
    while pending:
        node = pending.pop()
        if isinstance(node, Mapping):
            for key in node:
                if isinstance(key, str) and len(key) > EVENT_KEY_MAX:
                    return (
                        f"event key {_quoted(key)}: is longer than {EVENT_KEY_MAX} characters; "
                        f"whether it is a misplaced {EVENT_KEY!r} cannot be told"
                    )
            pending += node.values()
            seen += len(node)
        elif isinstance(node, list | tuple):
            pending += node
            seen += len(node)
        if seen > EVENT_NODES_SEEN:
            return (
                f"event: holds more than {EVENT_NODES_SEEN} keys and items; whether one of "
                f"them is a misplaced {EVENT_KEY!r} cannot be told"
            )
    return None


def _nested_settings(top: object, value: object) -> list[str]:
    """Each settings-like key anywhere under the top-level key ``top``."""
    problems: list[str] = []
    pending: list[object] = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, Mapping):
            problems += [
                f"event key {_quoted(top)} holds {_quoted(inner)}: settings are read only "
                f"from the event's top-level {EVENT_KEY!r} key"
                for inner in node
                if inner == EVENT_KEY or _looks_like_settings(inner)
            ]
            pending += node.values()
        elif isinstance(node, list | tuple):
            pending += node
    return problems


def with_overrides(
    env: Mapping[str, str], overrides: object, job_settings: Sequence[Setting]
) -> Mapping[str, str]:
    """Return ``env`` with the allowed ``overrides`` laid over it, or raise
    ConfigError naming every variable refused (and then nothing is applied).

    ``overrides`` maps variable names to values, or is a ``LambdaEvent``
    whose ``settings`` do (see ``event_problems`` for what refuses an event).
    """
    known = frozenset(name for setting in (*COMMON_SETTINGS, *job_settings) for name in setting.env)
    problems: list[str] = []
    if isinstance(overrides, LambdaEvent):
        if not isinstance(overrides.event, Mapping):
            kind = type(overrides.event).__name__
            raise ConfigError([f"event: must be a JSON object, got {kind}"])
        problems += event_problems(overrides.event)
        if overrides.event.get(EVENT_KEY, {}) is None:  # a template's value that came out empty
            problems.append(f"{EVENT_KEY}: must be an object, got null")
        overrides = overrides.event.get(EVENT_KEY)
    try:
        allowed = allowed_names(env, known)
    except ConfigError as error:
        raise ConfigError([*problems, *error.problems]) from None
    if overrides is None:
        if problems:
            raise ConfigError(problems)
        return env
    if not isinstance(overrides, Mapping):
        kind = type(overrides).__name__
        raise ConfigError([*problems, f"settings override: must be an object, got {kind}"])
    merged = dict(env)
    for key, value in overrides.items():
        name = key if isinstance(key, str) else _quoted(key)
        text, problem = _refusal(name, value, env, known, allowed)
        if problem:
            # A name as long as an event can carry is shortened, as every key is.
            shown = name if len(name) <= EVENT_KEY_MAX and name.isprintable() else _quoted(name)
            problems.append(f"{shown}: {problem}")
        elif text is not None:
            merged[name] = text
    if problems:
        raise ConfigError(problems)
    return merged


def _text(value: object) -> str | None:
    """An override's value as the environment would hold it, or None for a
    value no variable can hold (a list, an object)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError:  # more digits than Python writes out (4,300 by default)
            return None
    if isinstance(value, str | float):
        return str(value)
    return None


def _refusal(
    name: str,
    value: object,
    env: Mapping[str, str],
    known: frozenset[str],
    allowed: frozenset[str],
) -> tuple[str | None, str | None]:
    """The override's text and why it is refused (None when it may apply)."""
    if name not in known:
        return None, "is not a setting of this script"
    if name in GUARDED:
        return None, "is decided by the deployment; an event can never change it"
    text = _text(value)
    if text is None:
        if isinstance(value, int):
            limit = sys.get_int_max_str_digits()
            return None, f"is a whole number of more than {limit} digits; no setting takes one"
        return None, "must be text, a number or true/false"
    if not text.strip():
        return None, "must not be empty (an empty value would replace the function's own)"
    if name == DRY_RUN:
        return text, _dry_run_refusal(text, env)
    if name not in allowed:
        return (
            None,
            f"an event may not set it (the deployment's {ALLOW_LIST_VARIABLE} does not name it)",
        )
    return text, None


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


def _looks_like_settings(key: object) -> bool:
    """Whether ``key`` is ``settings`` but for case, width (fullwidth,
    mathematical letters), accents, spaces, invisible characters and
    fillers, punctuation, words around it, ``NEAR_MISS_EDITS`` typing slip,
    or letters from another script that look the same (``LOOK_ALIKES``;
    beyond those, any letter outside ASCII may stand in for one of
    ``setting``'s, as long as at least half of them are its own)."""
    if not isinstance(key, str):
        return False
    if len(key) > EVENT_KEY_MAX:
        return True  # too long to look at in a bounded time: taken for one
    letters = _skeleton(key)
    if len(letters) > 2 * EVENT_KEY_MAX:
        return True  # characters that expand a lot (U+FDFA is 18 letters): taken for one
    if _within_slips(letters, EVENT_KEY[:-1]) or _stands_in_for(letters, EVENT_KEY[:-1]):
        return True
    if abs(len(letters) - len(EVENT_KEY)) > NEAR_MISS_EDITS:
        return False
    return _edits(letters, EVENT_KEY) <= NEAR_MISS_EDITS


def _skeleton(key: str) -> str:
    """A key's letters and digits as they read: casefolded and decomposed,
    accents dropped, look-alikes from other scripts as the ASCII letter they
    look like, and spaces, punctuation, invisible characters and fillers
    gone. Another script's letter that looks like none of ``setting``'s
    stays as it is (non-ASCII)."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", key).casefold())
    kept = []
    for char in folded:
        if char.isascii():
            if char.isalnum():
                kept.append(char)
            continue
        if unicodedata.combining(char):
            continue
        letter = LOOK_ALIKES.get(char, char)
        if letter.isalnum() and "FILLER" not in unicodedata.name(letter, ""):
            kept.append(letter)
    return "".join(kept)


def _within_slips(letters: str, word: str) -> bool:
    """Whether some run of ``letters`` is ``word`` but for at most
    ``NEAR_MISS_EDITS`` letters added, removed, changed or swapped with the
    next (words around it are free)."""
    if len(letters) < len(word) - NEAR_MISS_EDITS:
        return False
    # Optimal string alignment against every substring: row i is ``word[:i]``,
    # and the alignment may start at any letter of ``letters`` for free.
    before: list[int] = []
    previous = [0] * (len(letters) + 1)
    for i, w in enumerate(word, 1):
        row = [i]
        for j, a in enumerate(letters, 1):
            cost = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a != w))
            if i > 1 and j > 1 and a == word[i - 2] and letters[j - 2] == w:
                cost = min(cost, before[j - 2] + 1)
            row.append(cost)
        before, previous = previous, row
    return min(previous) <= NEAR_MISS_EDITS


def _stands_in_for(letters: str, word: str) -> bool:
    """Whether some run of ``letters`` is ``word`` with non-ASCII letters in
    place of some of its own, at least half of its own kept."""
    for start in range(len(letters) - len(word) + 1):
        window = letters[start : start + len(word)]
        pairs = list(zip(window, word, strict=True))
        stood_in = all(a == b or not a.isascii() for a, b in pairs)
        if stood_in and 2 * sum(a == b for a, b in pairs) >= len(word):
            return True
    return False


def _edits(first: str, second: str) -> int:
    """How many letters to add, remove, change or swap with the next to turn
    ``first`` into ``second`` (optimal string alignment distance)."""
    before: list[int] = []
    previous = list(range(len(second) + 1))
    for i, a in enumerate(first, 1):
        row = [i]
        for j, b in enumerate(second, 1):
            cost = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a != b))
            if i > 1 and j > 1 and a == second[j - 2] and first[i - 2] == b:
                cost = min(cost, before[j - 2] + 1)
            row.append(cost)
        before, previous = previous, row
    return previous[-1]


def _quoted(key: object) -> str:
    """A key as a message names it: quoted, escapes shown, a long one cut short."""
    return validate.shown(key) if isinstance(key, str) else f"<a key of type {type(key).__name__}>"

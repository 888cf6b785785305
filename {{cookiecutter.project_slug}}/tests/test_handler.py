# Maintained by the template: a template update replaces this file. Your tests go in test_job.py.
"""The Lambda handler, invoked in-process against moto the way the runtime calls it."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.handler import (
    deadline_for,
    lambda_handler,
)
from {{ cookiecutter.package_name }}.runtime.settings.config import (
    Setting,
)
from {{ cookiecutter.package_name }}.runtime.settings.overrides import (
    EVENT_KEY_MAX,
    EVENT_NODES_SEEN,
    GUARDED,
    event_problems,
)

from .conftest import JOB_ENV
from .test_config import HUGE, INTEGER_ROWS, NOWHERE

# Every test here runs in the function's environment; a starter's own
# handler tests (in its test_job.py) ask for it the same way.
pytestmark = pytest.mark.usefixtures("function_environment")


@dataclass
class LambdaContext:
    aws_request_id: str = "8f5e2a3c-request"
    remaining_ms: int = 900_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def function_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the SAM template puts in the function's environment."""
    for name, value in JOB_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DRY_RUN", "true")


def invoke(
    event: object, capsys: pytest.CaptureFixture[str], context: object = None
) -> tuple[dict[str, Any], list[Any]]:
    capsys.readouterr()
    summary = lambda_handler(event, context or LambdaContext())
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return summary, lines


def test_a_scheduled_run_returns_the_summary_it_logged_last(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, lines = invoke({"source": "aws.events", "detail": {}}, capsys)

    assert summary["exit_code"] == 0
    assert summary["dry_run"] is True
    assert summary["run_id"] == "8f5e2a3c-request"  # logs join the invocation's request id
    logged = lines[-1]
    assert logged["message"] == "run finished"
    assert {key: logged[key] for key in summary if key != "run_id"} == {
        key: value for key, value in summary.items() if key != "run_id"
    }
    assert json.loads(json.dumps(summary)) == summary  # the runtime serialises it


def test_the_runtime_s_own_log_handler_does_not_duplicate_lines(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    runtime_handler = logging.StreamHandler()  # stands in for the runtime's handler
    root.addHandler(runtime_handler)
    try:
        _, lines = invoke({}, capsys)
    finally:
        root.removeHandler(runtime_handler)
    assert runtime_handler not in root.handlers
    assert capsys.readouterr().err == ""
    assert [line["message"] for line in lines].count("run finished") == 1


def test_unknown_or_malformed_overrides_are_refused_all_at_once(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, lines = invoke({"settings": {"DRY_RUM": "false", "LOG_LEVEL": ["DEBUG"]}}, capsys)

    assert summary["exit_code"] == 1
    assert summary["dry_run"] is True
    (error,) = [line for line in lines if line["level"] == "ERROR"]
    assert error["problems"] == [
        "DRY_RUM: is not a setting of this script",
        "LOG_LEVEL: must be text, a number or true/false",
    ]


def test_a_refused_event_is_reported_with_the_function_s_own_problems(
    aws: None,
    capsys: pytest.CaptureFixture[str],
    api_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The function's settings are still read: a bad one of its own is
    reported with the event's refusal, not on the next invocation."""
    monkeypatch.setenv("ENVIRONMENT", "qa")
    monkeypatch.setenv("MAX_WORKERS", "0")
    summary, lines = invoke({"settings": {"DRY_RUM": "false"}, "Settings": {}}, capsys)
    assert summary["exit_code"] == 1
    assert api_calls == []
    assert [problem.split(":")[0] for problem in problems(lines)] == [
        "event key 'Settings'",
        "DRY_RUM",
        "ENVIRONMENT",
        "MAX_WORKERS / --max-workers",
    ]


def test_an_event_that_is_not_an_object_is_refused(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, _ = invoke(["DRY_RUN=false"], capsys)
    assert summary["exit_code"] == 1


def test_overrides_are_validated_like_the_environment(
    aws: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENT_OVERRIDABLE_SETTINGS", "MAX_WORKERS")
    summary, lines = invoke({"settings": {"MAX_WORKERS": 0}}, capsys)
    assert summary["exit_code"] == 1
    assert any("MAX_WORKERS" in problem for line in lines for problem in line.get("problems", []))


def problems(lines: list[Any]) -> list[str]:
    (error,) = [line for line in lines if line["level"] == "ERROR"]
    found: list[str] = error["problems"]
    return found


def test_overrides_are_off_unless_the_stack_names_the_variable(
    aws: None, capsys: pytest.CaptureFixture[str], api_calls: list[str]
) -> None:
    summary, lines = invoke({"settings": {"LOG_LEVEL": "DEBUG"}}, capsys)

    assert summary["exit_code"] == 1
    assert api_calls == []
    assert problems(lines) == [
        "LOG_LEVEL: an event may not set it "
        "(the deployment's EVENT_OVERRIDABLE_SETTINGS does not name it)"
    ]


def test_a_variable_the_stack_names_may_be_set(
    aws: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENT_OVERRIDABLE_SETTINGS", " LOG_LEVEL , MAX_WORKERS")
    summary, lines = invoke({"settings": {"LOG_LEVEL": "DEBUG", "MAX_WORKERS": 2}}, capsys)

    assert summary["exit_code"] == 0
    assert any(line["level"] == "DEBUG" for line in lines)


def test_the_guarded_variables_are_those_the_readme_names() -> None:
    assert {
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
    } == GUARDED


@pytest.mark.parametrize("name", sorted(GUARDED))
def test_guarded_variables_are_refused_and_nothing_reaches_aws(
    aws: None, capsys: pytest.CaptureFixture[str], api_calls: list[str], name: str
) -> None:
    summary, lines = invoke({"settings": {name: "x"}}, capsys)

    assert summary["exit_code"] == 1
    assert api_calls == []
    assert problems(lines) == [
        f"{name}: is decided by the deployment; an event can never change it"
    ]


@pytest.mark.parametrize("name", sorted(GUARDED))
def test_a_stack_that_lists_a_guarded_variable_is_refused(
    aws: None,
    capsys: pytest.CaptureFixture[str],
    api_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    monkeypatch.setenv("EVENT_OVERRIDABLE_SETTINGS", f"LOG_LEVEL,{name}")
    summary, lines = invoke({}, capsys)  # even a scheduled run with no overrides

    assert summary["exit_code"] == 1
    assert api_calls == []
    assert problems(lines) == [f"EVENT_OVERRIDABLE_SETTINGS: {name} can never be set by an event"]


def test_every_refused_variable_is_named_at_once(
    aws: None, capsys: pytest.CaptureFixture[str], api_calls: list[str]
) -> None:
    event = {"settings": {"ENVIRONMENT": "dev", "TARGET_ACCOUNTS": "organization", "LOG_LEVEL": ""}}
    summary, lines = invoke(event, capsys)

    assert summary["exit_code"] == 1
    assert api_calls == []
    assert [problem.split(":")[0] for problem in problems(lines)] == [
        "ENVIRONMENT",
        "TARGET_ACCOUNTS",
        "LOG_LEVEL",
    ]


@pytest.mark.parametrize("value", ["", " ", "\t\n"])
def test_an_empty_value_never_replaces_the_function_s_value(
    aws: None,
    capsys: pytest.CaptureFixture[str],
    api_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
    value: str,
) -> None:
    monkeypatch.setenv("EVENT_OVERRIDABLE_SETTINGS", "LOG_LEVEL")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    summary, lines = invoke({"settings": {"LOG_LEVEL": value, "DRY_RUN": value}}, capsys)

    assert summary["exit_code"] == 1
    assert api_calls == []
    assert [problem.split(":")[0] for problem in problems(lines)] == ["LOG_LEVEL", "DRY_RUN"]


@pytest.mark.parametrize(
    "name",
    [
        "dry_run",
        " DRY_RUN",
        "DRY_RUN\x00",
        "AWS_ENDPOINT_URL_S3",
        "EVENT_OVERRIDABLE_SETTINGS",
        "\U0001f4a5",
        "X" * 10_000,
    ],
)
def test_names_that_only_look_like_settings_are_refused(
    aws: None, capsys: pytest.CaptureFixture[str], api_calls: list[str], name: str
) -> None:
    summary, lines = invoke({"settings": {name: "false"}}, capsys)

    assert summary["exit_code"] == 1
    assert api_calls == []
    (problem,) = problems(lines)
    assert problem.endswith(": is not a setting of this script")
    short = len(name) <= EVENT_KEY_MAX and name.isprintable()
    assert problem.startswith(name if short else repr(name[:5])[:-1])  # quoted when not
    assert len(problem) < 200  # a long name is shown by its start and length


@pytest.mark.parametrize("value", ["false", False, "FALSE", "0", "no", 0])
def test_an_event_cannot_apply_while_the_function_is_in_dry_run(
    aws: None,
    capsys: pytest.CaptureFixture[str],
    api_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
    value: object,
) -> None:
    # Listing DRY_RUN changes nothing.
    monkeypatch.setenv("EVENT_OVERRIDABLE_SETTINGS", "DRY_RUN,LOG_LEVEL")
    summary, lines = invoke({"settings": {"DRY_RUN": value}}, capsys)

    assert (summary["exit_code"], summary["dry_run"]) == (1, True)
    assert api_calls == []
    assert problems(lines) == ["DRY_RUN: an event may not apply while the function is in dry-run"]


def test_an_event_may_always_ask_for_a_dry_run(
    aws: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRY_RUN", "false")
    summary, _ = invoke({"settings": {"DRY_RUN": True}}, capsys)
    assert (summary["exit_code"], summary["dry_run"]) == (0, True)


@pytest.mark.parametrize(
    ("remaining_ms", "deadline"), [(900_000, 895.0), (6_000, 3.0), (0, 0.0), (-5, 0.0)]
)
def test_the_deadline_keeps_a_margin_before_lambda_s_timeout(
    remaining_ms: int, deadline: float
) -> None:
    assert deadline_for(LambdaContext(remaining_ms=remaining_ms)) == deadline
    assert deadline_for(object()) is None


def test_the_handler_s_deadline_stops_the_run_and_its_summary_comes_last(
    aws: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """All of the deadline is grace here, so the stop request comes at once and
    the hard end is an hour away: nothing depends on how fast the machine is."""
    from {{ cookiecutter.package_name }} import job
    from {{ cookiecutter.package_name }}.runtime.access import (
        watchdog,
    )
    from {{ cookiecutter.package_name }}.runtime.outcome.errors import (
        StopRequest,
    )
    from {{ cookiecutter.package_name }}.runtime.run import (
        cli,
    )

    forced: list[int] = []
    monkeypatch.setattr(cli, "exit_now", forced.append)
    monkeypatch.setattr(watchdog, "DEADLINE_GRACE_SECONDS", 7200.0)
    monkeypatch.setattr(watchdog, "DEADLINE_GRACE_SHARE", 1.0)
    given: list[float | None] = []
    real_execute = cli.execute

    def execute(*args: Any, **kwargs: Any) -> dict[str, Any]:
        given.append(kwargs.get("deadline"))
        return real_execute(*args, **kwargs)

    def waits_for_a_stop(*args: Any) -> None:
        stop: StopRequest = args[4]
        assert stop.wait(60)
        stop.check()

    monkeypatch.setattr(cli, "execute", execute)
    monkeypatch.setattr(job, "run", waits_for_a_stop)
    summary, lines = invoke({}, capsys, LambdaContext(remaining_ms=3_600_000))

    assert given == [3595.0]
    assert (summary["exit_code"], summary["timed_out"]) == (3, True)
    assert forced == []
    assert lines[-1]["message"] == "run finished"


NEAR_MISSES = [
    "Settings",
    "SETTINGS",
    "settings ",
    " settings",
    "settings\t\n",
    "\u00a0settings",  # a non-breaking space
    "settings\u3000",  # an ideographic space
    "\u2028settings",  # a line separator
    "set\u200btings",  # a zero-width space
    "\ufeffsettings",  # a byte order mark
    "\u017fettings",  # a long s, which casefolds to s
    "\uff53\uff45\uff54\uff54\uff49\uff4e\uff47\uff53",  # fullwidth letters
    "\U0001d42cettings",  # a mathematical bold s, outside the BMP
    "_settings",
    "settings-",
    "setings",
    "settnigs",
    "\u0455ettings",  # a Cyrillic dze for the s
    "\u0455\u0435tt\u0456ng\u0455",  # Cyrillic dze, ie and i for four of its letters
    "s\u0435tt\u0456ngs",  # two letters swapped for Cyrillic look-alikes
    "sett\u0456ng\u0455",
    "s\u0435ttings_v2",  # a look-alike, and words around it
    "\u03c3\u0435ttings",  # a Greek sigma and a Cyrillic ie
    "\u0405\u0415\u0422\u0422INGS",  # four Cyrillic capitals
    "\u0455\u0435tt\u0456n\u0261s",  # and a Latin script g
    "\ua731\u1d07\u1d1b\u1d1b\u026a\u0274\u0262\ua731",  # Latin small capitals
    "\u015b\u00e9tt\u00ed\u00f1\u01f5s",  # accents
    "se\u3164tt\u3164ings",  # Hangul fillers, which count as letters
    "job_setings",  # words around it and a slip
    "settigns_v2",
    "my_sttings",
    "seting",
    "settingss",
    "job_settings",
    "SettingsOverride",
    "setting",
]


@pytest.mark.parametrize("key", NEAR_MISSES)
def test_an_event_with_a_misspelt_settings_key_is_refused_not_run_live(
    aws: None,
    capsys: pytest.CaptureFixture[str],
    api_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
    key: str,
) -> None:
    """Ignored, the key's dry-run request would run the function live."""
    monkeypatch.setenv("DRY_RUN", "false")
    summary, lines = invoke({key: {"DRY_RUN": "true"}}, capsys)

    assert summary["exit_code"] == 1
    assert api_calls == []
    (problem,) = problems(lines)
    assert problem.startswith(f"event key {key!r}: is not 'settings'"), problem


NOT_NEAR_MISSES = [
    "version",
    "detail-type",
    "resources",
    "\u8a2d\u5b9a\u3092\u5909\u66f4\u3059\u308b\u3068\u304d",  # no letter of "setting" at all
    "\u043d\u0430\u0441\u0442\u0440\u043e\u0439\u043a\u0438",  # Russian for settings
    "Einstellungen",
    "sitemaps",
    "setup",
    "testing",
    "fitting",
]


@pytest.mark.parametrize("key", NOT_NEAR_MISSES)
def test_a_key_below_the_top_that_is_not_like_settings_is_left_alone(key: str) -> None:
    """A custom event's own fields under ``detail``: no near miss."""
    assert event_problems({"detail": {key: {"DRY_RUN": "true"}}}) == []


@pytest.mark.usefixtures("aws")
def test_a_null_settings_is_refused_not_run_live(
    capsys: pytest.CaptureFixture[str], api_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event template whose settings came out null asked for something."""
    monkeypatch.setenv("DRY_RUN", "false")
    summary, lines = invoke({"settings": None}, capsys)

    assert summary["exit_code"] == 1
    assert api_calls == []
    assert problems(lines) == ["settings: must be an object, got null"]


def test_an_eventbridge_envelope_is_read_as_it_is() -> None:
    envelope: dict[object, object] = {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-12-07T00:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/nightly"],
        "detail": {},
    }
    assert event_problems(envelope) == []


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    "key",
    [
        "input",
        "Detail",
        # Armenian, Cyrillic and Greek letters that read as "SeTTInGS"
        "\u054f\u04bdTTI\u03b7\u050c\u054f",
        "\ua7a9\u0247\u0167\u0167\u0268\ua7a5\u01e5\ua7a9",  # letters with a stroke
        "\U0001f162\U0001f154\U0001f163\U0001f163\U0001f158\U0001f15d\U0001f156\U0001f162",
    ],
)
def test_any_other_top_level_key_is_refused_not_run_live(
    capsys: pytest.CaptureFixture[str],
    api_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
    key: str,
) -> None:
    """However a ``settings`` key is misspelt, at the top level it is refused:
    only ``settings`` and an EventBridge envelope's keys are read there."""
    monkeypatch.setenv("DRY_RUN", "false")
    summary, lines = invoke({key: {"DRY_RUN": "true"}}, capsys)

    assert summary["exit_code"] == 1
    assert api_calls == []
    (problem,) = problems(lines)
    assert problem.startswith(f"event key {key!r}: "), problem


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize(
    "event",
    [
        {"detail": {"x": {"settings": {"DRY_RUN": "true"}}}},
        {"detail": [{"settings": {"DRY_RUN": "true"}}]},
        {"detail": {"a": [{"b": {"S\u0435ttings": {"DRY_RUN": "true"}}}]}},
    ],
    ids=["two-levels", "in-a-list", "deep-look-alike"],
)
def test_settings_at_any_depth_are_refused_not_ignored(
    capsys: pytest.CaptureFixture[str],
    api_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
    event: dict[str, Any],
) -> None:
    """Below ``detail`` at any depth, in objects and lists: refused, naming it."""
    monkeypatch.setenv("DRY_RUN", "false")
    summary, lines = invoke(event, capsys)

    assert summary["exit_code"] == 1
    assert api_calls == []
    (problem,) = problems(lines)
    assert problem.startswith("event key 'detail' holds "), problem


@pytest.mark.parametrize(
    "event",
    [
        {"detail": [{"k": index} for index in range(EVENT_NODES_SEEN)]},
        {"a": list(range(EVENT_NODES_SEEN // 2 + 1)), "b": list(range(EVENT_NODES_SEEN // 2))},
        dict.fromkeys(map(str, range(EVENT_NODES_SEEN + 1)), 0),
    ],
    ids=["nested", "over-several-keys", "top-level"],
)
def test_an_event_too_big_to_look_through_is_refused(event: dict[object, object]) -> None:
    """Counted over the whole event, before any key is looked at."""
    (problem,) = event_problems(event)
    assert f"holds more than {EVENT_NODES_SEEN} keys and items" in problem


def test_a_key_that_expands_past_what_is_looked_at_is_refused() -> None:
    """U+FDFA is one character and 18 letters: a short key of them is too
    long to look through, and is taken for a settings key, not let past."""
    (problem,) = event_problems({"detail": {"\ufdfa" * 20: 1}})
    assert problem.startswith("event key 'detail' holds "), problem


def test_an_event_key_too_long_to_look_at_is_refused() -> None:
    (problem,) = event_problems({"detail": {"x" * (EVENT_KEY_MAX + 1): 1}})
    assert f"is longer than {EVENT_KEY_MAX} characters" in problem


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("outer", ["detail", "Detail", "input"])
@pytest.mark.parametrize("inner", ["settings", "Settings", "\u00a0settings"])
def test_settings_one_level_down_are_refused_not_ignored(
    capsys: pytest.CaptureFixture[str],
    api_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
    outer: str,
    inner: str,
) -> None:
    """An EventBridge custom event carries its fields under ``detail``."""
    monkeypatch.setenv("DRY_RUN", "false")
    event = {"source": "my.app", "detail-type": "run", outer: {inner: {"DRY_RUN": "true"}}}
    summary, lines = invoke(event, capsys)

    assert summary["exit_code"] == 1
    assert api_calls == []
    assert (
        f"event key {outer!r} holds {inner!r}: settings are read only from the event's "
        "top-level 'settings' key"
    ) in problems(lines)


def test_a_near_miss_is_refused_beside_the_real_key_with_its_problems(
    aws: None, capsys: pytest.CaptureFixture[str], api_calls: list[str]
) -> None:
    event = {"settings": {"DRY_RUM": "true"}, "Settings": {"DRY_RUN": "true"}}
    summary, lines = invoke(event, capsys)

    assert summary["exit_code"] == 1
    assert api_calls == []
    assert [problem.split(":")[0] for problem in problems(lines)] == [
        "event key 'Settings'",
        "DRY_RUM",
    ]


def test_a_whole_eventbridge_envelope_is_not_taken_for_settings(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """No key of a scheduled event (or an S3, SQS or API Gateway one) comes near."""
    event = {
        "version": "0",
        "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/schedule"],
        "detail": {"Records": [], "body": "", "headers": {}, "requestContext": {}, "meetings": 2},
        "settings": {"DRY_RUN": "true"},
    }
    summary, _ = invoke(event, capsys)
    assert (summary["exit_code"], summary["dry_run"]) == (0, True)


@pytest.mark.parametrize("row", INTEGER_ROWS, ids=[row.env[0] for row in INTEGER_ROWS])
def test_a_number_of_thousands_of_digits_in_an_event_is_refused_with_the_rest(
    aws: None,
    capsys: pytest.CaptureFixture[str],
    api_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
    row: Setting,
) -> None:
    """As a JSON number (more digits than Python writes out) with the event's
    other refusals, and as text with the settings' other problems."""
    name = row.env[0]
    monkeypatch.setenv("EVENT_OVERRIDABLE_SETTINGS", name)
    summary, lines = invoke({"settings": {name: 10**5000 - 1, "DRY_RUM": "x"}}, capsys)
    assert summary["exit_code"] == 1
    assert [problem.split(":")[0] for problem in problems(lines)] == [name, "DRY_RUM"]
    assert "more than" in problems(lines)[0]

    monkeypatch.setenv("ENVIRONMENT", "qa")
    summary, lines = invoke({"settings": {name: HUGE}}, capsys)
    assert summary["exit_code"] == 1
    found = problems(lines)
    assert [p for p in found if p.startswith(row.describe()) and "5000 digits" in p], found
    assert [p for p in found if p.startswith("ENVIRONMENT:")], found
    assert api_calls == []


def test_a_refused_event_does_not_import_botocore() -> None:
    package = "{{ cookiecutter.package_name }}"
    program = (
        f"import os, sys; os.environ.update({ {**JOB_ENV, **NOWHERE}!r}); "
        f"from {package}.handler import lambda_handler; "
        "summary = lambda_handler({'Settings': {'DRY_RUN': 'true'}}, None); "
        "print(summary['exit_code'], 'boto3' in sys.modules, 'botocore' in sys.modules, "
        "file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=False
    )
    assert done.stderr.strip().splitlines()[-1] == "1 False False"

# Maintained by the template: a template update replaces this file. Your tests go in test_job.py.
"""The JSON log format: UTC times, kept extras, no duplicate lines."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.runtime.output import (
    logs,
)

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    yield buffer
    logs.setup("WARNING", "cleanup")  # leave no handler on the test's buffer


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_time_is_utc_with_milliseconds_whatever_the_tz(
    stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # UTC+05:30: a local time would differ
    time.tzset()
    try:
        log = logs.setup("INFO", "run-1", stream)
        before = datetime.now(UTC)
        log.info("hello")
        after = datetime.now(UTC)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    (entry,) = lines(stream)
    assert TIMESTAMP.fullmatch(entry["time"])
    logged = datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= logged <= after


def test_base_fields_and_run_id_on_every_line(stream: io.StringIO) -> None:
    log = logs.setup("INFO", "abc123", stream)
    log.info("one %s", "arg")
    logging.getLogger("botocore.credentials").warning("from a library")
    first, second = lines(stream)
    assert first["message"] == "one arg"
    assert first["level"] == "INFO"
    assert first["logger"] == "{{ cookiecutter.package_name }}"
    assert {first["run_id"], second["run_id"]} == {"abc123"}
    assert second["logger"] == "botocore.credentials"


def test_every_extra_is_kept_and_collisions_are_renamed(stream: io.StringIO) -> None:
    log = logs.setup("INFO", "r", stream)
    log.info("x", extra={"bucket": "b", "count": 3, "level": "mine", "nested": {"a": [1, 2]}})
    (entry,) = lines(stream)
    assert entry["bucket"] == "b"
    assert entry["count"] == 3
    assert entry["nested"] == {"a": [1, 2]}
    assert entry["level"] == "INFO"
    assert entry["extra_level"] == "mine"


def test_values_json_cannot_encode_are_stringified(stream: io.StringIO) -> None:
    class Opaque:
        def __str__(self) -> str:
            return "opaque-value"

    log = logs.setup("INFO", "r", stream)
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    log.info(
        "x",
        extra={"obj": Opaque(), "when": moment, "ratio": float("nan"), "keys": {(1, 2): {3}}},
    )
    (entry,) = lines(stream)
    assert entry["obj"] == "opaque-value"
    assert entry["when"] == "2026-01-02T03:04:05.000Z"  # the same format as "time"
    assert entry["ratio"] == "nan"
    assert entry["keys"] == {"(1, 2)": [3]}


def test_exception_is_included(stream: io.StringIO) -> None:
    def explode() -> None:
        raise RuntimeError("boom")

    log = logs.setup("INFO", "r", stream)
    try:
        explode()
    except RuntimeError:
        log.exception("failed")
    (entry,) = lines(stream)
    assert entry["level"] == "ERROR"
    assert "RuntimeError: boom" in entry["exception"]


@pytest.mark.parametrize(("level", "whole"), [("INFO", False), ("DEBUG", True)])
def test_a_library_s_warning_carries_its_exception_in_one_line_but_at_debug(
    stream: io.StringIO, level: str, whole: bool
) -> None:
    """botocore warns, with a traceback, about a failure it then raises (an
    SSO token it cannot refresh): the run reports that failure once; the
    warning says what it was in one line, and its traceback only at DEBUG."""

    def refresh() -> None:
        raise RuntimeError("token expired")

    logs.setup(level, "r", stream)
    try:
        refresh()
    except RuntimeError:
        logging.getLogger("botocore.tokens").warning("refresh failed", exc_info=True)
    (entry,) = [line for line in lines(stream) if line["message"] == "refresh failed"]
    assert entry["exception"].endswith("RuntimeError: token expired")
    assert ("Traceback" in entry["exception"]) is whole


def test_setting_up_twice_never_duplicates_lines(stream: io.StringIO) -> None:
    logs.setup("INFO", "first", stream)
    log = logs.setup("INFO", "second", stream)
    log.info("once")
    entries = lines(stream)
    assert len(entries) == 1
    assert entries[0]["run_id"] == "second"


def test_level_filters(stream: io.StringIO) -> None:
    log = logs.setup("WARNING", "r", stream)
    log.info("hidden")
    log.warning("shown")
    assert [entry["message"] for entry in lines(stream)] == ["shown"]


def test_context_fields_reach_every_line_inside_it_and_no_line_after(
    stream: io.StringIO,
) -> None:
    log = logs.setup("INFO", "run-1", stream)
    with logs.context(account="111111111111"):
        with logs.context(region="eu-west-1"):
            log.info("inner", extra={"region": "eu-west-1", "bucket": "b"})
        log.info("outer", extra={"account": "222222222222"})
    log.info("after")

    inner, outer, after = lines(stream)
    assert (inner["account"], inner["region"]) == ("111111111111", "eu-west-1")
    assert inner["bucket"] == "b"
    assert "extra_region" not in inner  # the same value is not repeated
    assert (outer["account"], outer["extra_account"]) == ("111111111111", "222222222222")
    assert "region" not in outer
    assert "account" not in after


def test_context_reaches_pool_threads_only_when_copied(stream: io.StringIO) -> None:
    from concurrent.futures import ThreadPoolExecutor

    log = logs.setup("INFO", "run-1", stream)
    with logs.context(account="111111111111"), ThreadPoolExecutor(1) as pool:
        pool.submit(log.info, "plain").result()
        pool.submit(logs.carrying_context(log.info), "copied").result()

    plain, copied = lines(stream)
    assert "account" not in plain
    assert copied["account"] == "111111111111"


@pytest.mark.parametrize(
    "separator", ["\u2028", "\u2029", "\x85", "\x9b", "\x1c", "\x1d", "\x1e", "\x0b", "\x0c", "\r"]
)
def test_every_line_splitter_sees_one_record_per_line(stream: io.StringIO, separator: str) -> None:
    log = logs.setup("INFO", "r", stream)
    text = f"a{separator}b"
    log.info(text, extra={"key": text, "nested": {"list": [text]}})
    (line,) = stream.getvalue().splitlines()  # str.splitlines splits on every one of them
    assert not re.search("[\x80-\x9f\u2028\u2029]", line)
    entry = json.loads(line)
    assert entry["message"] == entry["key"] == entry["nested"]["list"][0] == text
    assert len(stream.getvalue().encode().splitlines()) == 1


def test_every_datetime_in_a_line_has_the_format_of_time(stream: io.StringIO) -> None:
    from datetime import timedelta, timezone

    log = logs.setup("INFO", "r", stream)
    kolkata = timezone(timedelta(hours=5, minutes=30))
    log.info(
        "x",
        extra={
            "cutoff": datetime(2026, 1, 2, 8, 34, 5, 123456, tzinfo=kolkata),
            "naive": datetime(2026, 1, 2, 3, 4, 5),  # noqa: DTZ001 - taken as UTC
            "nested": [datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)],
        },
    )
    (entry,) = lines(stream)
    assert entry["cutoff"] == "2026-01-02T03:04:05.123Z"
    assert entry["naive"] == "2026-01-02T03:04:05.000Z"
    assert entry["nested"] == ["2026-01-02T03:04:05.000Z"]
    assert all(TIMESTAMP.fullmatch(value) for value in (entry["time"], entry["cutoff"]))


@pytest.mark.parametrize("level", ["INFO", "WARNING"])
def test_other_libraries_info_stays_out_unless_debug(
    stream: io.StringIO, aws: None, level: str
) -> None:
    import boto3

    log = logs.setup(level, "r", stream)
    boto3.client("s3").list_buckets()  # botocore logs "Found credentials in environment variables"
    logging.getLogger("urllib3.connectionpool").info("Starting new HTTPS connection")
    logging.getLogger("botocore.credentials").warning("a library's warning")
    log.info("own info")
    messages = [entry["message"] for entry in lines(stream)]
    assert "a library's warning" in messages
    assert ("own info" in messages) == (level == "INFO")
    assert not any("Found credentials" in message for message in messages)
    assert not any(
        entry["logger"].startswith(("botocore", "urllib3")) and entry["level"] == "INFO"
        for entry in lines(stream)
    )


def test_other_libraries_info_and_debug_show_at_debug(stream: io.StringIO, aws: None) -> None:
    import boto3

    logs.setup("DEBUG", "r", stream)
    boto3.client("s3").list_buckets()
    messages = [entry["message"] for entry in lines(stream)]
    assert any("Found credentials in environment variables" in message for message in messages)
    assert any(
        entry["level"] == "DEBUG" and entry["logger"].startswith("botocore")
        for entry in lines(stream)
    )


def test_the_summary_logger_logs_at_info_whatever_the_level(stream: io.StringIO) -> None:
    logs.setup("ERROR", "r", stream)
    logs.summary_logger().info("run finished")
    assert [entry["message"] for entry in lines(stream)] == ["run finished"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_text_lines_at_a_terminal_carry_the_same_fields(stream: io.StringIO) -> None:
    log = logs.setup("INFO", "run-7", stream, fmt="text")
    log.info("cleanup started", extra={"bucket": "b", "prefix": "a b", "count": 3, "on": True})
    logs.summary_logger().info("run finished", extra={"exit_code": 0, "deleted": 2})
    first, summary = stream.getvalue().splitlines()
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}Z INFO    cleanup started .*", first)
    assert first.endswith(' bucket=b prefix="a b" count=3 on=true')
    assert "run_id" not in first
    assert summary.endswith("run finished exit_code=0 deleted=2 run_id=run-7")
    assert "\x1b" not in stream.getvalue()  # no colour unless asked


def test_text_lines_escape_what_a_terminal_would_act_on(stream: io.StringIO) -> None:
    log = logs.setup("INFO", "r", stream, fmt="text")
    key = "temp/\x1b[2J\u202eevil\nkey\x9b"
    log.info("would delete %s", key, extra={"key": key})
    (line,) = stream.getvalue().splitlines()
    assert "\x1b" not in line
    assert "\u202e" not in line
    assert "\x9b" not in line
    assert "\\u001b[2J" in line
    assert "\\u202e" in line


def test_colour_marks_levels_and_names_only_when_asked(stream: io.StringIO) -> None:
    log = logs.setup("INFO", "r", stream, fmt="text", colour=True)
    log.warning("careful", extra={"bucket": "b"})
    line = stream.getvalue()
    assert "\x1b[33mWARNING" in line
    assert "\x1b[2mbucket\x1b[0m=b" in line


@pytest.mark.parametrize(
    ("setting", "terminal", "env", "expected"),
    [
        ("auto", True, {}, ("text", True)),
        ("auto", False, {}, ("json", False)),
        ("auto", True, {"NO_COLOR": "1"}, ("text", False)),
        ("auto", True, {"NO_COLOR": ""}, ("text", True)),
        ("auto", True, {"TERM": "dumb"}, ("text", False)),
        ("json", True, {}, ("json", False)),
        ("text", False, {}, ("text", False)),
    ],
)
def test_log_format_auto_is_text_at_a_terminal_only(
    setting: str, terminal: bool, env: dict[str, str], expected: tuple[str, bool]
) -> None:
    stream = _Terminal() if terminal else io.StringIO()
    assert logs.choose_format(setting, env, stream) == expected


class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_output_stops_the_run_once_without_tracebacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls: list[str] = []
    log = logs.setup("INFO", "r", _ClosedPipe(), on_output_closed=lambda: calls.append("stop"))
    for index in range(50):
        log.info("line %d", index)
    err = capsys.readouterr().err
    assert calls == ["stop"]
    assert err.splitlines() == ["error: standard output was closed; stopping the run (exit 141)"]
    assert "Logging error" not in err
    logs.setup("INFO", "r", io.StringIO())


class _FullDisk(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(28, "No space left on device")


def test_any_other_write_failure_stops_the_run_once_without_tracebacks(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging, "raiseExceptions", True)  # as outside tests
    closed: list[str] = []
    failed: list[str] = []
    log = logs.setup(
        "INFO",
        "r",
        _FullDisk(),
        on_output_closed=lambda: closed.append("stop"),
        on_output_failed=failed.append,
    )
    for index in range(50):
        log.info("line %d", index)
    assert failed == ["[Errno 28] No space left on device"]  # once: the run stops
    assert closed == []
    assert capsys.readouterr().err == ""  # the runtime says it once, at the end (exit 8)
    logs.setup("INFO", "r", io.StringIO())


def test_a_write_failure_with_no_run_to_stop_is_one_line_on_stderr(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging, "raiseExceptions", True)
    log = logs.setup("INFO", "r", _FullDisk())
    for index in range(5):
        log.info("line %d", index)
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "error: the log could not be written ([Errno 28] No space left on device)"
    ]
    logs.setup("INFO", "r", io.StringIO())


class _SizeLimitedFile(io.RawIOBase):
    """A file that takes at most ``limit`` bytes in all and, like a file under
    a size limit, writes short at the limit and refuses every byte after."""

    def __init__(self, limit: int, per_call: int | None = None) -> None:
        super().__init__()
        self.data = bytearray()
        self.limit = limit
        self.per_call = per_call  # how many bytes one call takes at most

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        room = self.limit - len(self.data)
        if room <= 0:
            raise OSError(27, "File too large")
        taken = bytes(data)[: min(room, self.per_call or room)]
        self.data += taken
        return len(taken)


def unbuffered(raw: io.RawIOBase) -> io.TextIOWrapper:
    """A text stream straight over ``raw``, as ``sys.stdout`` is under
    PYTHONUNBUFFERED=1 (the Dockerfile sets it) or ``python -u``."""
    return io.TextIOWrapper(raw, encoding="utf-8", write_through=True)  # type: ignore[arg-type]


def test_a_line_cut_short_by_a_short_write_stops_the_run_at_that_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file takes the first line and half of the second: the run is told
    at the second line, not at the third (one more change too late)."""
    monkeypatch.setattr(logging, "raiseExceptions", True)
    probe = io.StringIO()
    logs.setup("INFO", "r", probe).info("line 0")
    first = len(probe.getvalue().encode())
    failed: list[str] = []
    raw = _SizeLimitedFile(first + first // 2)
    log = logs.setup("INFO", "r", unbuffered(raw), on_output_failed=failed.append)
    log.info("line 0")
    assert failed == []
    log.info("line 1")
    assert failed == ["[Errno 27] File too large"]  # at the line cut short, not the next
    log.info("line 2")
    assert len(failed) == 1
    assert capsys.readouterr().err == ""
    logs.setup("INFO", "r", io.StringIO())


def test_short_writes_are_retried_until_every_line_is_whole() -> None:
    raw = _SizeLimitedFile(10**6, per_call=7)  # every call takes at most 7 bytes
    failed: list[str] = []
    log = logs.setup("INFO", "r", unbuffered(raw), on_output_failed=failed.append)
    for index in range(5):
        log.info("line %d caf\u00e9 \U0001f680", index)
    assert failed == []
    text = raw.data.decode()
    assert [json.loads(line)["message"] for line in text.splitlines()] == [
        f"line {index} caf\u00e9 \U0001f680" for index in range(5)
    ]
    logs.setup("INFO", "r", io.StringIO())


# Last, a lone surrogate: how Python reads an undecodable byte in a variable.
NON_ASCII = "caf\u00e9 \u2014 \U0001f680 \u65e5\u672c " + chr(0xDCFF)
# Text lines at a terminal: what the encoding cannot carry, as printable() escapes it.
AS_TEXT = {
    "ascii": r"caf\u00e9 \u2014 \U0001f680 \u65e5\u672c \udcff",
    "latin-1": "caf\u00e9 " + r"\u2014 \U0001f680 \u65e5\u672c \udcff",
    "utf-8": "caf\u00e9 \u2014 \U0001f680 \u65e5\u672c " + r"\udcff",
}


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "utf-8"])
def test_an_output_that_cannot_encode_a_character_gets_an_escape_never_a_lost_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, encoding: str
) -> None:
    monkeypatch.setattr(logging, "raiseExceptions", True)
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding)  # errors="strict", as PYTHONIOENCODING=ascii
    log = logs.setup("INFO", "r", stream)
    log.info("prefix %s", NON_ASCII, extra={"prefix": NON_ASCII})
    stream.flush()
    text = raw.getvalue().decode(encoding)
    (entry,) = [json.loads(line) for line in text.splitlines()]
    assert entry["message"] == f"prefix {NON_ASCII}"  # JSON reads back the very same text
    assert entry["prefix"] == NON_ASCII
    assert "\\udcff" in text  # never written raw, whatever the encoding
    logs.setup("INFO", "r", stream, fmt="text")
    log.info("prefix %s", NON_ASCII)
    stream.flush()
    text_line = raw.getvalue().decode(encoding).splitlines()[-1]
    assert text_line.endswith(f" prefix {AS_TEXT[encoding]}")
    assert capsys.readouterr().err == ""  # no "--- Logging error ---"
    logs.setup("INFO", "r", io.StringIO())

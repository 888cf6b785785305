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

from {{ cookiecutter.package_name }} import logs

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

# Maintained by the template: a template update replaces this file. Your tests go in test_job.py.
"""The run's own timestamp parser gives what botocore's default parser gives.

Every client of the run parses response timestamps with ``aws.parse_timestamp``
(S3 lists a ``LastModified`` per key; dateutil made that the slowest part of
a large listing). These tests hold it to botocore's results: the same aware
datetimes for every shape AWS sends, the same errors for what is not one.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import boto3
import pytest
from botocore.utils import parse_timestamp as botocore_parse_timestamp

import {{ cookiecutter.package_name }}.runtime.access.aws as aws_module
from {{ cookiecutter.package_name }} import job
from {{ cookiecutter.package_name }}.runtime.access.aws import (
    Clients,
    parse_timestamp,
)
from {{ cookiecutter.package_name }}.runtime.run.cli import (
    build_parser,
)
from {{ cookiecutter.package_name }}.runtime.settings import (
    config,
)

from .conftest import JOB_ENV, REGION, make_bucket

SHAPES: list[str | float] = [
    "2026-11-23T21:33:56.000Z",  # S3 ListObjectsV2 LastModified
    "2026-11-23T21:33:56.789Z",
    "2026-11-23T21:33:56Z",  # STS Expiration
    "2026-11-23T21:33:56.123456Z",
    "2026-11-23T21:33:56.1234567Z",  # more digits than datetime keeps
    "2026-11-23T21:33:56+00:00",
    "2026-11-23T21:33:56.5-07:00",
    "2026-11-23T21:33:56+05:30",
    "2026-11-23T21:33:56+0000",
    "2026-11-23T21:33:56z",
    "2026-11-23 21:33:56Z",
    "\u0662\u0660\u0662\u0666-11-23T21:33:56Z",  # non-ASCII digits: dateutil reads them
    "2024-02-29T23:59:59.999Z",  # a leap day
    "1970-01-01T00:00:00.000Z",
    "Mon, 23 Nov 2026 21:33:56 GMT",  # RFC 822: S3's Last-Modified and Date headers
    "Thu, 29 Feb 2024 00:00:00 GMT",
    "1763933636",  # epoch seconds as text
    1763933636,  # epoch seconds: the JSON protocols
    1763933636.25,
]

NOT_TIMESTAMPS = [
    "2026-02-30T00:00:00Z",  # no such day
    "2026-11-23T25:00:00Z",  # no such hour
    "",
    " ",
    "not a date",
]


def assert_same(ours: datetime, theirs: datetime) -> None:
    assert ours.tzinfo is not None  # aware, as botocore's
    assert ours == theirs
    assert ours.utcoffset() == theirs.utcoffset()


@pytest.mark.parametrize("value", SHAPES, ids=str)
def test_every_shape_parses_to_botocore_s_datetime(value: str | float) -> None:
    reference = botocore_parse_timestamp(value)  # type: ignore[arg-type]  # stub says str only
    assert_same(parse_timestamp(value), reference)


@pytest.mark.parametrize("value", NOT_TIMESTAMPS)
def test_what_botocore_refuses_is_refused_the_same_way(value: str) -> None:
    with pytest.raises(ValueError, match=r"^Invalid timestamp") as theirs:
        botocore_parse_timestamp(value)
    with pytest.raises(ValueError, match=r"^Invalid timestamp") as ours:
        parse_timestamp(value)
    assert str(ours.value) == str(theirs.value)


def test_s3_formats_agree_over_many_moments() -> None:
    """ISO 8601 with milliseconds (listings) and RFC 822 (headers), 1970 to 2100."""
    rng = random.Random(20261123)  # noqa: S311 - a fixed sample, not a secret
    start = datetime(1970, 1, 1, tzinfo=UTC)
    span = int((datetime(2100, 1, 1, tzinfo=UTC) - start).total_seconds())
    for _ in range(2000):
        moment = start + timedelta(seconds=rng.randrange(span), milliseconds=rng.randrange(1000))
        listed = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        header = format_datetime(moment.replace(microsecond=0), usegmt=True)
        for value in (listed, header):
            assert_same(parse_timestamp(value), botocore_parse_timestamp(value))


def test_the_run_s_clients_parse_with_it(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A listing and a HEAD through ``Clients`` give botocore's datetimes, via the parser."""
    seen: list[str | float] = []

    def recording(value: str | float) -> datetime:
        seen.append(value)
        return parse_timestamp(value)

    monkeypatch.setattr(aws_module, "parse_timestamp", recording)
    args = build_parser(job).parse_args([])
    settings, _ = config.load(args, JOB_ENV, job.JobSettings, job.SETTINGS)
    s3 = Clients(settings, "run").s3
    plain = boto3.client("s3", region_name=REGION)
    make_bucket(plain, "timestamps")
    for key in ("a", "b", "c"):
        plain.put_object(Bucket="timestamps", Key=key, Body=b"x")

    ours = s3.list_objects_v2(Bucket="timestamps").get("Contents", [])
    theirs = plain.list_objects_v2(Bucket="timestamps").get("Contents", [])
    assert [item.get("Key") for item in ours] == ["a", "b", "c"]
    listed: list[str] = []
    for mine, reference in zip(ours, theirs, strict=True):
        assert "LastModified" in mine, mine  # S3 dates every object it lists
        assert "LastModified" in reference, reference
        assert_same(mine["LastModified"], reference["LastModified"])
        listed.append(
            reference["LastModified"].isoformat(timespec="milliseconds").replace("+00:00", "Z")
        )
    head = s3.head_object(Bucket="timestamps", Key="a")["LastModified"]
    assert_same(head, plain.head_object(Bucket="timestamps", Key="a")["LastModified"])
    assert [value for value in seen if str(value).endswith("Z")] == listed
    assert any(str(value).endswith(" GMT") for value in seen)  # the Last-Modified header

"""Edge cases of every boundary validator: accepted values and refusals."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }} import validate
from {{ cookiecutter.package_name }}.validate import InvalidValue


@pytest.mark.parametrize(
    "name",
    ["abc", "my-bucket", "my.bucket.name", "a" * 63, "0-starts-with-digit", "logs-2026"],
)
def test_bucket_name_accepts_valid_names(name: str) -> None:
    assert validate.bucket_name(name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "required"),
        ("ab", "3 to 63"),
        ("a" * 64, "3 to 63"),
        ("My-Bucket", "lowercase"),
        ("bucket_name", "lowercase"),
        ("-bucket", "start and end"),
        ("bucket-", "start and end"),
        ("my..bucket", "adjacent dots"),
        ("192.168.5.4", "IP address"),
        ("xn--bucket", "reserved"),
        ("sthree-bucket", "reserved"),
        ("bucket-s3alias", "reserved"),
        ("bucket--ol-s3", "reserved"),
    ],
)
def test_bucket_name_refuses_invalid_names(name: str, reason: str) -> None:
    with pytest.raises(InvalidValue, match=reason):
        validate.bucket_name(name)


@pytest.mark.parametrize("prefix", ["temp/", "logs/2026/", "a", "ключ/"])
def test_prefix_accepts_keys(prefix: str) -> None:
    assert validate.s3_prefix(prefix) == prefix


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [
        ("", "whole bucket"),
        ("/temp/", "start with '/'"),
        ("a" * 1025, "1024 bytes"),
        ("a\nb", "control"),
    ],
)
def test_prefix_refuses_dangerous_values(prefix: str, reason: str) -> None:
    with pytest.raises(InvalidValue, match=reason):
        validate.s3_prefix(prefix)


@pytest.mark.parametrize(
    "region", ["us-east-1", "eu-central-2", "ap-southeast-4", "us-gov-west-1", "cn-north-1"]
)
def test_region_accepts_all_partitions(region: str) -> None:
    assert validate.region(region) == region


@pytest.mark.parametrize("region", ["", "US-EAST-1", "us-east", "useast1", "us-east-1a", "mars-1"])
def test_region_refuses_malformed(region: str) -> None:
    with pytest.raises(InvalidValue, match="AWS region"):
        validate.region(region)


def test_account_ids_parse_dedupe_and_refuse_bad_ids() -> None:
    assert validate.account_ids("") == ()
    assert validate.account_ids(" 111111111111, 222222222222,111111111111 ") == (
        "111111111111",
        "222222222222",
    )
    with pytest.raises(InvalidValue, match="12345"):
        validate.account_ids("111111111111,12345")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("false", False),
        ("0", False),
        ("off", False),
    ],
)
def test_boolean_accepts_common_spellings(raw: str, expected: bool) -> None:
    assert validate.boolean(raw) is expected


@pytest.mark.parametrize("raw", ["", "maybe", "tru", "2"])
def test_boolean_refuses_anything_else(raw: str) -> None:
    with pytest.raises(InvalidValue, match="true or false"):
        validate.boolean(raw)


def test_integer_bounds_are_inclusive() -> None:
    assert validate.integer("0", minimum=0, maximum=36500) == 0
    assert validate.integer("36500", minimum=0, maximum=36500) == 36500
    with pytest.raises(InvalidValue, match="from 0 to 36500"):
        validate.integer("36501", minimum=0, maximum=36500)
    with pytest.raises(InvalidValue, match="whole number"):
        validate.integer("1.5", minimum=0, maximum=10)


@pytest.mark.parametrize("raw", ["nan", "inf", "-1", "0", "abc"])
def test_number_refuses_non_finite_and_out_of_range(raw: str) -> None:
    with pytest.raises(InvalidValue):
        validate.number(raw, minimum=0.1, maximum=60)


def test_arns_are_checked_per_partition() -> None:
    role = "arn:aws-us-gov:iam::123456789012:role/path/cleanup"
    assert validate.role_arn(role) == role
    topic = "arn:aws:sns:eu-west-1:123456789012:alerts.fifo"
    assert validate.sns_topic_arn(topic) == topic
    with pytest.raises(InvalidValue, match="IAM role ARN"):
        validate.role_arn("arn:aws:iam::123:role/x")
    with pytest.raises(InvalidValue, match="SNS topic ARN"):
        validate.sns_topic_arn("arn:aws:sqs:eu-west-1:123456789012:queue")

# Maintained by the template: a template update replaces this file. Your tests go in test_job.py.
"""Edge cases of every boundary validator: accepted values and refusals."""

from __future__ import annotations

import functools
import json
import re
import string
from pathlib import Path
from urllib.parse import urlsplit

import botocore.session
import pytest
from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url
from hypothesis import example, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.runtime.settings import (
    validate,
)
from {{ cookiecutter.package_name }}.runtime.settings.validate import (
    InvalidValue,
)


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


def real_regions() -> list[str]:
    """Every region of every partition botocore knows (its pseudo-regions aside)."""
    import botocore

    data = Path(botocore.__file__).parent / "data" / "endpoints.json"
    partitions = json.loads(data.read_text(encoding="utf-8"))["partitions"]
    return sorted(
        region
        for partition in partitions
        for region in partition["regions"]
        if not region.endswith("-global")
    )


def test_region_accepts_every_region_of_every_partition() -> None:
    regions = real_regions()
    assert {"us-gov-west-1", "cn-northwest-1", "us-iso-east-1", "us-isob-east-1"} <= set(regions)
    assert [region for region in regions if validate.region(region) != region] == []


@pytest.mark.parametrize(
    "region",
    [
        "",
        "US-EAST-1",
        "us-east",
        "useast1",
        "us-east-1a",
        "mars-1",
        "us-east-01",
        "us-east-0",
        "zz-nowhere-99",
        "xx-east-1",
        "us-gov-nowhere-1",
        "us-east-100",
        "us-\u0435ast-1",
    ],
)
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


@pytest.mark.parametrize("name", ["automation", "Ops+Deploy=1,a.b@c_d-e", "a" * 64])
def test_role_name_accepts_iam_names(name: str) -> None:
    assert validate.role_name(name) == name


@pytest.mark.parametrize("name", ["", "a" * 65, "rôle", "роль", "role/path", "role name", "\u00b2"])
def test_role_name_refuses_non_iam_names(name: str) -> None:
    with pytest.raises(InvalidValue, match="IAM role name"):
        validate.role_name(name)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:role/rôle",
        "arn:aws:iam::123456789012:role/\u0662",
        "arn:aws:iam::12345678901\u0662:role/x",
    ],
)
def test_role_arns_are_ascii(arn: str) -> None:
    with pytest.raises(InvalidValue, match="IAM role ARN"):
        validate.role_arn(arn)
    with pytest.raises(InvalidValue, match="MFA device ARN"):
        validate.mfa_serial(arn.replace(":role/", ":mfa/"))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5000",
        "https://s3.eu-west-1.amazonaws.com",
        "http://localhost:4566/",
        "https://vpce-1a2b3c4d.s3.us-east-1.vpce.amazonaws.com",
        "http://[::1]:5000",
    ],
)
def test_endpoint_url_accepts_http_urls_with_a_host(url: str) -> None:
    assert validate.endpoint_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "localhost:4566",
        "127.0.0.1",
        "ftp://example.com",
        "http://",
        "http://:5000",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:port",
        "http://exa mple.com",
        "http://example.com\n",
        "file:///etc/passwd",
    ],
)
def test_endpoint_url_refuses_what_is_not_an_http_endpoint(url: str) -> None:
    with pytest.raises(InvalidValue, match="http:// or https:// URL"):
        validate.endpoint_url(url)


def test_endpoint_url_refuses_credentials_in_it() -> None:
    with pytest.raises(InvalidValue, match="user name or password"):
        validate.endpoint_url("http://user:secret@127.0.0.1:5000")  # pragma: allowlist secret


def dry_run_table() -> dict[str, list[str]]:
    """docs/settings.md's table of what a true/false setting accepts: meaning -> words."""
    page = Path(__file__).resolve().parent.parent / "docs" / "settings.md"
    section = page.read_text(encoding="utf-8").split("**True/false values.**", 1)[1]
    section = section.split("\n\n", 2)[1]
    table: dict[str, list[str]] = {}
    for row in section.splitlines()[2:]:
        words, meaning = (cell.strip() for cell in row.strip("|").split("|"))
        table[meaning] = re.findall(r"`([^`]*)`", words)
    return table


def test_the_docs_list_exactly_the_words_a_true_false_setting_accepts() -> None:
    table = dry_run_table()
    assert sorted(table) == ["false", "refused (exit 1)", "true"]
    for meaning in ("true", "false"):
        for word in table[meaning]:
            for spelling in (word, word.upper(), f" {word} "):
                assert validate.boolean(spelling) is (meaning == "true"), spelling
    assert set(table["true"]) == set(validate.TRUE_WORDS)
    assert set(table["false"]) == set(validate.FALSE_WORDS)
    for word in table["refused (exit 1)"]:
        with pytest.raises(InvalidValue):
            validate.boolean(word)


def test_arns_are_checked_per_partition() -> None:
    role = "arn:aws-us-gov:iam::123456789012:role/path/cleanup"
    assert validate.role_arn(role) == role
    topic = "arn:aws:sns:eu-west-1:123456789012:alerts.fifo"
    assert validate.sns_topic_arn(topic) == topic
    with pytest.raises(InvalidValue, match="IAM role ARN"):
        validate.role_arn("arn:aws:iam::123:role/x")
    with pytest.raises(InvalidValue, match="SNS topic ARN"):
        validate.sns_topic_arn("arn:aws:sqs:eu-west-1:123456789012:queue")


@pytest.mark.parametrize("raw", ["3_0", "\u0663\u0660", "+30", "30\u00a0", "0x1e", "1e1", "٣"])
def test_numbers_are_ascii_digits_only(raw: str) -> None:
    with pytest.raises(validate.InvalidValue, match="digits 0-9"):
        validate.integer(raw, minimum=0, maximum=36500)
    with pytest.raises(validate.InvalidValue, match="digits 0-9"):
        validate.number(raw, minimum=0, maximum=600)
    assert validate.integer(" 30\t", minimum=0, maximum=36500) == 30
    assert validate.number(" 2.5 ", minimum=0, maximum=600) == 2.5


def botocore_accepts(url: str) -> bool:
    """botocore's own check, made before it creates any client with ``url``,
    and the port as its signer reads it for every request (``urlsplit(url).port``,
    whose int() refuses more than 4,300 digits, leading zeros included)."""
    try:
        valid = bool(is_valid_endpoint_url(url) or is_valid_ipv6_endpoint_url(url))
        urlsplit(url).port  # noqa: B018 - read for what it raises
    except ValueError:  # urlsplit's refusal (an unmatched bracket, a port it cannot read)
        return False
    return valid


def accepted(url: str) -> bool:
    try:
        validate.endpoint_url(url)
    except InvalidValue:
        return False
    return True


# Characters a host might hold by mistake: botocore's pattern takes some
# non-ASCII ones (its \d and IGNORECASE match the Kelvin sign, a long s,
# Arabic-Indic digits), DNS takes none.
ODD_HOST_CHARS = "-._%:[]@ \u00a0\u212a\u017f\u0131\u0662\u200b"
LABELS = st.text(alphabet=string.ascii_letters + string.digits + ODD_HOST_CHARS, max_size=70)
# Labels that add up to botocore's 255 characters, and one over.
LONG_LABELS = st.sampled_from(["a" * 63, "b" * 62, "c" * 64, "d" * 61, "-e", "f-", "g", "1"])
HOSTS = st.one_of(
    st.lists(LABELS, min_size=1, max_size=5).map(".".join),
    st.lists(LONG_LABELS, min_size=1, max_size=5).map(".".join),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda address: f"[{address}]"),
    st.ip_addresses(v=6).map(lambda address: f"[{address.exploded.upper()}%25eth0]"),
    st.text(alphabet="0123456789abcdefv:.%[]", max_size=45).map(lambda text: f"[{text}]"),
)
# Ports of thousands of digits, most of them leading zeros: around int()'s
# limit of 4,300 digits, which botocore's signer meets reading the port.
LONG_PORTS = st.builds(
    lambda zeros, port: ":" + "0" * zeros + port,
    st.one_of(st.integers(0, 5000), st.sampled_from([635, 636, 4295, 4296, 4297, 4300])),
    st.sampled_from(["5000", "80", "0", "65536", "1"]),
)
URLS = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda scheme, host, dot, port, path: f"{scheme}{host}{dot}{port}{path}",
        st.sampled_from(["http://", "https://", "HTTPS://", "ftp://", "", "http:/", "http:///"]),
        HOSTS,
        st.sampled_from(["", ".", ".."]),
        st.one_of(
            st.sampled_from(["", ":", ":0", ":80", ":65535", ":65536", ":0080", ":x", ":1:2"]),
            LONG_PORTS,
        ),
        st.one_of(st.just(""), st.text(alphabet=string.printable + "\u00a0", max_size=12)),
    ),
)
MANY = settings(max_examples=300, deadline=None)


@MANY
@given(URLS)
@example("http://a\u00a0b.example.com/")  # a non-breaking space in the host
@example("http://" + "a" * 64 + ".example.com/")  # a label over 63 characters
@example("http://" + ".".join(["a" * 63] * 4) + ".b/")  # a host over 255 characters
@example("http://%zz/")
@example("http://-/")
@example("http://\u212a/")  # the Kelvin sign: botocore takes it, DNS does not
@example("http://[v1.x]/")  # an IPvFuture literal: urlsplit takes it
@example("http://127.0.0.1:" + "0" * 5000 + "5000")  # int() cannot read this port
@example("http://127.0.0.1:" + "0" * 4296 + "5000")  # 4,300 digits: int() reads it
@example("http://[::1]:" + "0" * 4297 + "5000/")
def test_every_endpoint_the_validator_accepts_botocore_accepts(url: str) -> None:
    """Whatever passes here passes botocore's own check, so a run never
    fails later, when botocore makes its first client, with a traceback."""
    if accepted(url):
        assert botocore_accepts(url), url


DNS_NAMES = st.builds(
    lambda labels, dot: ".".join(labels) + dot,
    st.one_of(
        st.lists(
            st.text(alphabet=string.ascii_letters + string.digits + "-", max_size=66),
            min_size=1,
            max_size=6,
        ),
        st.lists(LONG_LABELS, min_size=1, max_size=5),
    ),
    st.sampled_from(["", "."]),
)


@MANY
@given(
    st.one_of(
        DNS_NAMES,
        st.ip_addresses(v=6).map(lambda address: f"[{address}]"),
        st.ip_addresses(v=6).map(lambda address: f"[{address.exploded}]"),
        st.text(alphabet="0123456789abcdefABCDEF:.", max_size=45).map(lambda text: f"[{text}]"),
    )
)
def test_on_dns_names_and_ipv6_addresses_the_rule_is_botocore_s(host: str) -> None:
    """Not stricter either: a host in ASCII letters, digits, hyphens and
    dots, or an IPv6 address in brackets (no zone id), is accepted exactly
    when botocore takes it."""
    url = f"http://{host}:5000/path"
    assert accepted(url) is botocore_accepts(url), url


@functools.cache
def botocore_session() -> botocore.session.Session:
    return botocore.session.get_session()  # one: each loads the service models anew


@pytest.mark.parametrize(
    "url",
    [
        "http://" + ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 62]),  # 254 characters
        "http://" + ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 62]) + ".",
        "https://" + "a" * 63 + ".example.com:443/",
        "http://[::1]:0/",
        "http://[2001:DB8::8:800:200C:417A]:65535/a/b",
        "http://[::ffff:192.0.2.1]/",
        "http://localhost.:4566/~user/a;b=c/%2F",
    ],
)
def test_an_accepted_endpoint_makes_a_client(url: str) -> None:
    assert validate.endpoint_url(url) == url
    client = botocore_session().create_client("sts", region_name="us-east-1", endpoint_url=url)
    assert client.meta.endpoint_url == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://a\u00a0b/", "printable ASCII"),
        ("http://" + "a" * 64 + "/", "DNS name"),
        ("http://" + ".".join(["a" * 63] * 4) + ".b/", "DNS name"),
        ("http://" + ".".join(["a" * 63] * 4) + "./", "DNS name"),  # 256 with its dot
        ("http://%zz/", "DNS name"),
        ("http://-/", "DNS name"),
        ("http://a-.example.com/", "DNS name"),
        ("http://a..b/", "DNS name"),
        ("http://[fe80::1%25eth0]/", "IPv6 address"),
        ("http://[v1.x]/", "IPv6 address"),
        ("http://[::1]x/", "with a host"),
        ("http://h:65536/", "port up to 65535"),
        ("http://h:" + "9" * 5000 + "/", "port up to 65535"),
        ("http://h:" + "0" * 5000 + "5000/", "port has at most 640 digits"),
        ("http://[::1]:" + "0" * 637 + "5000", "port has at most 640 digits"),
        ("http://h/?x=1", "no query"),
        ("http://h/#x", "no query"),
        ("http://h/%zz", "path"),
        ("http://h/a|b", "path"),
    ],
)
def test_endpoint_url_refuses_what_botocore_cannot_use_saying_why(url: str, reason: str) -> None:
    with pytest.raises(InvalidValue, match=re.escape(reason)) as refused:
        validate.endpoint_url(url)
    assert len(str(refused.value)) < 400  # a long value is quoted cut short


@pytest.mark.parametrize("text", ["1" * 5000, "-" + "1" * 5000, "0" * 4400 + "1" * 4400])
def test_a_whole_number_of_thousands_of_digits_is_refused_by_its_length(text: str) -> None:
    digits = len(text.lstrip("-").lstrip("0"))
    with pytest.raises(InvalidValue, match=f"from 1 to 32, got a number of {digits} digits"):
        validate.integer(text, minimum=1, maximum=32)
    with pytest.raises(InvalidValue, match=r"\(\d+ characters\)"):
        validate.number(text, minimum=0, maximum=60)


def test_leading_zeros_do_not_count_against_a_number() -> None:
    assert validate.integer("0" * 5000 + "30", minimum=0, maximum=36500) == 30
    assert validate.integer("-" + "0" * 5000, minimum=0, maximum=1) == 0

# Maintained by the template: a template update replaces this file. Your tests go in test_job.py.
"""No fragment of a secret reaches the output, at any level, whatever its shape.

Secret strings here are built around characters from Unicode's private use
area, which nothing else in a run ever prints: finding one of them in the
output (raw, ``\\u`` escaped, or as UTF-8 bytes in a repr) is a leak of at
least a fragment, however short the secret.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }} import job
from {{ cookiecutter.package_name }}.runtime.access.aws import (
    Clients,
    read_json_secret,
    read_secret,
)
from {{ cookiecutter.package_name }}.runtime.output import (
    logs,
    redact,
    secret_calls,
)
from {{ cookiecutter.package_name }}.runtime.run.parser import (
    build_parser,
)
from {{ cookiecutter.package_name }}.runtime.settings import (
    config,
)

from .conftest import ACCOUNT_ID, JOB_ENV

ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/reader"
MARKERS = st.characters(min_codepoint=0xE000, max_codepoint=0xF8FF)
# The shapes that broke naive scrubbing: quotes, backslashes, JSON and
# regex syntax, control characters, non-BMP text, separators.
AWKWARD = st.sampled_from(['"', "\\", "'", "{", "}", ":", ",", "\n", "\x00", "\u2028", "😀", " "])
# A fragment in any form: raw, as a \u escape, as UTF-8 bytes (\xee\x80\x80),
# or percent-encoded in a URL (%EE%80%80, %ee%80%80).
LEAK = re.compile(
    r"[\ue000-\uf8ff]"
    r"|\\+u[eE][0-9a-fA-F]{3}|\\+u[fF][0-8][0-9a-fA-F]{2}"
    r"|\\+x[eE][eEfF]\\+x[89abAB]"
    r"|%[eE][eEfF]%[89abAB]"
)


# A database URL with the password left out (%s): where a secret most often
# appears percent-encoded.
DATABASE_URL = "postgresql://app:%s@db.internal:5432/app"  # pragma: allowlist secret


@st.composite
def secret_texts(draw: st.DrawFn) -> str:
    """A string of 1 to 40 characters, at least one of them a marker."""
    marker = draw(MARKERS)
    rest = draw(st.lists(st.one_of(MARKERS, AWKWARD, st.characters()), max_size=39))
    position = draw(st.integers(min_value=0, max_value=len(rest)))
    return "".join([*rest[:position], marker, *rest[position:]])


LEAVES = st.one_of(
    secret_texts(),
    st.integers(min_value=10**9, max_value=10**15),  # distinctive: cannot match by chance
)
KEYS = st.text(alphabet="abcdefghij_", min_size=1, max_size=8)
SECRETS = st.dictionaries(
    KEYS,
    st.recursive(
        LEAVES,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
        max_leaves=8,
    ),
    min_size=1,
    max_size=5,
)


def numbers_in(value: Any) -> Iterator[int]:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from numbers_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from numbers_in(item)


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def in_urls(value: str) -> set[str]:
    """``value`` as URL builders percent-encode it, with upper- and lower-case hex.

    A JSON secret may hold a lone surrogate (a ``\\ud800`` escape): it is
    encoded as the runtime registers it (``surrogatepass``), not refused.
    """
    upper = {
        quote(value, safe="", errors="surrogatepass"),
        quote(value, safe="/", errors="surrogatepass"),
        quote_plus(value, errors="surrogatepass"),
    }
    lower = {re.sub("%[0-9A-F]{2}", lambda match: match.group().lower(), form) for form in upper}
    return upper | lower


def load_settings(**env: str) -> config.Settings:
    args = build_parser(job).parse_args([])
    loaded, _ = config.load(args, {**JOB_ENV, **env}, job.JobSettings, job.SETTINGS)
    return loaded


@pytest.fixture
def debug_output(capfd: pytest.CaptureFixture[str]) -> Iterator[io.StringIO]:
    """Everything logged at DEBUG, every library included, while the test runs."""
    buffer = io.StringIO()
    logs.setup("DEBUG", "secret-test", buffer)
    yield buffer
    logs.setup("WARNING", "secret-test")


def everything(buffer: io.StringIO, capfd: pytest.CaptureFixture[str]) -> str:
    """What was written since the last look: the log, stdout and stderr."""
    out, err = capfd.readouterr()
    logged = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return logged + out + err


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(secret=SECRETS)
def test_no_fragment_of_a_json_secret_reaches_the_output_at_debug(
    aws: None, debug_output: io.StringIO, capfd: pytest.CaptureFixture[str], secret: dict[str, Any]
) -> None:
    everything(debug_output, capfd)  # what earlier examples wrote
    name = f"db-{uuid.uuid4().hex}"
    boto3.client("secretsmanager").create_secret(Name=name, SecretString=json.dumps(secret))
    clients = Clients(load_settings(ASSUME_ROLE_ARN=ROLE_ARN), "run")
    value = read_json_secret(clients, name)
    assert value == secret
    clients.sts.get_caller_identity()  # a call that carries no secret: its body is logged
    log = logging.getLogger("{{ cookiecutter.package_name }}.job")
    log.info("connecting with %s", value, extra={"settings": value})
    log.debug("as JSON %s", json.dumps(value), extra={"raw": json.dumps(value, ensure_ascii=False)})
    log.warning("repr %r", value)
    for leaf in strings_in(value):
        for form in in_urls(leaf):
            log.info("connecting to %s", DATABASE_URL % form)

    output = everything(debug_output, capfd)
    assert "botocore" in output  # the wire logs were on
    assert "Response body" in output  # and shown for the calls that carry no secret
    leaked = LEAK.search(output)
    assert leaked is None, output[max(0, leaked.start() - 200) : leaked.end() + 200]
    for number in numbers_in(secret):
        assert str(number) not in output
    frozen = clients.credentials().get_frozen_credentials()
    assert frozen.secret_key
    assert frozen.token
    assert frozen.secret_key not in output
    assert frozen.token not in output


def put_parameter(client: Any, value: str) -> None:
    client.put_parameter(Name="/app/pw", Value=value, Type="SecureString")


CASES: dict[str, tuple[str, Callable[[Any, str], object], Callable[[Any], Any]]] = {
    "ssm GetParameter": (
        "ssm",
        put_parameter,
        lambda client: client.get_parameter(Name="/app/pw", WithDecryption=True),
    ),
    "ssm GetParametersByPath": (
        "ssm",
        put_parameter,
        lambda client: client.get_parameters_by_path(Path="/app", WithDecryption=True),
    ),
    "kms GenerateDataKey": (
        "kms",
        lambda client, _: client.create_key(Description="k"),
        lambda client: client.generate_data_key(
            KeyId=client.list_keys()["Keys"][0]["KeyId"], NumberOfBytes=32
        ),
    ),
    "sts GetSessionToken": ("sts", lambda *_: None, lambda client: client.get_session_token()),
}


@pytest.mark.parametrize("case", CASES)
def test_bodies_of_secret_calls_never_reach_the_log(
    aws: None, debug_output: io.StringIO, capfd: pytest.CaptureFixture[str], case: str
) -> None:
    service, prepare, call = CASES[case]
    make_client: Any = boto3.client
    client = make_client(service)
    prepare(client, "pw-\ue000-value")
    answer = call(client)
    output = everything(debug_output, capfd)
    assert LEAK.search(output) is None
    for value in json.dumps(answer.get("Credentials", {}), default=str).split('"'):
        if len(value) > 20:  # the key id, secret key and session token
            assert value not in output
    if "Plaintext" in answer:
        assert repr(answer["Plaintext"])[2:-1] not in output
        assert base64.b64encode(answer["Plaintext"]).decode() not in output
    assert "botocore" in output


def test_calls_that_carry_no_secret_are_still_logged_at_debug(
    aws: None, debug_output: io.StringIO, capfd: pytest.CaptureFixture[str]
) -> None:
    boto3.client("s3").list_buckets()
    output = everything(debug_output, capfd)
    assert "ListBuckets" in output
    assert "Response body" in output


def test_a_job_declares_its_own_secret_operations(
    aws: None, debug_output: io.StringIO, capfd: pytest.CaptureFixture[str]
) -> None:
    client: Any = boto3.client("ssm")
    client.put_parameter(Name="declared", Value="value-\ue001", Type="SecureString")
    read = ("ssm", "GetParameter")
    secret_calls.SECRET_OPERATIONS.discard(read)
    try:
        client.get_parameter(Name="declared", WithDecryption=True)
        assert LEAK.search(everything(debug_output, capfd))  # undeclared: its body is logged
    finally:
        secret_calls.declare_secret_operations(*read)
    client.get_parameter(Name="declared", WithDecryption=True)
    assert LEAK.search(everything(debug_output, capfd)) is None


def test_secret_calls_made_in_many_threads_are_all_muted(
    aws: None, debug_output: io.StringIO, capfd: pytest.CaptureFixture[str]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client: Any = boto3.client("secretsmanager")
    for index in range(8):
        client.create_secret(Name=f"s{index}", SecretString=f"value-{index}-\ue003")
    s3: Any = boto3.client("s3")

    def read(index: int) -> None:
        s3.list_buckets()  # a call with a logged body, interleaved
        client.get_secret_value(SecretId=f"s{index}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(read, range(8)))
    output = everything(debug_output, capfd)
    assert LEAK.search(output) is None
    assert output.count("ListBuckets") >= 8


def test_a_text_secret_is_scrubbed_in_every_escaped_form(
    aws: None, debug_output: io.StringIO, capfd: pytest.CaptureFixture[str]
) -> None:
    value = 'pa"ss\\word\n\u2028😀'  # pragma: allowlist secret
    boto3.client("secretsmanager").create_secret(Name="text", SecretString=value)
    assert read_secret(Clients(load_settings(), "run"), "text") == value
    log = logging.getLogger("{{ cookiecutter.package_name }}")
    log.info("%s %r %a", value, value, value, extra={"json": json.dumps(value)})
    output = everything(debug_output, capfd)
    for form in (value, repr(value)[1:-1], ascii(value)[1:-1], json.dumps(value)[1:-1]):
        assert form not in output
        assert json.dumps(form)[1:-1] not in output
    assert output.count(redact.REDACTED) >= 4


@pytest.mark.parametrize(
    "password",
    ["p@ss:w/rd+1 é", "a/b", "x y", "\ue000", "日本/語"],  # pragma: allowlist secret
)
def test_a_secret_in_a_url_is_scrubbed_however_it_was_percent_encoded(password: str) -> None:
    redact.register_secret(password)
    for form in in_urls(password):
        url = f"postgresql://app:{form}@db.internal:5432/app"
        assert redact.redact(url) == f"postgresql://app:{redact.REDACTED}@db.internal:5432/app"


def test_short_secrets_are_scrubbed_where_they_stand_alone() -> None:
    redact.register_secret_leaves({"pin": "q7", "nested": {"port": 54_321, "list": [1.25]}})
    assert redact.redact("pin q7 port 54321 ratio 1.25") == (
        "pin [REDACTED] port [REDACTED] ratio [REDACTED]"
    )
    assert redact.redact("q7x 1543210 x1.250") == "q7x 1543210 x1.250"  # inside longer words
    redact.register_secret("a-long-secret")
    assert redact.redact("xa-long-secretx") == "x[REDACTED]x"  # long values: anywhere


def test_number_fields_are_replaced_only_for_long_secret_numbers() -> None:
    redact.register_secret_leaves({"port": 5432, "account_pin": 99_887_766})
    buffer = io.StringIO()
    log = logs.setup("INFO", "r", buffer)
    log.info("counts", extra={"count": 5432, "pin": 99_887_766})
    logs.setup("WARNING", "r")
    entry = json.loads(buffer.getvalue())
    assert entry["count"] == 5432
    assert entry["pin"] == redact.REDACTED


def test_true_false_and_null_are_not_registered() -> None:
    redact.register_secret_leaves({"on": True, "off": False, "none": None})
    assert redact.redact("true false null") == "true false null"


def test_credential_shapes_in_wire_logs_are_replaced() -> None:
    key_id = "ASIA" + "Q" * 16
    headers = f"'X-Amz-Security-Token': b'qq1', 'Authorization': b'AWS4 Credential={key_id}/x'"
    text = redact.redact(f"{headers} canonical x-amz-security-token:qq2 id {key_id}")
    assert key_id not in text
    assert "qq1" not in text
    assert "qq2" not in text
    assert text.count(redact.REDACTED) == 4


def test_each_test_starts_with_no_secret_registered_by_an_earlier_one() -> None:
    # Earlier tests (test_aws, and those above) register values; the
    # conftest fixture must have dropped them, or their scrubbing would
    # leak into this test's output.
    assert redact.redact("app-logs 54321 q7") == "app-logs 54321 q7"
    redact.register_secret("only-this-test")
    assert redact.redact("only-this-test") == redact.REDACTED

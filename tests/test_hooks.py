"""The hooks, rendered the way cookiecutter renders them and run as scripts."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import regex
import stdlibs
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter
from jinja2 import Environment, StrictUndefined

from . import environment_names
from .combinations import HOSTILE_TEXT, interpreter
from .conftest import TEMPLATE

DEFAULTS = {
    key: (value[0] if isinstance(value, list) else value)
    for key, value in json.loads((TEMPLATE / "cookiecutter.json").read_text()).items()
    if not key.startswith("_")
}
GOOD = {
    **DEFAULTS,
    "project_slug": "aws-automation-script",
    "package_name": "aws_automation_script",
    "author_email": "team@example.com",
}

# (field, bad value, words the reason must contain)
BAD_ANSWERS = [
    ("project_name", "", "non-empty"),
    ("project_name", "x" * 201, "at most 200"),
    ("project_slug", "My-Script", "lowercase"),
    ("project_slug", "1script", "starting with a letter"),
    ("project_slug", "my--script", "single hyphens"),
    ("project_slug", "my_script", "lowercase letters, digits and single hyphens"),
    ("project_slug", "a" * 57, "at most 56"),
    # a distribution the environment installs: the project would require itself
    ("project_slug", "hypothesis", "'hypothesis' is the name of a distribution the project's"),
    ("project_slug", "pytest", "is the name of a distribution"),
    ("project_slug", "ruff", "is the name of a distribution"),
    ("project_slug", "boto3", "is the name of a distribution"),
    ("project_slug", "pyyaml", "is the name of a distribution"),
    ("project_slug", "python-dateutil", "is the name of a distribution"),
    ("project_slug", "boto3-stubs", "is the name of a distribution"),
    ("project_slug", "types-pyyaml", "is the name of a distribution"),
    ("project_slug", "cfn-lint", "is the name of a distribution"),
    ("project_slug", "pip", "is the name of a distribution"),
    ("project_slug", "setuptools", "is the name of a distribution"),  # python3.11 -m venv's
    ("project_slug", "hatchling", "is the name of a distribution"),  # the build backend
    # a command in the virtualenv's bin, which the project's command would replace
    ("project_slug", "python", "'python' is the name of a command the project's virtualenv"),
    ("project_slug", "python3", "is the name of a command"),
    ("project_slug", "activate", "is the name of a command"),
    ("project_slug", "normalizer", "is the name of a command"),
    ("package_name", "My-Pkg", "identifier"),
    ("package_name", "a" * 57, "at most 56 characters, got 57"),
    ("package_name", "a" * 300, "at most 56 characters, got 300"),
    ("package_name", "class", "keyword"),
    ("package_name", "json", "standard library"),
    ("package_name", "logging", "standard library"),
    ("package_name", "boto3", "would shadow the module boto3, which the project"),
    ("package_name", "moto", "would shadow the module moto"),
    ("package_name", "tests", "would shadow the module tests"),
    # the project's test and tool dependencies, not only its runtime ones
    ("package_name", "hypothesis", "would shadow the module hypothesis"),
    ("package_name", "pre_commit", "would shadow the module pre_commit"),
    ("package_name", "cfnlint", "would shadow the module cfnlint"),
    ("package_name", "mypy_boto3_iam", "would shadow the module mypy_boto3_iam"),
    # what a plain `python -m venv` holds: pip, and on 3.11 setuptools
    ("package_name", "pkg_resources", "would shadow the module pkg_resources"),
    ("package_name", "setuptools", "would shadow the module setuptools"),
    ("package_name", "pip", "would shadow the module pip"),
    # the standard library of every supported Python, not only the hook's own
    ("package_name", "annotationlib", "standard library module"),
    ("package_name", "compression", "standard library module"),
    ("package_name", "distutils", "standard library module"),
    ("description", "line one\nline two", "U+000A"),
    ("description", "line one\u2028line two", "U+2028 (LINE SEPARATOR)"),
    ("description", "para\u2029graph", "U+2029 (PARAGRAPH SEPARATOR)"),
    ("description", "next\x85line", "U+0085"),
    ("description", "vertical\x0btab", "U+000B"),
    ("description", "form\x0cfeed", "U+000C"),
    ("description", "tab\tbed", "U+0009"),
    ("description", "nul\x00byte", "U+0000"),
    ("description", "delete\x7f", "U+007F"),
    ("description", "c1 \x9b control", "U+009B"),
    ("project_name", "\x1b[31mred\x1b[0m", "U+001B"),
    ("project_name", "evil\u202etxt.exe", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
    ("project_name", "isolated\u2066x\u2069", "U+2066 (LEFT-TO-RIGHT ISOLATE)"),
    ("author_name", "zero\u200bwidth", "U+200B (ZERO WIDTH SPACE)"),
    ("author_name", "joiner\u200d", "U+200D (ZERO WIDTH JOINER)"),
    ("author_name", "\ufeffbom", "U+FEFF"),
    ("author_name", "not a char \uffff", "U+FFFF (a noncharacter) at character 12"),
    ("author_name", "not a char \ufdd0", "U+FDD0 (a noncharacter)"),
    # invalid UTF-8 in a command line reaches Python as lone surrogates
    ("project_name", "bad\udcffbyte", "U+DCFF (a lone surrogate, not a character"),
    ("description", "\ud800", "U+D800 (a lone surrogate"),
    # default-ignorable code points of every category, not only format characters
    ("project_name", "\u3164", "U+3164 (HANGUL FILLER) at character 1, an invisible character"),
    ("project_name", "a\u034fb", "U+034F (COMBINING GRAPHEME JOINER) at character 2"),
    ("description", "love \u2764\ufe0f", "U+FE0F (VARIATION SELECTOR-16) at character 7"),
    ("description", "khmer \u17b4", "U+17B4 (KHMER VOWEL INHERENT AQ)"),
    ("author_name", "tag\U000e0041", "U+E0041 (TAG LATIN CAPITAL LETTER A)"),
    ("author_name", "reserved\u2065", "U+2065 (unassigned) at character 9"),
    ("author_name", "vs\U000e0100", "U+E0100 (VARIATION SELECTOR-17)"),
    ("author_name", "  ", "non-empty"),
    ("author_email", "not-an-email", "plausible email"),
    ("author_email", "a@b", "plausible email"),
    ("author_email", "ops\x1b[2J@example.com", "U+001B"),
    ("author_email", "ops\u200b@example.com", "U+200B"),
    ("python_version", "3.10", "one of 3.11"),
    ("aws_region", "us-east", "AWS region"),
    ("aws_region", "US-EAST-1", "AWS region"),
    ("aws_region", "mars-north-1a", "AWS region"),
    ("allowed_account_ids", "12345678901", "12 digits"),
    ("allowed_account_ids", "123456789012,abcdefghijkl", "'abcdefghijkl'"),
    ("allowed_account_ids", "123456789012\n", "'123456789012\\n'"),
    ("allowed_account_ids", " , ", "no account id"),
    ("allowed_account_ids", ",", "no account id"),
    ("starter_job", "ec2-reaper", "one of s3-cleanup, log-retention, access-key-audit, blank"),
    ("include_dockerfile", "yes", "JSON boolean"),
    ("deploy_target", "kubernetes", "one of none, lambda, ecs-fargate"),
]


def render(hook: str, answers: dict[str, Any], tmp_path: Path) -> Path:
    source = (TEMPLATE / "hooks" / hook).read_text(encoding="utf-8")
    text = Environment(undefined=StrictUndefined).from_string(source).render(cookiecutter=answers)
    target = tmp_path / hook
    target.write_text(text, encoding="utf-8")
    return target


def run_hook(
    path: Path, cwd: Path, *flags: str, shell_at: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a hook in ``cwd`` as cookiecutter does, from a shell in ``shell_at``
    (the shell's ``PWD``: where cookiecutter was started; ``cwd`` by default)."""
    env = {**os.environ, "PWD": str(shell_at or cwd)}
    return subprocess.run(
        [sys.executable, *flags, str(path)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("ERROR: ")]


def test_good_answers_pass(tmp_path: Path) -> None:
    done = run_hook(render("pre_gen_project.py", GOOD, tmp_path), tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


@pytest.mark.parametrize(
    ("field", "value", "reason"), BAD_ANSWERS, ids=[f"{f}={v!r}"[:40] for f, v, _ in BAD_ANSWERS]
)
def test_each_bad_answer_is_refused_naming_its_field(
    tmp_path: Path, field: str, value: Any, reason: str
) -> None:
    done = run_hook(render("pre_gen_project.py", {**GOOD, field: value}, tmp_path), tmp_path)
    assert done.returncode == 1
    (line,) = error_lines(done.stderr)
    assert line.startswith(f"ERROR: {field}: ")
    assert reason in line


def test_every_bad_field_is_reported_at_once_even_under_dash_o(tmp_path: Path) -> None:
    answers = {**GOOD, "project_slug": "Bad Slug", "aws_region": "nowhere", "author_email": "x"}
    for flags in ((), ("-O",)):
        done = run_hook(render("pre_gen_project.py", answers, tmp_path), tmp_path, *flags)
        assert done.returncode == 1
        fields = [line.split(":")[1].strip() for line in error_lines(done.stderr)]
        assert fields == ["project_slug", "author_email", "aws_region"]


@pytest.mark.parametrize(
    "region",
    ["us-east-1", "eu-central-2", "ap-southeast-5", "us-gov-west-1", "cn-north-1", "us-iso-east-1"],
)
def test_regions_of_every_partition_pass(tmp_path: Path, region: str) -> None:
    done = run_hook(
        render("pre_gen_project.py", {**GOOD, "aws_region": region}, tmp_path), tmp_path
    )
    assert done.returncode == 0, done.stderr


def test_hostile_text_is_parsed_as_data_not_code(tmp_path: Path) -> None:
    answers = {**GOOD, "project_name": HOSTILE_TEXT, "description": HOSTILE_TEXT + "\"\"\"'''\\"}
    done = run_hook(render("pre_gen_project.py", answers, tmp_path), tmp_path)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "pwned").exists()


def isolated_config(tmp_path: Path) -> Path:
    """A cookiecutter config whose replay and clone folders are under tmp_path,
    so a test's bakes leave the user's ~/.cookiecutter_replay alone."""
    config = tmp_path / "cookiecutter-config.yaml"
    config.write_text(
        f"replay_dir: {json.dumps(str(tmp_path / 'replay'))}\n"
        f"cookiecutters_dir: {json.dumps(str(tmp_path / 'cookiecutters'))}\n"
    )
    return config


# (answers, the fields refused)
REFUSED_BAKES = [
    ({"project_name": ""}, ["project_name", "project_slug"]),
    ({"project_slug": "Bad Slug", "package_name": "pkg"}, ["project_slug"]),
    ({"package_name": "json"}, ["package_name"]),
    (
        {"aws_region": "nowhere", "allowed_account_ids": "1234", "author_email": "nope"},
        ["author_email", "aws_region", "allowed_account_ids"],
    ),
    # cookiecutter would stop half-way, the file system refusing so long a path
    ({"package_name": "a" * 300}, ["package_name"]),
    # named like a distribution the environment installs: it would require itself
    (
        {"project_name": "Proj hypothesis", "project_slug": "hypothesis", "package_name": "ok"},
        ["project_slug"],
    ),
    ({"project_name": "pyyaml"}, ["project_slug"]),
    ({"project_name": "python-dateutil"}, ["project_slug"]),
    ({"project_name": "boto3-stubs"}, ["project_slug"]),
    ({"project_name": "types-pyyaml"}, ["project_slug"]),
    ({"project_name": "cfn-lint", "deploy_target": "lambda"}, ["project_slug"]),
    # its command would replace the virtualenv's own python
    ({"project_name": "Python"}, ["project_slug"]),
    # setuptools' module, in every `python3.11 -m venv`
    ({"project_name": "Pkg Resources"}, ["package_name"]),
]


@pytest.mark.parametrize(
    ("context", "fields"),
    REFUSED_BAKES,
    ids=[",".join(f"{k}={v}" for k, v in c.items())[:40] for c, _ in REFUSED_BAKES],
)
def test_refused_bake_leaves_nothing_in_the_output_dir(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], context: dict[str, str], fields: list[str]
) -> None:
    output = tmp_path / "out"
    output.mkdir()
    with pytest.raises(FailedHookException):
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            output_dir=str(output),
            extra_context=context,
            config_file=str(isolated_config(tmp_path)),
        )
    assert list(output.iterdir()) == []
    reported = error_lines(capfd.readouterr().err)
    assert [line.split(":")[1].strip() for line in reported] == fields


def test_a_refused_bake_s_answers_are_in_cookiecutter_s_replay_file(tmp_path: Path) -> None:
    """What the README says of a refused bake: nothing lands in the output
    folder, but cookiecutter saves the answers to its replay file before any
    hook runs, so the refused answers replace the last good bake's there (no
    hook can keep the old file: it is overwritten before the first one runs)."""
    config = isolated_config(tmp_path)
    output = tmp_path / "out"
    good = cookiecutter(
        str(TEMPLATE),
        no_input=True,
        output_dir=str(output),
        config_file=str(config),
        extra_context={"project_name": "Good Tool"},
    )
    (replay,) = (tmp_path / "replay").iterdir()
    assert json.loads(replay.read_text())["cookiecutter"]["project_name"] == "Good Tool"
    with pytest.raises(FailedHookException):
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            output_dir=str(output),
            config_file=str(config),
            extra_context={"project_name": "Refused Tool", "package_name": "json"},
        )
    assert [path.name for path in output.iterdir()] == [Path(good).name]
    assert json.loads(replay.read_text())["cookiecutter"]["package_name"] == "json"
    with pytest.raises(FailedHookException):  # --replay bakes the refused answers
        cookiecutter(str(TEMPLATE), replay=True, output_dir=str(output), config_file=str(config))
    assert [path.name for path in output.iterdir()] == [Path(good).name]
    readme = " ".join((TEMPLATE / "README.md").read_text(encoding="utf-8").split())
    assert "nothing is written to the output folder" in readme
    assert "its replay file (`~/.cookiecutter_replay/<template>.json`) holds the refused" in readme


SWITCH_OFF = {
    "include_github_actions": [".github"],
    "include_pre_commit": [".pre-commit-config.yaml"],
    "include_dockerfile": ["Dockerfile", ".dockerignore"],
}


def make_full_tree(root: Path) -> None:
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "ci.yml").write_text("name: ci\n")
    for name in (".pre-commit-config.yaml", "Dockerfile", ".dockerignore", "README.md"):
        (root / name).write_text("x\n")


@pytest.mark.parametrize("switch", sorted(SWITCH_OFF))
def test_post_hook_removes_what_a_switch_turns_off_and_is_idempotent(
    tmp_path: Path, switch: str
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    make_full_tree(project)
    answers = {**GOOD, "include_github_actions": True, "include_pre_commit": True}
    answers |= {"include_dockerfile": True, switch: False}
    hook = render("post_gen_project.py", answers, tmp_path)
    for _ in range(2):  # a second run (template update) must not fail or change more
        done = run_hook(hook, project)
        assert done.returncode == 0, done.stderr
        assert "Next steps" in done.stdout
        for other, paths in SWITCH_OFF.items():
            for relative in paths:
                assert (project / relative).exists() is (other != switch), relative
        assert (project / "README.md").exists()


# deploy target -> paths it keeps (written independently of the hook's table)
DEPLOY_KEEPS = {
    "none": set(),
    "lambda": {
        "template.yaml",
        "target-role.yaml",
        "tests/test_deploy.py",
        "Makefile",
        "src/aws_automation_script/handler.py",
        "tests/test_handler.py",
    },
    "ecs-fargate": {
        "template.yaml",
        "target-role.yaml",
        "tests/test_deploy.py",
        "Dockerfile",
        ".dockerignore",
    },
}


@pytest.mark.parametrize("target", sorted(DEPLOY_KEEPS))
def test_post_hook_keeps_only_the_chosen_deploy_target_s_files(tmp_path: Path, target: str) -> None:
    project = tmp_path / "project"
    every = set().union(*DEPLOY_KEEPS.values())
    for relative in every:
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text("x\n")
    answers = {**GOOD, "include_dockerfile": False, "deploy_target": target}
    hook = render("post_gen_project.py", answers, tmp_path)
    for _ in range(2):
        done = run_hook(hook, project)
        assert done.returncode == 0, done.stderr
        kept = {relative for relative in every if (project / relative).exists()}
        assert kept == DEPLOY_KEEPS[target]


@pytest.mark.parametrize(
    ("shell_at", "expected"),
    [
        ("out", "cd project"),  # cookiecutter -o . (or the default)
        ("out/template", "cd ../project"),  # the README's: in the clone, --output-dir ..
        ("elsewhere/deep/down", "cd {project}"),  # far away: the whole path
    ],
)
def test_next_steps_cd_from_where_the_shell_is(
    tmp_path: Path, shell_at: str, expected: str
) -> None:
    project = tmp_path / "out" / "project"
    project.mkdir(parents=True)
    (tmp_path / shell_at).mkdir(parents=True, exist_ok=True)
    hook = render("post_gen_project.py", GOOD, tmp_path)
    done = run_hook(hook, project, shell_at=tmp_path / shell_at)
    assert done.returncode == 0, done.stderr
    lines = [line.strip() for line in done.stdout.splitlines()]
    assert f"Created aws-automation-script in {project}. Next steps:" in lines
    assert expected.format(project=project) + " && git init" in lines
    cd_line = next(line for line in lines if line.startswith("cd "))
    where = cd_line.removeprefix("cd ").removesuffix(" && git init")
    assert (tmp_path / shell_at / where).resolve() == project.resolve()


@pytest.mark.parametrize(("python", "pre_commit"), [("3.12", True), ("3.14", False)])
def test_next_steps_name_the_minimum_python_upgrade_pip_and_set_up_git(
    tmp_path: Path, python: str, pre_commit: bool
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    answers = {**GOOD, "python_version": python, "include_pre_commit": pre_commit}
    done = run_hook(render("post_gen_project.py", answers, tmp_path), project, shell_at=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [line.strip() for line in done.stdout.splitlines()]
    assert "cd project && git init" in lines
    assert f"python{python} -m venv .venv && . .venv/bin/activate" in lines
    assert "python -m pip install --upgrade pip && pip install -e '.[dev]'" in lines
    checks = "pytest && ruff check . && ruff format --check . && mypy && lint-imports && pyright"
    assert checks in lines
    assert ("pre-commit install" in lines) is pre_commit
    assert not any(line.startswith("python3 -m venv") for line in lines)


EMOJI_TEXT = 'Rocket 🚀 ships 𝄞 and 🦄 ❤ for Zoë, 日本 "quoted" \\ back'


def test_non_bmp_text_passes_the_hook(tmp_path: Path) -> None:
    answers = {**GOOD, "project_name": EMOJI_TEXT, "description": EMOJI_TEXT}
    done = run_hook(
        render("pre_gen_project.py", answers | {"author_name": EMOJI_TEXT}, tmp_path), tmp_path
    )
    assert done.returncode == 0, done.stderr


def rerun_line(stderr: str) -> str:
    lines = stderr.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("To bake again"))
    return lines[index + 1].strip()


def test_refusal_prints_a_command_that_rebakes_with_the_valid_answers(tmp_path: Path) -> None:
    """After the ERROR lines comes a shell command with every valid answer as
    key=value, quoted so hostile text survives the shell: adding the fixed
    answer to it bakes the project with everything else as first given."""
    output = tmp_path / "out"
    context = {
        "project_name": "Ops $(touch pwned) 'quoted' tool",
        "description": EMOJI_TEXT,
        "author_name": HOSTILE_TEXT,
        "aws_region": "eu-west-3",
        "allowed_account_ids": "111111111111, 222222222222",
        "starter_job": "blank",
        "include_dockerfile": True,
        "include_pre_commit": False,
        "deploy_target": "lambda",
        "author_email": "not-an-email",
    }
    refused = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE)]
        + ["--output-dir", str(output)]
        + [
            f"{key}={json.dumps(value) if isinstance(value, bool) else value}"
            for key, value in context.items()
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0
    assert error_lines(refused.stderr) == [
        "ERROR: author_email: 'not-an-email' is not a plausible email address "
        "(leave it empty for none)"
    ]
    command = rerun_line(refused.stderr)
    assert "author_email" not in command
    assert not output.exists() or list(output.iterdir()) == []

    fixed = subprocess.run(
        ["bash", "-c", command + " author_email=ops@example.com"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert fixed.returncode == 0, fixed.stderr
    assert not (tmp_path / "pwned").exists()
    recorded = json.loads(
        (output / "ops-touch-pwned-quoted-tool" / ".cookiecutter.json").read_text()
    )
    for key, value in context.items():
        expected = "ops@example.com" if key == "author_email" else value
        assert recorded[key] == expected, key


def test_a_bad_slug_is_reported_once_not_again_as_its_package_name(tmp_path: Path) -> None:
    answers = {**GOOD, "project_slug": "My Tool!", "package_name": "My Tool!"}
    done = run_hook(render("pre_gen_project.py", answers, tmp_path), tmp_path)
    assert done.returncode == 1
    assert [line.split(":")[1].strip() for line in error_lines(done.stderr)] == ["project_slug"]
    command = rerun_line(done.stderr)
    assert "package_name=" not in command  # derived again from the fixed slug
    assert "project_name=" in command
    # a package name given on its own is still checked with a bad slug
    answers = {**GOOD, "project_slug": "My Tool!", "package_name": "json"}
    done = run_hook(render("pre_gen_project.py", answers, tmp_path), tmp_path)
    fields = [line.split(":")[1].strip() for line in error_lines(done.stderr)]
    assert fields == ["project_slug", "package_name"]


def test_a_name_refused_as_slug_and_as_package_reports_both_and_the_rerun_asks_for_a_slug(
    tmp_path: Path,
) -> None:
    """``hypothesis`` is a distribution (the slug) and a module (the package
    derived from it): both are reported, and the command the refusal prints
    keeps neither, so adding a new slug bakes with a new package too."""
    output = tmp_path / "out"
    env = {**os.environ, "COOKIECUTTER_CONFIG": str(isolated_config(tmp_path))}
    refused = subprocess.run(
        [
            *(sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE)),
            *("--output-dir", str(output), "project_name=hypothesis"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0
    slug_line, package_line = error_lines(refused.stderr)
    assert slug_line.startswith("ERROR: project_slug: 'hypothesis' is the name of a distribution")
    assert package_line.startswith("ERROR: package_name: 'hypothesis' would shadow the module")
    assert "project_slug with - as _" in package_line
    command = rerun_line(refused.stderr)
    assert "project_slug=" not in command
    assert "package_name=" not in command
    assert "project_name=hypothesis" in command
    fixed = subprocess.run(
        ["bash", "-c", command + " project_slug=hypothesis-tool"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert fixed.returncode == 0, fixed.stderr
    recorded = json.loads((output / "hypothesis-tool" / ".cookiecutter.json").read_text())
    assert recorded["package_name"] == "hypothesis_tool"


# B looks as random as a real commit id does: entropy high enough for a
# secret scanner's hex detector.
COMMIT_A, COMMIT_B = "a" * 40, "9f3ab7c1e2d84f6b0a5c3e7d9b1f2a4c6e8d0b3f"


def test_post_hook_records_cruft_s_commit_once_and_replaces_it_on_update(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    recorded = project / ".cookiecutter.json"
    recorded.write_text('{\n  "_template_name": "aws-script-template",\n  "x": "\\u00fc"\n}\n')
    for commit in (COMMIT_A, COMMIT_A, COMMIT_B):
        answers = {**GOOD, "_commit": commit, "_output_dir": str(tmp_path)}
        done = run_hook(render("post_gen_project.py", answers, tmp_path), project)
        assert done.returncode == 0, done.stderr
        data = json.loads(recorded.read_text())
        assert data == {
            "_template_commit_id": commit,
            "_template_name": "aws-script-template",
            "x": "ü",
        }
    assert recorded.read_text().count("_template_commit_id") == 1
    # named as an id, so detect-secrets (which the template's security tests
    # run over every generated file) does not take the commit for a secret
    scan = subprocess.run(
        [sys.executable, "-m", "detect_secrets", "scan", recorded.name],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(scan.stdout)["results"] == {}


def test_post_hook_prints_next_steps_only_for_a_new_project(tmp_path: Path) -> None:
    """cruft update and cruft diff bake into a fresh tmp* folder right under the
    temp dir, with ``_commit`` and without ``_output_dir``: no next steps there."""
    scratch = Path(tempfile.mkdtemp())  # what cruft's comparison bakes use
    try:
        compared = scratch / "aws-automation-script"
        compared.mkdir()
        cruft_bake = {**GOOD, "_commit": COMMIT_A, "_template": "https://example.com/t.git"}
        done = run_hook(render("post_gen_project.py", cruft_bake, tmp_path), compared)
        assert done.returncode == 0, done.stderr
        assert "Next steps" not in done.stdout
    finally:
        shutil.rmtree(scratch)
    created = tmp_path / "created"  # cruft create, into the user's folder
    created.mkdir()
    done = run_hook(render("post_gen_project.py", cruft_bake, tmp_path), created)
    assert "Next steps" in done.stdout
    plain = {**GOOD, "_output_dir": str(tmp_path)}  # plain cookiecutter
    done = run_hook(render("post_gen_project.py", plain, tmp_path), created)
    assert "Next steps" in done.stdout


# --- what the pre-generation hook refuses, against independent sources --------------


def hook_module() -> ModuleType:
    """The pre-generation hook imported unrendered (its checks need no answers)."""
    path = TEMPLATE / "hooks" / "pre_gen_project.py"
    spec = importlib.util.spec_from_file_location("unrendered_pre_gen_project", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HOOK = hook_module()


def default_ignorable_ranges() -> list[tuple[int, int]]:
    """Default_Ignorable_Code_Point as the ``regex`` module knows it (a newer
    Unicode than the hook names): an oracle independent of the hook's table."""
    every = "".join(map(chr, range(0x110000)))
    found = regex.finditer(r"\p{Default_Ignorable_Code_Point}+", every)
    return [(match.start(), match.end() - 1) for match in found]


IGNORABLE = default_ignorable_ranges()


def test_the_hook_s_ignorable_ranges_are_unicode_s_default_ignorable_set() -> None:
    embedded = {point for first, last in HOOK.DEFAULT_IGNORABLE for point in range(first, last + 1)}
    assert embedded == {point for first, last in IGNORABLE for point in range(first, last + 1)}
    assert re.fullmatch(r"\d+\.\d+\.\d+", HOOK.UNICODE_VERSION)


@pytest.mark.parametrize("field", ["project_name", "description", "author_name"])
@pytest.mark.parametrize(
    "point",
    sorted({point for first, last in IGNORABLE for point in (first, last)}),
    ids=lambda point: f"U+{point:04X}",
)
def test_every_default_ignorable_range_is_refused_at_both_ends(field: str, point: int) -> None:
    (problem,) = HOOK.problems({**GOOD, field: f"Ops {chr(point)} tool"})
    assert problem.startswith(f"{field}: must be one line of printable text, found U+{point:04X} (")
    assert problem.endswith(
        ") at character 5, an invisible character (Default_Ignorable_Code_Point in Unicode 15.0.0)"
    )


@pytest.mark.parametrize(("first", "last"), IGNORABLE, ids=lambda point: f"U+{point:04X}")
def test_only_default_ignorable_code_points_count_as_invisible(first: int, last: int) -> None:
    assert HOOK.default_ignorable(first)
    assert HOOK.default_ignorable(last)
    assert not HOOK.default_ignorable(first - 1)
    assert not HOOK.default_ignorable(last + 1)


def test_invisible_characters_are_refused_by_the_rendered_hook_naming_each_field(
    tmp_path: Path,
) -> None:
    answers = {
        **GOOD,
        "project_name": "Hangul\u3164filler",
        "description": "heart \u2764\ufe0f",
        "author_name": "tag \U000e0020",
        "aws_region": "nowhere",
    }
    done = run_hook(render("pre_gen_project.py", answers, tmp_path), tmp_path)
    assert done.returncode == 1
    lines = error_lines(done.stderr)
    assert [line.split(":")[1].strip() for line in lines] == [
        "project_name",
        "description",
        "author_name",
        "aws_region",
    ]
    assert "U+3164 (HANGUL FILLER)" in lines[0]
    assert "U+FE0F (VARIATION SELECTOR-16)" in lines[1]
    assert "U+E0020 (TAG SPACE)" in lines[2]


def test_stdlib_names_cover_every_supported_python() -> None:
    """The hook refuses the standard library of 3.11 to 3.14 whatever Python runs
    it: every interpreter found here and the ``stdlibs`` package's list for each
    supported version (whose interpreter may not be on this machine)."""
    assert HOOK.PYTHON_VERSIONS == ("3.11", "3.12", "3.13", "3.14")
    found = [version for version in HOOK.PYTHON_VERSIONS if interpreter(version)]
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" in found
    for version in found:
        python = interpreter(version)
        assert python is not None
        probe = "import json, sys; print(json.dumps(sorted(sys.stdlib_module_names)))"
        done = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True)
        missing = set(json.loads(done.stdout)) - HOOK.STDLIB_NAMES
        assert not missing, f"python{version}: run scripts/update-shadowed-names ({missing})"
    for version in HOOK.PYTHON_VERSIONS:
        missing = stdlibs.stdlib_module_names(version) - HOOK.STDLIB_NAMES
        assert not missing, f"Python {version}: run scripts/update-shadowed-names ({missing})"


@pytest.mark.parametrize("name", ["annotationlib", "compression", "imp", "distutils", "cgi"])
def test_a_stdlib_module_of_another_supported_python_is_refused(tmp_path: Path, name: str) -> None:
    """3.14's new modules, and those 3.12 and 3.13 removed, whatever runs the hook."""
    done = run_hook(
        render("pre_gen_project.py", {**GOOD, "package_name": name}, tmp_path), tmp_path
    )
    assert done.returncode == 1
    assert error_lines(done.stderr) == [
        f"ERROR: package_name: {name!r} would shadow the standard library module of that name"
    ]


def test_a_name_that_differs_from_an_installed_one_only_in_case_is_refused() -> None:
    """``pil`` and ``PIL`` are one folder in site-packages where case is ignored."""
    assert HOOK.installed_as("pil", frozenset({"PIL", "yaml"})) == "PIL"
    assert HOOK.installed_as("yaml", frozenset({"PIL", "yaml"})) == "yaml"
    assert HOOK.installed_as("pillow", frozenset({"PIL", "yaml"})) is None


def test_the_hook_refuses_every_name_a_plain_venv_holds(tmp_path: Path) -> None:
    """A generated README has people make ``python3.X -m venv .venv``, which holds
    pip, and on 3.11 setuptools too (``pkg_resources``, ``_distutils_hack``):
    the uv virtualenvs the install tests make hold neither. A project named
    like one of their modules fails at import; like their distributions, it
    cannot install; like a file in their bin, its command replaces it."""
    found = [version for version in HOOK.PYTHON_VERSIONS if interpreter(version)]
    assert "3.11" in found  # the one that bundles setuptools
    for version in found:
        python = interpreter(version)
        assert python is not None
        venv = tmp_path / version
        subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=300)
        names = environment_names.read(venv)
        assert "pip" in names.imports
        assert {"python", "python3", "pip", "activate"} <= names.commands
        if version == "3.11":
            assert {"pkg_resources", "setuptools", "_distutils_hack"} <= names.imports
        update = f"python{version}: run scripts/update-shadowed-names"
        assert names.imports <= HOOK.VENV_NAMES, (update, names.imports - HOOK.VENV_NAMES)
        missing = names.distributions - HOOK.DISTRIBUTION_NAMES
        assert not missing, (update, missing)
        assert names.commands <= HOOK.COMMAND_NAMES, (update, names.commands - HOOK.COMMAND_NAMES)


def test_the_build_backend_is_refused_as_a_package_and_as_a_slug() -> None:
    """The project's build requires its backend: it is not in the installed
    environment, so the hook names it by hand. A new backend fails here."""
    pyproject = (TEMPLATE / "{{cookiecutter.project_slug}}" / "pyproject.toml").read_text()
    section = "[build-system]" + pyproject.split("\n[build-system]")[1].split("\n[")[0]
    build = tomllib.loads(section)["build-system"]
    backend = build["build-backend"].split(".")[0]
    assert backend in HOOK.PROJECT_NAMES
    for requirement in build["requires"]:
        name = environment_names.normalized(re.split(r"[ <>=!~;\[]", requirement)[0])
        assert name in HOOK.PROJECT_DISTRIBUTIONS | HOOK.DISTRIBUTION_NAMES, requirement

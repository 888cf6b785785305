"""What a platform team relies on: org defaults, recorded answers, cruft
updates and links, practice tests that catch a removed guardrail, CI files."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from cookiecutter.main import cookiecutter

from .baked_project import BakedProject
from .combinations import COMBINATIONS, interpreter
from .conftest import TEMPLATE

ORG_DEFAULTS = TEMPLATE / "examples" / "org-defaults.yaml"
TEMPLATE_VERSION = json.loads((TEMPLATE / "cookiecutter.json").read_text())["_template_version"]
SKIP_WHEN_COPYING = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"
)


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Template Tests",
        "GIT_AUTHOR_EMAIL": "tests@example.com",
        "GIT_COMMITTER_NAME": "Template Tests",
        "GIT_COMMITTER_EMAIL": "tests@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def cruft(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cruft", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    """A git copy of the template as it is on disk, as a team would publish it."""
    repo = tmp_path / "template"
    shutil.copytree(TEMPLATE, repo, ignore=SKIP_WHEN_COPYING)
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "template")
    return repo


def answers(project: Path) -> dict[str, Any]:
    return json.loads((project / ".cookiecutter.json").read_text(encoding="utf-8"))


# --- the README's two commands ---------------------------------------------------------

SYSTEM_PYTHON = Path("/usr/bin/python3")


def readme_commands() -> list[str]:
    """The commands of the README's first code block, comments dropped."""
    readme = (TEMPLATE / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^```bash\n(.*?)^```", readme, re.M | re.S)
    assert block is not None
    return [line.split("   #")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_gives_exactly_two_commands() -> None:
    first, second = readme_commands()
    assert "pip install" in first
    assert "cookiecutter" in first
    assert second == "bash scripts/test"


def test_readme_commands_work_with_only_the_system_python(tmp_path: Path) -> None:
    """The README's commands as written, with ``python3`` the machine's own
    interpreter (externally managed on Debian and Ubuntu, PEP 668) when it has
    one: nothing is installed into it, a project is generated, and the test
    command sets itself up from the same clone."""
    first, second = readme_commands()
    clone = tmp_path / "clone"
    shutil.copytree(TEMPLATE, clone, ignore=SKIP_WHEN_COPYING)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python = SYSTEM_PYTHON if SYSTEM_PYTHON.exists() else Path(shutil.which("python3") or "")
    (bin_dir / "python3").symlink_to(python)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    env.pop("VIRTUAL_ENV", None)
    before = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True
    ).stdout

    made = subprocess.run(
        ["bash", "-c", first + " --no-input"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert (tmp_path / "aws-automation-script" / "pyproject.toml").is_file()
    venv_python = (clone / ".venv" / "bin" / "python").resolve()
    assert venv_python.samefile(python.resolve())  # the venv came from that interpreter
    after = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True
    ).stdout
    assert after == before  # nothing went into the interpreter itself

    tested = subprocess.run(
        ["bash", "-c", f"{second} --collect-only -q -p no:cacheprovider tests/test_hooks.py"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-3000:]
    assert re.search(r"^\d+ tests collected", tested.stdout, re.M), tested.stdout[-2000:]


def test_an_interpreter_older_than_the_minimum_is_refused_at_once(tmp_path: Path) -> None:
    """A 3.12-minimum project installed with 3.11: uv and a current pip (the
    next steps upgrade pip first) refuse it, naming the Python version."""
    python311 = interpreter("3.11")
    assert python311 is not None
    project = Path(
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            output_dir=str(tmp_path),
            extra_context={"python_version": "3.12"},
        )
    )
    uv_env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    uv = (sys.executable, "-m", "uv")
    subprocess.run([*uv, "venv", "-q", "--python", python311, ".venv"], cwd=project, check=True)
    venv_python = str(project / ".venv" / "bin" / "python")
    by_uv = subprocess.run(
        [*uv, "pip", "install", "--python", venv_python, "-e", ".[dev]"],
        cwd=project,
        env=uv_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert by_uv.returncode != 0
    assert "Python>=3.12" in by_uv.stderr

    subprocess.run([python311, "-m", "venv", "--clear", ".venv"], cwd=project, check=True)
    subprocess.run(
        [venv_python, "-m", "pip", "install", "-q", "--upgrade", "pip"],
        cwd=project,
        capture_output=True,
        check=True,
        timeout=300,
    )
    by_pip = subprocess.run(
        [venv_python, "-m", "pip", "install", "-e", ".[dev]"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert by_pip.returncode != 0
    assert "requires a different Python" in by_pip.stderr
    assert "'>=3.12'" in by_pip.stderr


# --- org defaults -------------------------------------------------------------------


def org_defaults() -> dict[str, Any]:
    return yaml.safe_load(ORG_DEFAULTS.read_text())["default_context"]


def test_org_config_file_bakes_with_no_input(tmp_path: Path) -> None:
    out = Path(
        cookiecutter(
            str(TEMPLATE), no_input=True, config_file=str(ORG_DEFAULTS), output_dir=str(tmp_path)
        )
    )
    recorded = answers(out)
    for key, value in org_defaults().items():
        assert recorded[key] == value, key
    assert (out / "Dockerfile").exists()  # a switch the org file turns on
    assert (out / "template.yaml").exists()  # and its deploy target


def test_org_config_file_prefills_the_prompts(tmp_path: Path) -> None:
    """A person who presses Enter at every prompt gets the org's values."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "cookiecutter", "--config-file", str(ORG_DEFAULTS)),
            *("--output-dir", str(tmp_path), str(TEMPLATE)),
        ],
        input="\n" * 40,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "(eu-west-1)" in done.stdout  # the region prompt shows the org default
    recorded = answers(tmp_path / "aws-automation-script")
    for key, value in org_defaults().items():
        assert recorded[key] == value, key


def test_answers_and_template_version_are_recorded(cookies: Any) -> None:
    combo = next(c for c in COMBINATIONS if c.id == "blank-minimal")
    result = cookies.bake(extra_context=combo.context)
    recorded = answers(Path(result.project_path))
    assert recorded["_template_version"] == TEMPLATE_VERSION
    for key, value in combo.context.items():
        assert recorded[key] == value


CHECK_ORG_DEFAULTS = TEMPLATE / "scripts" / "check-org-defaults"
# (line in default_context, words the ERROR line for that key must contain)
BAD_ORG_DEFAULTS = [
    ("python_version: 3.12", "python_version: 3.12 (a number) must be text"),
    ("deploy_target: ecs_fargate", "deploy_target: 'ecs_fargate' is not one of none, lambda"),
    ("aws_regin: eu-west-1", "aws_regin: not a question of this template"),
    ("include_dockerfile: maybe", "include_dockerfile: 'maybe' (text) must be a YAML boolean"),
    ('description: "{{ 7*7 }}"', "description: '{{ 7*7 }}' holds Jinja syntax"),
    ('allowed_account_ids: " , "', "allowed_account_ids: ' , ' has no account id"),
    ('aws_region: "eu-west"', "aws_region: 'eu-west' is not an AWS region"),
    ("author_name: 42", "author_name: 42 (a number) must be text"),
    (
        'author_name: "Ops\\u3164Team"',
        "author_name: must be one line of printable text, found U+3164 (HANGUL FILLER)",
    ),
]


def bad_org_file(tmp_path: Path, line: str) -> Path:
    """The example org-defaults file with one bad line first: cookiecutter would
    drop it and every default after it."""
    key = line.split(":")[0]
    others = [f"  {k}: {json.dumps(v)}" for k, v in org_defaults().items() if k != key]
    path = tmp_path / "org-defaults.yaml"
    path.write_text("\n".join(["default_context:", f"  {line}", *others, ""]))
    return path


def check_org_defaults(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK_ORG_DEFAULTS), *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_cookiecutter_drops_org_defaults_after_a_bad_one_where_no_hook_can_see(
    tmp_path: Path,
) -> None:
    """Why the checker exists: a bad choice in the file bakes with exit 0 and the
    template's own defaults for it and every later key, and the hooks get only
    those defaults. If cookiecutter ever refuses this itself, this test fails
    and the platform-team section can say the bake refuses."""
    org_file = bad_org_file(tmp_path, "deploy_target: ecs_fargate")
    with pytest.warns(UserWarning, match="Invalid default received"):
        out = Path(
            cookiecutter(
                str(TEMPLATE),
                no_input=True,
                config_file=str(org_file),
                output_dir=str(tmp_path / "out"),
            )
        )
    recorded = answers(out)
    assert recorded["deploy_target"] == "none"
    assert recorded["aws_region"] == "us-east-1"  # the org said eu-west-1, later in the file
    assert recorded["allowed_account_ids"] == ""


def test_answers_and_org_defaults_are_rendered_as_templates(tmp_path: Path) -> None:
    """What the README warns about: an answer is a template (``{{ 7*7 }}`` bakes
    49), and a value in an org-defaults file can run a command on the machine
    that bakes."""
    answered = Path(
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            output_dir=str(tmp_path / "answered"),
            extra_context={"description": "{{ 7*7 }}"},
        )
    )
    assert answers(answered)["description"] == "49"
    marker = tmp_path / "ran"
    org_file = tmp_path / "org-defaults.yaml"
    command = f"touch {marker}"
    payload = "{{ cycler.__init__.__globals__.os.system(" + repr(command) + ") }}"
    org_file.write_text(f"default_context:\n  description: {json.dumps(payload)}\n")
    cookiecutter(
        str(TEMPLATE),
        no_input=True,
        config_file=str(org_file),
        output_dir=str(tmp_path / "crafted"),
    )
    assert marker.exists()
    assert check_org_defaults(org_file).returncode == 1  # the checker refuses it


def test_org_defaults_checker_passes_the_example() -> None:
    done = check_org_defaults(ORG_DEFAULTS)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


@pytest.mark.parametrize(
    ("line", "reason"), BAD_ORG_DEFAULTS, ids=[line for line, _ in BAD_ORG_DEFAULTS]
)
def test_org_defaults_checker_refuses_a_bad_value_naming_its_key(
    tmp_path: Path, line: str, reason: str
) -> None:
    org_file = bad_org_file(tmp_path, line)
    done = check_org_defaults(org_file)
    assert done.returncode == 1
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("ERROR: ")]
    assert error.startswith(f"ERROR: {org_file}: default_context.{reason}")


def test_org_defaults_checker_refuses_what_is_not_an_org_defaults_file(tmp_path: Path) -> None:
    not_yaml = tmp_path / "broken.yaml"
    not_yaml.write_text("default_context: [unclosed\n")
    no_context = tmp_path / "no-context.yaml"
    no_context.write_text("default_contxt:\n  aws_region: eu-west-1\n")
    assert check_org_defaults(not_yaml).returncode == 2
    done = check_org_defaults(no_context)
    assert done.returncode == 1
    assert "default_contxt: not a cookiecutter setting" in done.stderr
    assert "default_context: must be a mapping" in done.stderr


# (file, the ERROR lines the checker prints for it after the file's name)
DUPLICATE_KEYS = {
    "in default_context": (
        'default_context:\n  aws_region: "eu-west-1"\n  deploy_target: "lambda"\n'
        '  aws_region: "eu-west-1"\n',
        [
            "default_context.aws_region: given twice, on lines 2 and 4 "
            "(YAML keeps the last one without a word): keep one"
        ],
    ),
    "at the top": (
        'default_context:\n  aws_region: "eu-west-1"\nreplay_dir: "~/r"\n'
        'default_context:\n  deploy_target: "lambda"\n',
        [
            "default_context: given twice, on lines 1 and 4 "
            "(YAML keeps the last one without a word): keep one"
        ],
    ),
    "nested, in flow style, with another problem": (
        "abbreviations: {gh: 'https://github.com/{0}.git', gh: 'x'}\n"
        'default_context:\n  aws_region: "mars"\n',
        [
            "abbreviations.gh: given twice, on line 1 (columns 17 and 51) "
            "(YAML keeps the last one without a word): keep one",
            "default_context.aws_region: 'mars' is not an AWS region name like us-east-1 "
            "or us-gov-west-1",
        ],
    ),
    "spelt differently, read the same": (
        "default_context:\n  include_pre_commit: true\n  'include_pre_commit': false\n",
        [
            "default_context.include_pre_commit: given twice, on lines 2 and 3 "
            "(YAML keeps the last one without a word): keep one"
        ],
    ),
    # YAML types them apart, the Python dict the file becomes holds one
    "typed apart, one key to Python": (
        'default_context:\n  aws_region: "eu-west-1"\n'
        'abbreviations:\n  1: "a"\n  1.0: "b"\n  true: "c"\n',
        [
            "abbreviations.1: given twice (as 1 and 1.0, which Python reads as one key), "
            "on lines 4 and 5 (YAML keeps the last one without a word): keep one",
            "abbreviations.1: given twice (as 1 and true, which Python reads as one key), "
            "on lines 4 and 6 (YAML keeps the last one without a word): keep one",
        ],
    ),
    "a merge given twice": (
        'default_context:\n  <<: {aws_region: "eu-west-1"}\n  author_name: "T"\n'
        '  <<: {deploy_target: "lambda"}\n',
        [
            "default_context.<<: given twice, on lines 2 and 4 (which merged value wins is "
            "easy to misread): merge once, from a list: <<: [*first, *second]"
        ],
    ),
    "a key two merges bring in": (
        "default_context:\n"
        '  <<: [{aws_region: "eu-west-1"}, {aws_region: "eu-west-2"}]\n'
        '  author_name: "T"\n',
        [
            "default_context.aws_region: brought in by two << merges, on line 2 "
            "(columns 9 and 36) (YAML takes the first merged map's, which is easy to "
            "misread): keep it in one, or set it in this mapping"
        ],
    ),
    "a key two merges given twice bring in": (
        'base: &base {aws_region: "eu-west-1"}\n'
        "default_context:\n"
        "  <<: *base\n"
        '  author_name: "T"\n'
        '  <<: {aws_region: "eu-west-2"}\n',
        [
            "default_context.<<: given twice, on lines 3 and 5 (which merged value wins is "
            "easy to misread): merge once, from a list: <<: [*first, *second]",
            "default_context.aws_region: brought in by two << merges, on lines 1 and 5 "
            "(YAML takes the first merged map's, which is easy to misread): "
            "keep it in one, or set it in this mapping",
            "base: not a cookiecutter setting (abbreviations, cookiecutters_dir, "
            "default_context, replay_dir)",
        ],
    ),
}


@pytest.mark.parametrize(("text", "errors"), DUPLICATE_KEYS.values(), ids=list(DUPLICATE_KEYS))
def test_org_defaults_checker_refuses_a_key_given_twice_at_every_level(
    tmp_path: Path, text: str, errors: list[str]
) -> None:
    org_file = tmp_path / "org-defaults.yaml"
    org_file.write_text(text)
    done = check_org_defaults(org_file)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"ERROR: {org_file}: {error}" for error in errors]


MERGES_THAT_ARE_CLEAR = {
    # keys a << merge brings in are meant to be overridden: not given twice
    "overridden": 'default_context: &org\n  aws_region: "eu-west-1"\n'
    'abbreviations:\n  <<: {gh: "a"}\n  gh: "https://github.com/{0}.git"\n',
    # two merges bring it in, and the mapping sets it: no doubt which wins
    "two merges, overridden": "default_context:\n"
    '  <<: [{aws_region: "eu-west-1"}, {aws_region: "eu-west-2"}]\n'
    '  aws_region: "eu-west-3"\n',
    # one map merged through two paths brings in one key, not two
    "one map, two paths": 'abbreviations:\n  base: &base {gh: "a"}\n'
    '  other: &other {<<: *base, gl: "b"}\n  all: {<<: [*base, *other]}\n'
    'default_context:\n  aws_region: "eu-west-1"\n',
    # a mapping that holds itself, through an alias, is checked once
    "recursive": 'abbreviations: &self\n  gh: "a"\n  again: [*self]\n'
    "  more: {<<: *self}\n"
    'default_context:\n  aws_region: "eu-west-1"\n',
}


@pytest.mark.parametrize("text", MERGES_THAT_ARE_CLEAR.values(), ids=list(MERGES_THAT_ARE_CLEAR))
def test_org_defaults_checker_lets_a_clear_merge_pass(tmp_path: Path, text: str) -> None:
    org_file = tmp_path / "org-defaults.yaml"
    org_file.write_text(text)
    done = check_org_defaults(org_file)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_cookiecutter_keeps_the_last_of_a_key_given_twice_without_a_word(
    tmp_path: Path,
) -> None:
    """Why the checker refuses duplicates: the bake takes the last value and
    says nothing, so the first (the one a reviewer may have read) is ignored."""
    org_file = tmp_path / "org-defaults.yaml"
    org_file.write_text('default_context:\n  aws_region: "eu-west-1"\n  aws_region: "eu-west-2"\n')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = Path(
            cookiecutter(
                str(TEMPLATE),
                no_input=True,
                config_file=str(org_file),
                output_dir=str(tmp_path / "out"),
            )
        )
    assert answers(out)["aws_region"] == "eu-west-2"
    assert check_org_defaults(org_file).returncode == 1


# --- cruft --------------------------------------------------------------------------


def install_and_test(project: Path) -> None:
    baked = BakedProject(project, {})
    baked.install("3.11")
    baked.run(baked.venv_bin / "pytest", "-q", "-p", "no:cacheprovider")


def test_cruft_round_trip_create_update_check(template_repo: Path, tmp_path: Path) -> None:
    projects = tmp_path / "projects"
    created = cruft(
        tmp_path, "create", str(template_repo), "--no-input", "--output-dir", str(projects)
    )
    assert created.returncode == 0, created.stderr
    assert "Next steps" in created.stdout  # a new project
    project = projects / "aws-automation-script"
    assert (
        answers(project)["_template_commit_id"] == git(template_repo, "rev-parse", "HEAD").strip()
    )
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "generated")
    assert cruft(project, "check").returncode == 0

    # The platform team ships a change and a new version.
    readme = template_repo / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text() + "\n## Runbook\n\nPage the platform team.\n")
    settings = json.loads((template_repo / "cookiecutter.json").read_text())
    settings["_template_version"] = "99.0.0"
    (template_repo / "cookiecutter.json").write_text(json.dumps(settings, indent=2) + "\n")
    commit_all(template_repo, "add a runbook section")

    outdated = cruft(project, "check")
    assert outdated.returncode != 0
    assert "out of date" in (outdated.stdout + outdated.stderr).lower()

    updated = cruft(project, "update", "--skip-apply-ask", "--allow-untracked-files")
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "Next steps" not in updated.stdout + updated.stderr  # not a new project
    assert "Page the platform team." in (project / "README.md").read_text()
    assert (
        answers(project)["_template_commit_id"] == git(template_repo, "rev-parse", "HEAD").strip()
    )
    assert answers(project)["_template_version"] == "99.0.0"
    assert cruft(project, "check").returncode == 0
    install_and_test(project)


def test_plain_cookiecutter_project_can_be_linked_later(
    template_repo: Path, tmp_path: Path
) -> None:
    project = Path(
        cookiecutter(str(template_repo), no_input=True, output_dir=str(tmp_path / "out"))
    )
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "generated")
    recorded = (project / ".cookiecutter.json").read_text()
    linked = cruft(project, "link", str(template_repo), "--no-input", "--extra-context", recorded)
    assert linked.returncode == 0, linked.stdout + linked.stderr
    state = json.loads((project / ".cruft.json").read_text())
    assert state["context"]["cookiecutter"]["project_slug"] == "aws-automation-script"
    assert cruft(project, "check").returncode == 0
    diff = cruft(project, "diff", "--exit-code")
    assert diff.returncode == 0, diff.stdout
    # a team weakens a guardrail in a template-owned file: cruft diff shows the edit
    practices = project / "tests" / "test_practices.py"
    practices.write_text(practices.read_text().replace("<= 10", "<= 600"))
    commit_all(project, "relax the timeout check")
    edited = cruft(project, "diff", "--exit-code")
    assert edited.returncode != 0
    assert "<= 600" in edited.stdout


def updating_page_link_command(project: Path) -> str:
    """The ``cruft link`` command of the generated docs/updating.md."""
    page = (project / "docs" / "updating.md").read_text(encoding="utf-8")
    section = page[page.index("## Keeping up with the template") :]
    block = re.search(r"^```bash\n(cruft link .*?)\n```", section, re.M | re.S)
    assert block is not None
    return block.group(1)


def test_a_plain_project_links_to_the_commit_it_was_baked_from(
    template_repo: Path, tmp_path: Path
) -> None:
    """Bake with plain cookiecutter, change the template, then link with the
    command of the generated docs/updating.md: cruft sees the project as
    behind, and ``cruft update`` brings the change made after the bake."""
    baked_at = git(template_repo, "rev-parse", "HEAD").strip()
    project = Path(
        cookiecutter(str(template_repo), no_input=True, output_dir=str(tmp_path / "out"))
    )
    assert answers(project)["_template_commit_id"] == baked_at
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "generated")

    readme = template_repo / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text() + "\n## Runbook\n\nPage the platform team.\n")
    commit_all(template_repo, "add a runbook section")

    command = updating_page_link_command(project).replace("<template-url>", str(template_repo))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    linked = subprocess.run(
        ["bash", "-c", command], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    assert linked.returncode == 0, linked.stdout + linked.stderr
    assert json.loads((project / ".cruft.json").read_text())["commit"] == baked_at
    commit_all(project, "link to the template")

    outdated = cruft(project, "check")
    assert outdated.returncode != 0
    assert "out of date" in (outdated.stdout + outdated.stderr).lower()
    updated = cruft(project, "update", "--skip-apply-ask")
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "Next steps" not in updated.stdout + updated.stderr
    assert "Page the platform team." in (project / "README.md").read_text()
    assert (
        answers(project)["_template_commit_id"] == git(template_repo, "rev-parse", "HEAD").strip()
    )
    commit_all(project, "update from the template")
    assert cruft(project, "check").returncode == 0


def test_a_bake_from_a_folder_that_is_not_a_git_checkout_records_no_commit(
    tmp_path: Path,
) -> None:
    plain = tmp_path / "template"
    shutil.copytree(TEMPLATE, plain, ignore=SKIP_WHEN_COPYING)
    project = Path(cookiecutter(str(plain), no_input=True, output_dir=str(tmp_path / "out")))
    assert "_template_commit_id" not in answers(project)
    json.loads((project / ".cookiecutter.json").read_text())  # still valid JSON


# --- practice tests catch a removed guardrail ----------------------------------------

GUARDRAIL_EDITS = [
    (
        "dry-run default",
        "runtime/settings/config.py",
        'DRY_RUN",), validate.boolean, default="true"',
        'DRY_RUN",), validate.boolean, default="false"',
        "practice_6",
    ),
    (
        "client timeouts",
        "runtime/access/aws.py",
        '"connect_timeout": settings.connect_timeout,',
        "",
        "practice_2",
    ),
    ("UTC timestamps", "runtime/output/log_fields.py", "tz=UTC", "tz=None", "practice_1"),
    (
        "account guard",
        "runtime/access/aws.py",
        "if allow_list and allowed and identity.account not in allowed:",
        "if allow_list and not allowed:",
        "account_guard",
    ),
    (
        "input validation",
        "runtime/settings/config.py",
        "validate.region,",
        "str.strip,",
        "practice_8",
    ),
    (
        "hardcoded key",
        "job.py",
        "\nDESCRIPTION = ",
        '\nKEY = "AKIAABCDEFGHIJKLMNOP"\nDESCRIPTION = ',
        "practice_3",
    ),
]


@pytest.mark.parametrize(
    ("module", "before", "after", "failing"),
    [edit[1:] for edit in GUARDRAIL_EDITS],
    ids=[edit[0] for edit in GUARDRAIL_EDITS],
)
def test_removing_a_guardrail_fails_the_practice_tests(
    installed: Any, module: str, before: str, after: str, failing: str
) -> None:
    project = installed(next(c for c in COMBINATIONS if c.id == "defaults"))
    source = project.path / "src" / project.context["package_name"] / module
    original = source.read_text()
    assert before in original
    source.write_text(original.replace(before, after))
    try:
        run = project.run(
            project.venv_bin / "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_practices.py",
            check=False,
        )
    finally:
        source.write_text(original)
    assert run.returncode == 1, run.stdout
    failed = re.findall(r"FAILED tests/test_practices.py::(\S+)", run.stdout)
    assert any(failing in name for name in failed), run.stdout


# --- CI files and versioning -------------------------------------------------------------


def test_template_ci_runs_the_readme_test_command() -> None:
    workflow = yaml.safe_load((TEMPLATE / ".github" / "workflows" / "ci.yml").read_text())
    assert workflow["permissions"] == {"contents": "read"}
    steps = workflow["jobs"]["test"]["steps"]
    assert any(step.get("run", "").strip() == "bash scripts/test" for step in steps)
    for step in steps:
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
    assert "bash scripts/test" in (TEMPLATE / "README.md").read_text()
    assert "scripts/test" in (TEMPLATE / ".ci" / "run").read_text()


def test_generated_workflow_checks_drift_when_linked(cookies: Any) -> None:
    project = cookies.bake()
    workflow = yaml.safe_load((Path(project.project_path) / ".github/workflows/ci.yml").read_text())
    steps = {step.get("name"): step for step in workflow["jobs"]["checks"]["steps"]}
    drift = steps["Template drift"]
    assert "cruft check" in drift["run"]
    assert drift["if"] == "hashFiles('.cruft.json') != ''"
    assert {"Tests", "Lint", "Format", "Types"} <= steps.keys()


def test_every_template_version_has_a_changelog_entry() -> None:
    changelog = (TEMPLATE / "CHANGELOG.md").read_text()
    assert re.search(rf"^## {re.escape(TEMPLATE_VERSION)} \(\d{{4}}-\d\d-\d\d\)$", changelog, re.M)

"""Bake every declared combination and check what lands on disk."""

from __future__ import annotations

import ast
import importlib.util
import itertools
import json
import posixpath
import re
import string
import sys
import tomllib
from html.parser import HTMLParser
from typing import Any

import pytest
import yaml
from cookiecutter.environment import StrictEnvironment
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markdown_it import MarkdownIt

from .combinations import (
    COMBINATIONS,
    DEPLOY_TARGETS,
    HOSTILE_TEXT,
    STARTER_JOBS,
    TEMPLATE,
    Combination,
)
from .conftest import CloudFormationLoader, bake


def _unrendered_hook() -> Any:
    """The pre-generation hook's checks (they import without rendering)."""
    path = TEMPLATE / "hooks" / "pre_gen_project.py"
    spec = importlib.util.spec_from_file_location("bake_tests_pre_gen_project", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FREE_TEXT_HOOK = _unrendered_hook()

# switch -> files that exist exactly when it is on (written independently of the hook)
SWITCH_FILES = {
    "include_github_actions": [".github/workflows/ci.yml", ".github/dependabot.yml"],
    "include_pre_commit": [".pre-commit-config.yaml"],
}
# deploy target -> files that exist exactly when it is chosen (Dockerfile: see below)
DEPLOY_FILES = {
    "lambda": ["Makefile", "src/{package}/handler.py", "tests/test_handler.py"],
    "ecs-fargate": [],
}
# The README's pages, each linked from it (docs/job.md is the owner's).
DOCS_PAGES = [
    "docs/job.md",
    "docs/settings.md",
    "docs/safety.md",
    "docs/operations.md",
    "docs/writing-your-job.md",
    "docs/updating.md",
]
ALWAYS = [
    "README.md",
    *DOCS_PAGES,
    "pyproject.toml",
    ".gitignore",
    "tests/conftest.py",
    "tests/test_cli.py",
    "tests/test_config.py",
    "tests/test_logs.py",
    "tests/test_secrets.py",
    "tests/test_terminal.py",
    "tests/test_aws.py",
    "tests/test_validate.py",
    "tests/test_job.py",
    "tests/job_fixtures.py",
    "tests/test_practices.py",
    "tests/test_targets.py",
    "tests/test_session_policy.py",
    "tests/test_timestamps.py",
    "tests/test_watchdog.py",
    "tests/test_layout.py",
    ".cookiecutter.json",
    "iam-policy.json",
]
# The package's top holds the owner's job and the entry points that hand it
# to the runtime; everything the template maintains is under runtime/<group>/.
TOP_MODULES = ["__init__", "__main__", "console", "job"]
RUNTIME_MODULES = {
    "run": [
        "cli",
        "failure_line",
        "job_contract",
        "moved",
        "parser",
        "process_exit",
        "signals",
        "summary",
        "targets",
    ],
    "access": ["aws", "item_errors", "stop_aware", "tag_keys", "watchdog"],
    "settings": ["config", "overrides", "validate"],
    "output": ["closed_output", "log_fields", "log_formats", "logs", "redact", "secret_calls"],
    "outcome": ["errors", "exit_codes"],
}
MODULES = TOP_MODULES + [
    f"runtime/{group}/{module}" for group, modules in RUNTIME_MODULES.items() for module in modules
]
UNRENDERED = re.compile(r"\{\{|\{%|\{#|\bcookiecutter\.[a-z_]+\s*(\||\}\})")


@pytest.fixture(params=COMBINATIONS, ids=lambda combo: combo.id)
def combination(request: pytest.FixtureRequest) -> Combination:
    return request.param


@pytest.fixture
def project(cookies: Any, combination: Combination) -> Any:
    return bake(cookies, combination)


def test_files_follow_the_switches(project: Any, combination: Combination) -> None:
    package = project.context["package_name"]
    for relative in ALWAYS + [f"src/{package}/{module}.py" for module in MODULES]:
        assert project.has_file(relative), relative
    assert project.has_file(f"src/{package}/py.typed")
    top = {path.stem for path in (project.path / "src" / package).glob("*.py")}
    entry = {"handler"} if combination.answer("deploy_target") == "lambda" else set()
    job = combination.answer("starter_job")
    modules = {name.removesuffix(".py") for name in starter_modules(job)}
    assert top == set(TOP_MODULES) | entry | modules  # nothing of the template's beside the job
    for group in ["", *RUNTIME_MODULES]:
        assert project.has_file(f"src/{package}/runtime/{group}/__init__.py".replace("//", "/"))
    runtime = project.path / "src" / package / "runtime"
    found = {str(path.relative_to(runtime).with_suffix("")) for path in runtime.rglob("*.py")}
    expected = {f"{group}/{module}" for group, names in RUNTIME_MODULES.items() for module in names}
    assert found - {"__init__", *(f"{group}/__init__" for group in RUNTIME_MODULES)} == expected
    for switch, files in SWITCH_FILES.items():
        for relative in files:
            assert project.has_file(relative) is combination.answer(switch), (switch, relative)
    target = combination.answer("deploy_target")
    for name, files in DEPLOY_FILES.items():
        for relative in files:
            assert project.has_file(relative.format(package=package)) is (target == name), relative
    for relative in ("template.yaml", "target-role.yaml", "tests/test_deploy.py"):
        assert project.has_file(relative) is (target != "none"), relative
    container = combination.answer("include_dockerfile") or target == "ecs-fargate"
    for relative in ("Dockerfile", ".dockerignore"):
        assert project.has_file(relative) is container, relative


def test_nothing_unrendered_survives(project: Any) -> None:
    for path in project.files():
        text = path.read_text(encoding="utf-8")
        match = UNRENDERED.search(text)
        assert match is None, f"{path.relative_to(project.path)}: {match and match.group(0)!r}"


def test_the_job_page_shows_the_baked_iam_policy(project: Any) -> None:
    """docs/job.md's IAM permissions block is iam-policy.json as baked (from
    then on both are the project's: the policy file is regenerated from the
    job, and its own test keeps it current)."""
    section = project.read("docs/job.md").split("\n## IAM permissions\n", 1)[1]
    block = section.split("```json\n", 1)[1].split("```", 1)[0]
    assert json.loads(block) == json.loads(project.read("iam-policy.json"))


def test_every_python_file_compiles(project: Any) -> None:
    sources = [path for path in project.files() if path.suffix == ".py"]
    assert len(sources) >= 15
    for path in sources:
        compile(path.read_text(encoding="utf-8"), str(path), "exec")


def test_every_yaml_and_toml_file_parses(project: Any, combination: Combination) -> None:
    for path in project.files():
        if path.suffix in {".yml", ".yaml"}:
            text = path.read_text(encoding="utf-8")
            assert isinstance(yaml.load(text, Loader=CloudFormationLoader), dict), path
    pyproject = tomllib.loads(project.read("pyproject.toml"))
    meta = pyproject["project"]
    version = combination.answer("python_version")
    assert meta["name"] == project.context["project_slug"]
    assert meta["description"] == project.context["description"]
    assert meta["requires-python"] == f">={version}"
    assert meta["scripts"] == {
        project.context["project_slug"]: f"{project.context['package_name']}.console:main"
    }
    assert {"pytest", "moto", "mypy", "ruff"} <= {
        re.split(r"[\[<>=]", dep)[0] for dep in meta["optional-dependencies"]["dev"]
    }
    dev = {re.split(r"[\[<>=]", dep)[0] for dep in meta["optional-dependencies"]["dev"]}
    assert ("pre-commit" in dev) is combination.answer("include_pre_commit")
    assert pyproject["tool"]["mypy"]["strict"] is True
    assert pyproject["tool"]["mypy"]["python_version"] == version
    # pyright as VS Code's Pylance runs it, pinned, with Node from PyPI (not fetched at run time).
    assert pyproject["tool"]["pyright"] == {
        "include": ["src", "tests"],
        "pythonVersion": version,
        "typeCheckingMode": "standard",
    }
    assert any(
        re.fullmatch(r"pyright\[nodejs\]==[\d.]+", dep)
        for dep in meta["optional-dependencies"]["dev"]
    )
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + version.replace(".", "")
    assert {"DTZ", "G", "BLE", "S"} <= set(pyproject["tool"]["ruff"]["lint"]["select"])


def test_quick_start_names_the_minimum_python_and_the_hooks(
    project: Any, combination: Combination
) -> None:
    readme = project.read("README.md")
    quick_start = readme[
        readme.index("## Quick start") : readme.index("\n## ", readme.index("## Quick start") + 1)
    ]
    version = combination.answer("python_version")
    assert f"python{version} -m venv .venv" in quick_start
    assert "python -m pip install --upgrade pip" in quick_start
    assert f"uv venv --python {version}" in quick_start
    assert ("pre-commit install" in quick_start) is combination.answer("include_pre_commit")
    if combination.answer("include_pre_commit"):
        config = yaml.safe_load(project.read(".pre-commit-config.yaml"))
        hooks = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
        assert {"ruff-check", "ruff-format", "mypy", "pyright", "lint-imports"} <= hooks
    assert "git init" in quick_start
    checks = "pytest && ruff check . && ruff format --check . && mypy && lint-imports && pyright"
    assert checks in quick_start.splitlines()


def test_baked_defaults_reach_the_code(project: Any, combination: Combination) -> None:
    config_source = project.read(
        f"src/{project.context['package_name']}/runtime/settings/config.py"
    )
    region = combination.context.get("aws_region", "us-east-1")
    assert f"DEFAULT_REGION = {json.dumps(region)}" in config_source
    ids = combination.context.get("allowed_account_ids", "")
    assert f"DEFAULT_ALLOWED_ACCOUNT_IDS = {json.dumps(ids)}" in config_source


@pytest.mark.parametrize(
    "combo",
    [combo for combo in COMBINATIONS if combo.answer("include_github_actions")],
    ids=lambda combo: combo.id,
)
def test_workflow_runs_every_check(cookies: Any, combo: Combination) -> None:
    project = bake(cookies, combo)
    workflow = yaml.safe_load(project.read(".github/workflows/ci.yml"))
    assert workflow["permissions"] == {"contents": "read"}
    steps = workflow["jobs"]["checks"]["steps"]
    commands = " ".join(step.get("run", "") for step in steps)
    for check in ("pytest", "ruff check", "ruff format --check", "mypy", "lint-imports", "pyright"):
        assert check in commands
    assert ("cfn-lint template.yaml" in commands) is (combo.answer("deploy_target") != "none")
    for step in steps:
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", step["uses"]), step["uses"]


def test_hostile_text_lands_as_data(cookies: Any) -> None:
    combo = next(c for c in COMBINATIONS if c.id == "hostile-text-govcloud")
    project = bake(cookies, combo)
    meta = tomllib.loads(project.read("pyproject.toml"))["project"]
    assert meta["description"] == HOSTILE_TEXT
    assert meta["authors"] == [{"name": HOSTILE_TEXT, "email": "ops+scripts@example.com"}]
    assert readme_title_and_description(project.read("README.md")) == (HOSTILE_TEXT, HOSTILE_TEXT)
    assert not (project.path / "pwned").exists()
    assert not (project.path.parent / "pwned").exists()


@pytest.mark.parametrize("target", ["lambda", "ecs-fargate"])
def test_every_file_parses_in_its_format_with_non_bmp_text(cookies: Any, target: str) -> None:
    """Emoji and other astral characters land as themselves in every format:
    TOML (which forbids the surrogate-pair escapes JSON writes), YAML, JSON,
    Python and Markdown."""
    context = {
        "project_name": HOSTILE_TEXT,
        "project_slug": "astral-tool",
        "description": HOSTILE_TEXT,
        "author_name": HOSTILE_TEXT,
        "author_email": "ops@example.com",
        "include_dockerfile": True,
        "deploy_target": target,
    }
    project = bake(cookies, Combination(f"astral-{target}", context))
    parsed: dict[str, Any] = {}
    for path in project.files():
        relative = str(path.relative_to(project.path))
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            parsed[relative] = tomllib.loads(text)
        elif path.suffix in {".yml", ".yaml"}:
            parsed[relative] = yaml.load(text, Loader=CloudFormationLoader)
        elif path.suffix == ".json":
            parsed[relative] = json.loads(text)
        elif path.suffix == ".py":
            parsed[relative] = ast.parse(text, filename=relative)
    meta = parsed["pyproject.toml"]["project"]
    assert meta["description"] == HOSTILE_TEXT
    assert meta["authors"] == [{"name": HOSTILE_TEXT, "email": "ops@example.com"}]
    assert parsed[".cookiecutter.json"]["description"] == HOSTILE_TEXT
    assert parsed["template.yaml"]["Description"].endswith(": " + HOSTILE_TEXT)
    readme = project.read("README.md")
    assert readme_title_and_description(readme) == (HOSTILE_TEXT, HOSTILE_TEXT)
    for value in _strings(parsed):
        value.encode("utf-8")  # a lone surrogate (half an escaped pair) cannot be encoded


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in _strings(key) + _strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    if isinstance(node, ast.AST):
        return [
            n.value
            for n in ast.walk(node)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
    return []


# What a starter is: one folder with these files, plus the modules its job.j2
# lists beside job.py, and nothing about it anywhere else but its name in the
# choices (cookiecutter.json, and the hook's copy of them).
STARTER_FILES = {"job.py", "test_job.py", "fixtures.py", "job.j2", "README.md"}


def test_every_starter_is_one_folder_and_nothing_else_names_it() -> None:
    starters = TEMPLATE / "templates" / "starters"
    assert {folder.name for folder in starters.iterdir()} == set(STARTER_JOBS)
    slots = int(
        re.search(r"set SLOTS = (\d+)", (TEMPLATE / "templates" / "slots.j2").read_text()).group(1)
    )
    slot_files = list((TEMPLATE / "{{cookiecutter.project_slug}}" / "src").rglob("*s.slot[[]*"))
    assert len(slot_files) == slots
    for job in STARTER_JOBS:
        modules = starter_modules(job)
        assert len(modules) <= slots, job
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*\.py", name) for name in modules), job
        assert set(modules).isdisjoint(STARTER_FILES | {f"{m}.py" for m in TOP_MODULES}), job
        found = {path.name for path in (starters / job).iterdir()}
        assert found == STARTER_FILES | set(modules), job
    hook = (TEMPLATE / "hooks" / "pre_gen_project.py").read_text(encoding="utf-8")
    declared = re.search(r"^STARTER_JOBS = (\(.*\))$", hook, re.MULTILINE)
    assert declared is not None, "the hook declares STARTER_JOBS on one line"
    assert ast.literal_eval(declared.group(1)) == STARTER_JOBS
    project = TEMPLATE / "{{cookiecutter.project_slug}}"
    for path in [*project.rglob("*"), *(TEMPLATE / "templates" / "deploy").rglob("*")]:
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            branches = re.findall(r"starter_job\s*(?:==|!=|in\b|not in\b)", text)
            assert branches == [], f"{path.relative_to(TEMPLATE)} branches on the starter"


def test_every_job_declares_the_job_contract(cookies: Any) -> None:
    for job in STARTER_JOBS:
        project = bake(cookies, Combination(f"contract-{job}", {"starter_job": job}))
        tree = ast.parse(project.read(f"src/{project.context['package_name']}/job.py"))
        exported = next(
            ast.literal_eval(node.value)
            for node in tree.body
            if isinstance(node, ast.Assign)
            and any(isinstance(name, ast.Name) and name.id == "__all__" for name in node.targets)
        )
        contract = {"DESCRIPTION", "IAM_ACTIONS", "REGIONAL", "SETTINGS", "Counts", "JobSettings"}
        assert contract | {"run"} <= set(exported), job
        fixtures = project.read("tests/job_fixtures.py")
        for name in ("JOB_ENV", "FAN_OUT_ENV", "BAD_JOB_INPUTS"):
            assert f'"{name}"' in fixtures, f"{job}: job_fixtures.py must export {name}"


def longest_slug() -> str:
    """The longest project_slug the pre-generation hook accepts (its SLUG_MAX)."""
    hook = (TEMPLATE / "hooks" / "pre_gen_project.py").read_text(encoding="utf-8")
    declared = re.search(r"^SLUG_MAX = (\d+)$", hook, re.MULTILINE)
    assert declared is not None, "the hook declares SLUG_MAX on one line"
    return "a" + "b" * (int(declared.group(1)) - 1)


@pytest.mark.parametrize(
    ("job", "target"),
    [(job, ("lambda", "ecs-fargate", "none")[i % 3]) for i, job in enumerate(STARTER_JOBS)],
)
def test_a_bake_with_the_longest_slug_passes_its_own_ruff(
    cookies: Any, job: str, target: str
) -> None:
    """A generated project passes ``ruff check`` and ``ruff format --check`` the
    minute it is baked, whatever the slug's length: a line naming the package
    must fit in 100 columns with the longest name the hook allows (multi-name imports from
    the package are written exploded, with a trailing comma, so they stay so at
    every length)."""
    slug = longest_slug()
    context = {"project_slug": slug, "starter_job": job, "deploy_target": target}
    project = bake(cookies, Combination(f"longest-slug-{job}", context))
    assert project.context["package_name"] == slug
    for check in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        done = project.run(sys.executable, "-m", "ruff", *check, check=False)
        assert done.returncode == 0, f"ruff {' '.join(check)}\n{done.stdout}\n{done.stderr}"


# --- free text in Markdown: shown as text, never read as markup --------------------

# Each would be markup if pasted as it is: a comment that hides the rest of the
# README, HTML, emphasis, code, links and images, entities, block starts
# (heading, list, quote, thematic break, indented code, link definition), a
# hard line break, a table cell's end, GitHub's math and emoji shortcodes,
# whitespace a paragraph strips, and emoji, which must stay as they are.
HOSTILE_MARKDOWN = [
    "<!--",
    "<!-- the rest is hidden",
    "<script>alert(1)</script>",
    "<b>bold</b> <div>",
    "*a* _b_ **c** ~~d~~",
    "`",
    "`code` ``two``",
    "[x](y)",
    "![image](y.png)",
    "[x]: /url",
    "<https://example.com> https://example.com www.example.com",
    "# h",
    "## h ##",
    "a | b | c",
    "|",
    "\\",
    "a\\",
    "\\*not emphasis\\*",
    "&amp;",
    "&copy; &#65; &#x42;",
    "1. first",
    "1) first",
    "- item",
    "+ item",
    "* item",
    "> quote",
    "---",
    "***",
    "===",
    "    indented",
    "trailing  ",
    " leading",
    "\u00a0no-break\u00a0",
    "a  b",
    "$x$ :rocket: @team #12",
    "emoji 🚀 ❤ 𝄞 日本 Zoë",
    HOSTILE_TEXT,
]
MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])


class _Elements(HTMLParser):
    """Each heading, paragraph and table cell: its text as shown, and the
    elements nested in it (markup the text turned into)."""

    BLOCKS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "p", "td", "th"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[str], list[str]]] = []
        self.open: list[tuple[str, list[str], list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for _, _, inner in self.open:
            inner.append(tag)
        if tag in self.BLOCKS:
            self.open.append((tag, [], []))

    def handle_endtag(self, tag: str) -> None:
        if self.open and self.open[-1][0] == tag:
            self.found.append(self.open.pop())

    def handle_data(self, data: str) -> None:
        for _, text, _ in self.open:
            text.append(data)

    def handle_comment(self, data: str) -> None:
        for _, _, inner in self.open:
            inner.append("<!--")


def shown(markdown: str) -> list[tuple[str, str, list[str]]]:
    """(element, text a reader sees, nested elements) for each block, rendered
    by a CommonMark renderer with GitHub's tables and strikethrough."""
    parser = _Elements()
    parser.feed(MARKDOWN.render(markdown))
    parser.close()
    return [(tag, "".join(text), inner) for tag, text, inner in parser.found]


def readme_title_and_description(readme: str) -> tuple[str, str]:
    """The README's title and the paragraph after it, as shown; each must be
    plain text (no nested element), and the rest of the README must render."""
    blocks = shown(readme)
    (title_tag, title, title_inner), (text_tag, text, text_inner) = blocks[:2]
    assert (title_tag, title_inner) == ("h1", []), blocks[0]
    assert (text_tag, text_inner) == ("p", []), blocks[1]
    assert ("h2", "Quick start", []) in blocks  # the rest of the README is there
    return title, text


def render_markdown_text(value: str, layout: str) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATE / "templates"), undefined=StrictUndefined)
    source = '{% from "markdown.j2" import markdown_text %}' + layout
    return env.from_string(source).render(value=value)


LAYOUTS = {
    "heading": "# {{ markdown_text(value) }}\n",
    "paragraph": "{{ markdown_text(value) }}\n",
    "table cell": "| a | b |\n|---|---|\n| {{ markdown_text(value) }} | after |\n",
}


def assert_shown_as_itself(value: str, layout: str) -> None:
    markdown = render_markdown_text(value, LAYOUTS[layout])
    blocks = shown(markdown)
    if layout == "table cell":
        assert blocks[-2:] == [("td", value, []), ("td", "after", [])], (markdown, blocks)
    else:
        tag = "h1" if layout == "heading" else "p"
        assert blocks == [(tag, value, [])], (markdown, blocks)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("value", HOSTILE_MARKDOWN)
def test_hostile_text_shows_as_itself_in_markdown(value: str, layout: str) -> None:
    assert_shown_as_itself(value, layout)


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.one_of(
            st.sampled_from(string.punctuation + " \u00a0\u3000"),
            st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp")),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_any_free_text_the_hook_accepts_shows_as_itself_in_markdown(value: str) -> None:
    assume(FREE_TEXT_HOOK.check_free_text(value) is None)
    for layout in LAYOUTS:
        assert_shown_as_itself(value, layout)


@pytest.mark.parametrize(
    ("name", "description"),
    [
        ("# Ops *tool* [x](y) | `id`", "<!-- everything after this was hidden"),
        ("1. <script>alert(1)</script> &amp;", "> - \\ ~~gone~~ 🚀"),
    ],
)
def test_hostile_free_text_in_the_readme_shows_as_typed(
    cookies: Any, name: str, description: str
) -> None:
    context = {"project_name": name, "project_slug": "hostile-md", "description": description}
    project = bake(cookies, Combination("hostile-markdown", context))
    assert readme_title_and_description(project.read("README.md")) == (name, description)


TEMPLATE_HEADER = "# Maintained by the template: a template update replaces this file."


def test_every_file_says_whose_it_is(cookies: Any) -> None:
    """The owner's files (``[tool.cruft] skip``, the ownership table of
    docs/updating.md) are the job's modules, its tests and its page, and
    exist; every other Python file of the package and the tests opens with
    the template's header, and no owner file does."""
    for combination in COMBINATIONS[:3]:
        project = bake(cookies, combination)
        package = project.context["package_name"]
        skip = tomllib.loads(project.read("pyproject.toml"))["tool"]["cruft"]["skip"]
        modules = [
            f"src/{package}/{name}" for name in starter_modules(combination.answer("starter_job"))
        ]
        assert skip == [
            f"src/{package}/job.py",
            *modules,
            "tests/test_job.py",
            "tests/job_fixtures.py",
            "docs/job.md",
        ]
        assert all(project.has_file(path) for path in skip)
        updating = project.read("docs/updating.md")
        table = updating.split("## Layout", 1)[1].split("| Path | Owner |", 1)[0]
        assert re.findall(r"^\| `([^`]+)` \|", table, re.MULTILINE) == skip
        for path in skip:
            assert project.has_file(path), path
        owned = set(skip)
        sources = [*(project.path / "src").rglob("*.py"), *(project.path / "tests").rglob("*.py")]
        for path in sources:
            relative = str(path.relative_to(project.path))
            first = path.read_text(encoding="utf-8").split("\n", 1)[0]
            assert first.startswith(TEMPLATE_HEADER) is (relative not in owned), relative


def test_the_docs_name_every_runtime_module(cookies: Any) -> None:
    """CONTRIBUTING's table of the runtime's groups is the layout, and the
    generated docs/updating.md's "Layout" names every group and module of it."""
    contributing = (TEMPLATE / "CONTRIBUTING.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| (`\w+`(?:, `\w+`)*) \|$", contributing, re.MULTILINE)
    listed = {group: sorted(re.findall(r"`(\w+)`", names)) for group, names in rows}
    assert listed == {group: sorted(modules) for group, modules in RUNTIME_MODULES.items()}
    updating = bake(cookies, COMBINATIONS[0]).read("docs/updating.md")
    layout = updating.split("## Layout", 1)[1].split("\n## ", 1)[0]
    for group, modules in RUNTIME_MODULES.items():
        row = next(line for line in layout.splitlines() if line.startswith(f"| `runtime/{group}/`"))
        for module in modules:
            assert f"`{module}`" in row, (group, module)


def starter_modules(job: str) -> list[str]:
    """The modules a starter's job.j2 lists beside its job.py (``modules``)."""
    manifest = (TEMPLATE / "templates" / "starters" / job / "job.j2").read_text(encoding="utf-8")
    declared = re.search(r"set modules = (\[[^\]]*\])", manifest)
    assert declared is not None, f"{job}: job.j2 sets modules"
    return list(ast.literal_eval(declared.group(1)))


# --- the README: a day-one page; the rest in docs/, every link resolving ------------

README_MAX_LINES = 200
README_SECTIONS = [
    "Quick start",
    "What it does",
    "Settings",
    "Exit codes",
    "Safety",
    "Documentation",
]
SWITCHES = ("include_github_actions", "include_pre_commit", "include_dockerfile")
# Each starter with each deploy target, every switch on (the longest README).
STARTER_TARGETS = [
    Combination(
        f"docs-{job}-{target}",
        {"starter_job": job, "deploy_target": target, **dict.fromkeys(SWITCHES, True)},
    )
    for job in STARTER_JOBS
    for target in DEPLOY_TARGETS
]


def rendered_readme(answers: dict[str, Any]) -> str:
    """The README as cookiecutter renders it for these answers, without a
    bake: its context (every answer rendered, no input), environment and
    loader. No hook touches the README, so this is the baked README, which
    the day-one test below holds true for every declared combination."""
    context = generate_context(str(TEMPLATE / "cookiecutter.json"), extra_context=answers)
    context["cookiecutter"] = prompt_for_config(context, no_input=True)
    env = StrictEnvironment(context=context, keep_trailing_newline=True)
    project_dir = TEMPLATE / "{{cookiecutter.project_slug}}"
    env.loader = FileSystemLoader([str(project_dir), str(TEMPLATE / "templates")])
    return env.get_template("README.md").render(**context)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation other than
    ``-`` and ``_`` dropped, each space a ``-``."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def links_and_headings(markdown: str) -> tuple[list[str], list[tuple[str, str]]]:
    """A page's link targets, and its headings as (tag, text), as a CommonMark
    renderer reads them (a link in a code block or span is no link)."""
    tokens = MARKDOWN.parse(markdown)
    links: list[str] = []
    headings: list[tuple[str, str]] = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            headings.append((token.tag, tokens[index + 1].content))
        for child in token.children or []:
            if child.type == "link_open":
                links.append(str(child.attrs["href"]))
    return links, headings


def check_day_one_readme(readme: str) -> None:
    lines = readme.splitlines()
    assert len(lines) <= README_MAX_LINES, f"the README has {len(lines)} lines"
    _, headings = links_and_headings(readme)
    assert [text for tag, text in headings if tag == "h2"] == README_SECTIONS


def check_docs(project: Any) -> None:
    """Every relative link of the README and of docs/ names a file of the
    project (and, with an anchor, a heading of that page); every page of
    docs/ is linked from the README, and opens with its title and one line
    saying whom it is for."""
    pages = {"README.md": project.read("README.md")}
    for path in sorted((project.path / "docs").glob("*")):
        pages[f"docs/{path.name}"] = path.read_text(encoding="utf-8")
    assert sorted(pages) == sorted(["README.md", *DOCS_PAGES])
    parsed = {name: links_and_headings(text) for name, text in pages.items()}
    linked_from_readme: set[str] = set()
    for name, (links, _) in parsed.items():
        for link in links:
            if re.match(r"[a-z][a-z0-9+.-]*:", link):  # https:, mailto:
                continue
            path, _, anchor = link.partition("#")
            assert not path.startswith("/"), f"{name}: {link} is not relative"
            target = name  # an anchor alone: this page
            if path:
                target = posixpath.normpath(posixpath.join(posixpath.dirname(name), path))
            assert not target.startswith(".."), f"{name}: {link} leaves the project"
            assert project.has_file(target), f"{name}: {link} names no file"
            if anchor:
                assert target in parsed, f"{name}: {link}: an anchor in a file that is no page"
                anchors = {github_anchor(text) for _, text in parsed[target][1]}
                assert anchor in anchors, f"{name}: {link}: {target} has no such heading"
            if name == "README.md":
                linked_from_readme.add(target)
    assert set(DOCS_PAGES) <= linked_from_readme, set(DOCS_PAGES) - linked_from_readme
    for name in DOCS_PAGES:
        title, blank, for_line, after = pages[name].split("\n", 4)[:4]
        assert title.startswith("# "), f"{name}: no title"
        assert (blank, after) == ("", ""), f"{name}: the line saying whom it is for is not one line"
        assert for_line.startswith("For "), f"{name}: no line saying whom it is for"


def test_the_readme_is_a_day_one_page_linking_the_docs(
    project: Any, combination: Combination
) -> None:
    readme = project.read("README.md")
    check_day_one_readme(readme)
    assert rendered_readme(combination.context) == readme
    check_docs(project)


@pytest.mark.parametrize("combo", STARTER_TARGETS, ids=lambda combo: combo.id)
def test_each_starter_with_each_deploy_target_has_a_day_one_readme(
    cookies: Any, combo: Combination
) -> None:
    project = bake(cookies, combo)
    check_day_one_readme(project.read("README.md"))
    check_docs(project)


def test_the_readme_fits_its_lines_for_every_combination_of_answers() -> None:
    """Every starter, deploy target, switch and allow-list (what the README
    varies with), rendered as cookiecutter renders it."""
    choices = itertools.product(
        STARTER_JOBS,
        DEPLOY_TARGETS,
        *[(True, False)] * len(SWITCHES),
        ("", "111111111111, 222222222222"),
    )
    for job, target, *switches, allowed in choices:
        answers = {
            "starter_job": job,
            "deploy_target": target,
            "allowed_account_ids": allowed,
            **dict(zip(SWITCHES, switches, strict=True)),
        }
        lines = len(rendered_readme(answers).splitlines())
        assert lines <= README_MAX_LINES, (answers, lines)

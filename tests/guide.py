"""Follow the generated project's "Writing your job" guide as written.

The guide is a page of its own, ``docs/writing-your-job.md`` (the README
links to it).

The guide's blocks say where they go on their first line:
``# <file>: in place of <name>, <name>`` replaces those top-level
definitions of the file with the block (at the place of the first one), and
``in place of the imports`` replaces the file's leading imports (with any
``if TYPE_CHECKING:`` block among them). A ``bash`` block is a command to
run in the project. Anything else is prose. This module does exactly that
and nothing more, so a guide that only works with unstated steps fails.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

GUIDE_PAGE = "docs/writing-your-job.md"
GUIDE_HEADING = "# Writing your job"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_PLACE = re.compile(r"# (?P<path>\S+): in place of (?P<names>.+)")
IMPORTS = "the imports"


@dataclass(frozen=True)
class Edit:
    path: str
    names: tuple[str, ...]
    code: str


@dataclass(frozen=True)
class Command:
    line: str


def section(page: str) -> str:
    """The guide: its whole page, which opens with the guide's heading."""
    if not page.startswith(GUIDE_HEADING + "\n"):
        raise AssertionError(f"{GUIDE_PAGE} does not open with {GUIDE_HEADING!r}")
    return page


def steps(guide: str) -> Iterator[Edit | Command]:
    """The guide's edits and commands, in the order a reader meets them."""
    for language, body in _FENCE.findall(guide):
        if language == "bash":
            for line in body.splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    yield Command(line)
        elif language == "python":
            first, _, code = body.partition("\n")
            place = _PLACE.fullmatch(first)
            if place is None:
                raise AssertionError(f"a python block says nowhere where it goes: {first!r}")
            names = tuple(name.strip() for name in place["names"].split(","))
            yield Edit(place["path"], names, code)


def apply(project: Path, edit: Edit) -> None:
    """Put the block in place of the named definitions of the file."""
    target = project / edit.path
    source = target.read_text(encoding="utf-8")
    lines = source.splitlines(keepends=True)
    spans = [_span(ast.parse(source), name, edit.path) for name in edit.names]
    spans.sort()
    for (_, end), (start, _) in itertools.pairwise(spans):
        between = "".join(lines[end:start])
        if between.strip():
            raise AssertionError(f"{edit.path}: {edit.names} are not next to each other")
    first, last = spans[0][0], spans[-1][1]
    lines[first:last] = [edit.code if edit.code.endswith("\n") else edit.code + "\n"]
    target.write_text("".join(lines), encoding="utf-8")


def _span(tree: ast.Module, name: str, path: str) -> tuple[int, int]:
    """Where a top-level definition (or the imports) stands: 0-based start, end."""
    if name == IMPORTS:
        leading: list[ast.stmt] = []
        for node in tree.body[_docstring(tree) :]:
            if not _is_import(node):
                break
            leading.append(node)
        if not leading:
            raise AssertionError(f"{path}: no imports at the top")
        return _lines(leading[0])[0], _lines(leading[-1])[1]
    for node in tree.body:
        if name in _defines(node):
            return _lines(node)
    raise AssertionError(f"{path}: no top-level definition of {name}")


def _docstring(tree: ast.Module) -> int:
    first = tree.body[0] if tree.body else None
    is_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    return 1 if is_doc else 0


def _is_import(node: ast.stmt) -> bool:
    if isinstance(node, ast.Import | ast.ImportFrom):
        return True
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    )


def _defines(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {target.id for target in node.targets if isinstance(target, ast.Name)}
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return {node.target.id}
    return set()


def _lines(node: ast.stmt) -> tuple[int, int]:
    decorators = getattr(node, "decorator_list", [])
    start = min([node.lineno, *(item.lineno for item in decorators)])
    end = node.end_lineno if node.end_lineno is not None else node.lineno
    return start - 1, end

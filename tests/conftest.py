"""Helpers for baking the template and running things in the result."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .baked_project import BakedProject
from .combinations import COMBINATIONS, Combination
from .e2e import SLUG, Run, base_env, moto_server, s3_client

TEMPLATE = Path(__file__).resolve().parent.parent


class CloudFormationLoader(yaml.SafeLoader):
    """A safe loader that reads CloudFormation's short tags (!Ref X) as {"!Ref": X}."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        return {"!" + suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {"!" + suffix: loader.construct_sequence(node, deep=True)}
    return {"!" + suffix: loader.construct_mapping(node, deep=True)}  # type: ignore[arg-type]


CloudFormationLoader.add_multi_constructor("!", _tagged)


def bake(cookies: Any, combination: Combination) -> BakedProject:
    result = cookies.bake(extra_context=combination.context)
    if result.exception is not None:
        raise AssertionError(f"bake {combination.id} failed: {result.exception!r}")
    return BakedProject(Path(result.project_path), dict(result.context))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep every test of one installed combination on one xdist worker.

    ``installed`` caches per worker: tests spread over both workers would
    install the same combination twice. The combination is the test's
    parameter when it has one, else the defaults (``project``, ``cli``).
    """
    for item in items:
        if "installed" not in getattr(item, "fixturenames", ()):
            continue
        params = getattr(item, "callspec", None)
        chosen = [
            value
            for value in (params.params.values() if params else ())
            if isinstance(value, Combination)
        ]
        group = chosen[0].id if chosen else "defaults"
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def installed(cookies_session: Any) -> Any:
    """Bake and install a combination once per session; later calls reuse it."""
    cache: dict[str, BakedProject] = {}

    def get(combination: Combination) -> BakedProject:
        if combination.id not in cache:
            project = bake(cookies_session, combination)
            project.install(combination.answer("python_version"))
            cache[combination.id] = project
        return cache[combination.id]

    return get


@pytest.fixture(scope="session")
def endpoint() -> Iterator[str]:
    """moto's server on 127.0.0.1, shared by the tests that run the CLI as a process."""
    with moto_server() as url:
        yield url


@pytest.fixture(scope="session")
def project(installed: Any) -> Any:
    """The default bake, installed: the CLI the end-to-end tests run."""
    return installed(next(combo for combo in COMBINATIONS if combo.id == "defaults"))


@pytest.fixture
def bucket(endpoint: str, request: pytest.FixtureRequest) -> str:
    """A new bucket on the shared server, named after the test (and its parameters)."""
    readable = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-")
    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:8]
    name = f"e2e-{readable}-{digest}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture
def cli(project: Any, endpoint: str, tmp_path: Path) -> Any:
    def run(*argv: str, drop: tuple[str, ...] = (), **env: str) -> Run:
        full = {**base_env(project, endpoint, tmp_path), **env}
        for name in drop:
            full.pop(name)
        done = project.run(project.venv_bin / SLUG, *argv, env=full, check=False)
        return Run(done)

    return run

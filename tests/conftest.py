"""Helpers for baking the template and running things in the result."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from .baked_project import BakedProject
from .combinations import COMBINATIONS, Combination
from .e2e import SLUG, Run, base_env

TEMPLATE = Path(__file__).resolve().parent.parent


def bake(cookies: Any, combination: Combination) -> BakedProject:
    result = cookies.bake(extra_context=combination.context)
    if result.exception is not None:
        raise AssertionError(f"bake {combination.id} failed: {result.exception!r}")
    return BakedProject(Path(result.project_path), dict(result.context))


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
    # werkzeug would print every request, and a traceback whenever moto trips
    # over a listing racing a delete (a 500 that botocore retries).
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


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
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    s3.create_bucket(Bucket=name)
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

"""Helpers for baking the template and running things in the result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .baked_project import BakedProject
from .combinations import Combination

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

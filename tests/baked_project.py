"""A generated project on disk: look into it, install it, run things in it.

Shared by the template's tests and the benchmark.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .combinations import interpreter

PROJECT_TIMEOUT = 600


@dataclass
class BakedProject:
    """A generated project on disk, and ways to look into it and run things in it."""

    path: Path
    context: dict[str, Any]

    def has_file(self, relative: str) -> bool:
        return (self.path / relative).exists()

    def read(self, relative: str) -> str:
        return (self.path / relative).read_text(encoding="utf-8")

    def files(self) -> list[Path]:
        skip = {".venv", ".mypy_cache", ".pytest_cache", ".ruff_cache", "__pycache__"}
        return [
            path
            for path in sorted(self.path.rglob("*"))
            if path.is_file() and not skip.intersection(path.relative_to(self.path).parts)
        ]

    def run(
        self, *command: str | Path, env: dict[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(part) for part in command],
            cwd=self.path,
            env=env,
            capture_output=True,
            text=True,
            timeout=PROJECT_TIMEOUT,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"{' '.join(map(str, command))} exited {done.returncode}\n"
                f"--- stdout\n{done.stdout[-6000:]}\n--- stderr\n{done.stderr[-6000:]}"
            )
        return done

    @property
    def venv_bin(self) -> Path:
        return self.path / ".venv" / "bin"

    def install(self, python_version: str, *, editable: bool = True) -> None:
        """Make ``.venv`` with the project and its dev extra (uv, no Python downloads)."""
        python = interpreter(python_version)
        if python is None:
            raise AssertionError(f"no python{python_version} on this machine")
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
        uv = (sys.executable, "-m", "uv")
        self.run(*uv, "venv", "--quiet", "--python", python, ".venv", env=env)
        self.run(
            *uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            self.venv_bin / "python",
            *(("-e",) if editable else ()),
            ".[dev]",
            env=env,
        )

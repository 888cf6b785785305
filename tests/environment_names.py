"""The names a virtualenv holds that a generated project must not take.

Read by ``scripts/update-shadowed-names`` to write the hook's generated lists,
and by the tests that hold those lists true. A project named like any of
them breaks: its package shadows an import name, its distribution (the slug)
would require itself, its command (the slug too) replaces one in the
virtualenv's ``bin`` (a project named ``python`` replaces the venv's own
interpreter with a script that runs itself).
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

# What a venv's own interpreter prints: every top-level import name and the
# distributions that provide it, and every distribution's name.
PROBE = (
    "import importlib.metadata as m, json; "
    "print(json.dumps({'imports': m.packages_distributions(), "
    "'distributions': [d.metadata['Name'] for d in m.distributions()]}))"
)
# A file in bin a slug could be named like (lowercase letters, digits, hyphens).
COMMAND_RE = re.compile(r"[a-z][a-z0-9-]*")


@dataclass
class Names:
    imports: set[str] = field(default_factory=set)
    distributions: set[str] = field(default_factory=set)  # PEP 503 normalized
    commands: set[str] = field(default_factory=set)

    def __ior__(self, other: Names) -> Names:
        self.imports |= other.imports
        self.distributions |= other.distributions
        self.commands |= other.commands
        return self


def normalized(distribution: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", distribution).lower()


def read(venv: Path, own_slug: str = "") -> Names:
    """What the virtualenv at ``venv`` holds, less the project's own
    distribution and command (both named by its slug)."""
    bin_dir = venv / "bin"
    done = subprocess.run(
        [str(bin_dir / "python"), "-c", PROBE],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found = json.loads(done.stdout)
    own = normalized(own_slug)
    return Names(
        imports={
            name
            for name, distributions in found["imports"].items()
            if name.isidentifier() and any(normalized(d) != own for d in distributions)
        },
        distributions={normalized(d) for d in found["distributions"]} - {own},
        commands={path.name for path in bin_dir.iterdir() if COMMAND_RE.fullmatch(path.name)}
        - {own_slug},
    )

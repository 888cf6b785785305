"""Allow ``python -m {{ cookiecutter.package_name }}``."""

from .console import main

raise SystemExit(main())

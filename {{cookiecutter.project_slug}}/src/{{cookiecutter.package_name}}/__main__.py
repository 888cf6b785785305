# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""Allow ``python -m {{ cookiecutter.package_name }}``."""

from .console import main

raise SystemExit(main())

# Maintained by the template: a template update replaces this file. Your tests go in test_job.py.
"""The project's tests.

A job written against 0.7.0 imports the runtime by the names it had then
(``from . import logs``); until 0.9.0 they are answered here too, so that its
tests run while its owner updates its imports (``runtime.run.moved``).
"""

from {{ cookiecutter.package_name }}.runtime.run import moved

moved.install("{{ cookiecutter.package_name }}")

"""{{ cookiecutter.project_slug }}: see README.md for settings and exit codes."""

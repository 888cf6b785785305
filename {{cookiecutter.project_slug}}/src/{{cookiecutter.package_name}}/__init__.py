"""{{ cookiecutter.project_slug }}.

See README.md for settings and exit codes.
"""

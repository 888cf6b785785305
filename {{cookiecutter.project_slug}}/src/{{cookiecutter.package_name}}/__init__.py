# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""{{ cookiecutter.project_slug }}.

See README.md for settings and exit codes.
"""

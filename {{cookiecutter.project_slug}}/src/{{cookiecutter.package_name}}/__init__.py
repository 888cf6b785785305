# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""{{ cookiecutter.project_slug }}.

README.md has the quick start, the settings most runs set and the exit
codes; docs/ has the rest, and docs/job.md what the job does.
"""

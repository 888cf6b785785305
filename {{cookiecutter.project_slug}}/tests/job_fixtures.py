# Maintained by the template: a template update replaces this file. Your tests go in test_job.py.
{% include "starters/" ~ cookiecutter.starter_job ~ "/fixtures.py" %}
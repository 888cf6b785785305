# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""Outcomes: the script's exceptions and the exit codes they map to."""

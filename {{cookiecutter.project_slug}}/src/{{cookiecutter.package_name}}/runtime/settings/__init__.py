# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""Settings: read from the environment and flags, validated, overridden."""

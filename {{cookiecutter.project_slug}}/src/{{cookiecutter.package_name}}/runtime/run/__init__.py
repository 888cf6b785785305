# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""The run and its end: the command, the targets, exit codes and signals."""

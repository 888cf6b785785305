# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""Output: log lines, their formats, and the secrets kept out of them."""

# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""AWS access: sessions and clients, time bounds, stop-aware paging."""

# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""The template's runtime: what every job runs on. It never imports the job."""

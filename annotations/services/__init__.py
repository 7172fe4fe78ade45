"""Every write of the annotations app, one module per concern; dispatch.py is the only door to Celery."""

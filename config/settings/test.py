"""Settings for the test suite (`./run test`): the base settings with a fast password hasher and no real email.

Everything else, the PostgreSQL database, Redis, the Celery worker and Label Studio, stays as the
environment gives it, so the tests run against the real services.
"""
from config.settings.base import *  # noqa: F403

# PBKDF2's ~0.7 s per hash is a production safeguard; tests create hundreds of users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Email stays in memory (django.core.mail.outbox), in the test process and in the worker it starts.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The suite signs in as a handful of users and calls the API far faster than anyone would; the throttle itself is
# tested with low rates set by override_settings (tests/annotations/test_console_api.py).
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {  # noqa: F405
    "staff": "100000/min", "contractor": "100000/min", "anon": "100000/min"}}

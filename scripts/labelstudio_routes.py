"""Prints Label Studio's URL map as JSON (one regex per route), run by Label Studio's own virtualenv's python.

    DJANGO_SETTINGS_MODULE=core.settings.label_studio <ls-venv>/bin/python scripts/labelstudio_routes.py

The gateway's route table (annotations/gateway.py) must classify every one; tests/annotations/test_gateway.py
fails on a route nobody listed.
"""
import json
import os
import sys
import tempfile

# Importing Label Studio's settings makes its data folder; keep that out of the real one.
os.environ.setdefault("LABEL_STUDIO_BASE_DATA_DIR", tempfile.mkdtemp(prefix="ls-routes-"))
os.environ.setdefault("DJANGO_DB", "sqlite")

import label_studio

# Label Studio's apps (core, projects, tasks...) are top-level modules inside its package folder.
sys.path.insert(0, os.path.dirname(label_studio.__file__))
import django

django.setup()
from django.urls import get_resolver  # noqa: E402
from django.urls.resolvers import URLPattern, URLResolver  # noqa: E402


def walk(patterns: list, prefix: str = "") -> list[str]:
    found = []
    for p in patterns:
        regex = prefix + p.pattern.regex.pattern.lstrip("^").rstrip("$").removesuffix("\\Z")
        if isinstance(p, URLResolver):
            found += walk(p.url_patterns, regex)
        elif isinstance(p, URLPattern):
            found.append(regex)
    return found


json.dump(sorted(set(walk(get_resolver().url_patterns))), sys.stdout, indent=0)

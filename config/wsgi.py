"""WSGI entry point (gunicorn config.wsgi)."""
import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Import every view now (the URLconf resolves them), then move what the process has loaded into the collector's
# permanent generation: a full collection then scans only what requests leave behind. Without it, every ~20th
# request of the review queue paid a full collection of ~310,000 start-up objects (100-215 ms, measured in-process
# at seed_scale's defaults); after it, 25-30 ms. The standard recipe (gc.freeze's documentation) for a server
# whose workers load the app once and then serve for hours.
get_resolver().url_patterns  # noqa: B018 - the import is the point
gc.collect()
gc.freeze()

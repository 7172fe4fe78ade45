"""Settings entry point: DJANGO_ENV=production selects the strict production settings."""
import os

if os.environ.get("DJANGO_ENV", "").lower() == "production":
    from config.settings.production import *  # noqa: F403
else:
    from config.settings.base import *  # noqa: F403

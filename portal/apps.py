"""App configuration for the portal, the pages on top of workforce, annotations and payroll."""
from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    default_auto_field = "django.db.models.BigAutoField"

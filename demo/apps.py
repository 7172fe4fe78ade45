"""App configuration for demo: the demo commands and their sample data, on top of every other app."""
from django.apps import AppConfig


class DemoConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "demo"

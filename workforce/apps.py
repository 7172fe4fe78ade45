"""App configuration for workforce: ties allauth's signup and email signals to onboarding."""
from django.apps import AppConfig


class WorkforceConfig(AppConfig):
    name = "workforce"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from workforce import receivers  # noqa: F401 - connects the receivers; models load only once ready

"""App configuration for annotations: connects its receivers of other apps' events."""
from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "annotations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from annotations import receivers  # noqa: F401 - connects the receivers

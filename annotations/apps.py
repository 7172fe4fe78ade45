"""App configuration for annotations: connects its receivers and registers its Celery tasks in every process."""
from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "annotations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Here, not at the top: both import models, which load only once the app registry is ready.
        from annotations import (
            receivers,  # noqa: F401 - connects the receivers
            tasks,  # noqa: F401 - registers the tasks, which dispatch sends by name
        )

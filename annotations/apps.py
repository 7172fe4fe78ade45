"""App configuration for annotations: connects its receivers, registers its Celery tasks in every process and its
sections of the contractor's privacy export."""
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
        from annotations.selectors.privacy import (  # models load only once ready
            annotation_references,
            quality_scores_export,
        )
        from workforce.privacy import register_export_section  # with the sections, which load models

        register_export_section("quality_scores", quality_scores_export)
        register_export_section("annotations", annotation_references)

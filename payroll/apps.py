"""App configuration for payroll: connects its receivers of other apps' events."""
from django.apps import AppConfig


class PayrollConfig(AppConfig):
    name = "payroll"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from payroll import receivers  # noqa: F401 - connects the receivers; models are importable only once ready

"""App configuration for payroll: connects its receivers of other apps' events and registers the weekly hours
the annotations app's capacity reads and the job costs its delivery report reads (annotations sits below payroll
and may not import it), and its sections of the contractor's privacy export."""
from django.apps import AppConfig


class PayrollConfig(AppConfig):
    name = "payroll"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Here, not at the top: these modules import models, which load only once the app registry is ready.
        from annotations.selectors.job_costs import job_costs_register  # models load only once ready
        from annotations.selectors.weekly_hours import weekly_hours_register  # models load only once ready
        from payroll import receivers  # noqa: F401 - connects the receivers; models load only once ready
        from payroll.selectors.job_costs import payroll_job_cost  # models load only once ready
        from payroll.selectors.privacy import (  # models load only once ready
            statements_export,
            time_entries_export,
            timesheets_export,
        )
        from payroll.selectors.weekly_hours import PAYROLL_WEEKLY_HOURS  # models load only once ready
        from workforce.privacy import register_export_section  # with the sections, which load models

        weekly_hours_register(PAYROLL_WEEKLY_HOURS)
        job_costs_register(payroll_job_cost)
        register_export_section("time_entries", time_entries_export)
        register_export_section("timesheets", timesheets_export)
        register_export_section("statements", statements_export)

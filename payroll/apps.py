"""App configuration for payroll: registers the weekly hours the annotations app's capacity reads."""
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.apps import AppConfig


class PayrollConfig(AppConfig):
    name = "payroll"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Here, not at the top: models (and the selectors built on them) import only once the app registry is ready.
        from annotations.models import Job
        from annotations.selectors.weekly_hours import WeeklyHours, weekly_hours_register
        from payroll.selectors import minutes_logged_by_contractor, pay_terms_at, remaining_cap_minutes, week_start_utc
        from workforce.models import Contractor

        def minutes_logged(contractor_ids: Iterable[int], moment: datetime) -> dict[int, int]:
            return minutes_logged_by_contractor(contractor_ids, week_start=week_start_utc(moment))

        def cap_minutes_left(contractor: Contractor, job: Job, moment: datetime) -> int:
            return remaining_cap_minutes(contractor=contractor, job=job, moment=moment)

        def weekly_cap_hours(job: Job, moment: datetime) -> Decimal:
            return pay_terms_at(job=job, moment=moment).weekly_cap_hours

        weekly_hours_register(WeeklyHours(minutes_logged=minutes_logged, remaining_cap_minutes=cap_minutes_left,
                                          weekly_cap_hours=weekly_cap_hours))

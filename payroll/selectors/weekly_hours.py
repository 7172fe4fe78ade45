"""The weekly hours payroll gives the annotations app's capacity reads (registered in PayrollConfig.ready)."""
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet

from annotations.models import Job
from annotations.selectors.weekly_hours import WeeklyHours
from payroll.selectors.cap import minutes_logged_by_contractor, remaining_cap_minutes
from payroll.selectors.terms import pay_terms_at
from payroll.selectors.weeks import week_start_utc
from workforce.models import Contractor


def _minutes_logged(contractors: Iterable[int] | QuerySet[Contractor], moment: datetime) -> dict[int, int]:
    return minutes_logged_by_contractor(contractors, week_start=week_start_utc(moment))


def _cap_minutes_left(contractor: Contractor, job: Job, moment: datetime) -> int:
    return remaining_cap_minutes(contractor=contractor, job=job, moment=moment)


def _weekly_cap_hours(job: Job, moment: datetime) -> Decimal:
    return pay_terms_at(job=job, moment=moment).weekly_cap_hours


PAYROLL_WEEKLY_HOURS = WeeklyHours(minutes_logged=_minutes_logged, remaining_cap_minutes=_cap_minutes_left,
                                   weekly_cap_hours=_weekly_cap_hours)

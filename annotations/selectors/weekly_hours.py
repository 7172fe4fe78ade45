"""The hours this app reads from the app above it (payroll owns time and pay terms), behind a small interface.

Apps import only downward, so annotations cannot import payroll: payroll registers its implementation
here from its AppConfig.ready(), and capacity reads through `weekly_hours()`.
"""
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet

from annotations.models import Job
from workforce.models import Contractor


@dataclass(frozen=True)
class WeeklyHours:
    """What capacity needs to know of a contractor's pay week, as callables."""

    # Work minutes logged per contractor in the pay week holding `moment` (every one present, 0 if none), of
    # contractor ids or of a query of contractors (read as a subquery: cheaper than a thousand ids).
    minutes_logged: Callable[[Iterable[int] | QuerySet[Contractor], datetime], dict[int, int]]
    # Minutes the contractor may still work under the job's cap in the pay week holding `moment`.
    remaining_cap_minutes: Callable[[Contractor, Job, datetime], int]
    # The job's weekly cap in hours in force at `moment`.
    weekly_cap_hours: Callable[[Job, datetime], Decimal]


_registered: list[WeeklyHours] = []


def weekly_hours_register(hours: WeeklyHours) -> None:
    """Install the implementation (payroll's, from PayrollConfig.ready()); a second call replaces the first."""
    _registered[:] = [hours]


def weekly_hours() -> WeeklyHours:
    """The registered implementation; RuntimeError when none is (payroll not installed or not ready)."""
    if not _registered:
        raise RuntimeError("No WeeklyHours registered: annotations.selectors.weekly_hours.weekly_hours_register() "
                           "is called by payroll's AppConfig.ready(); is payroll in INSTALLED_APPS?")
    return _registered[0]

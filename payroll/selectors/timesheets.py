"""Timesheets of a pay week, their entries, and their minutes and pay summed in one query."""
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum

from payroll.models import EntryKind, TimeEntry, Timesheet
from payroll.selectors.amounts import amount_of
from workforce.models import Contractor


def timesheet_for_week(*, contractor: Contractor, week_start: datetime) -> Timesheet | None:
    return Timesheet.objects.filter(contractor=contractor, week_start=week_start).first()


def entries_of(timesheet: Timesheet) -> QuerySet[TimeEntry]:
    return timesheet.entries.select_related("job", "batch", "created_by").order_by("start", "id")


def minutes_by_rate(entries: Iterable[TimeEntry]) -> list[tuple[Decimal, int]]:
    """The entries' minutes summed per hourly rate, lowest rate first (a statement's breakdown)."""
    by_rate: dict[Decimal, int] = {}
    for entry in entries:
        by_rate[entry.hourly_rate] = by_rate.get(entry.hourly_rate, 0) + entry.minutes
    return sorted(by_rate.items())


@dataclass(frozen=True)
class WeekTotals:
    work_minutes: int
    adjustment_minutes: int
    earned: Decimal  # rounded half-up to cents, as a statement would

    @property
    def minutes(self) -> int:
        return self.work_minutes + self.adjustment_minutes


def totals_by_timesheet(timesheet_ids: Iterable[int]) -> dict[int, WeekTotals]:
    """Minutes (work and adjustments) and earned amount per timesheet, one query for any number."""
    ids = list(timesheet_ids)
    rows = (TimeEntry.objects.filter(timesheet_id__in=ids).values("timesheet_id", "hourly_rate")
            .annotate(work=Sum("minutes", filter=Q(kind=EntryKind.WORK), default=0),
                      adjusted=Sum("minutes", filter=Q(kind=EntryKind.ADJUSTMENT), default=0))
            .order_by())
    work: dict[int, int] = dict.fromkeys(ids, 0)
    adjusted: dict[int, int] = dict.fromkeys(ids, 0)
    money: dict[int, Decimal] = dict.fromkeys(ids, Decimal(0))
    for r in rows:
        work[r["timesheet_id"]] += r["work"]
        adjusted[r["timesheet_id"]] += r["adjusted"]
        # minutes x rate is exact; dividing each rate's share by 60 before adding would round twice
        # (31 min at 2.00 less 23 min at 2.50 gave 0.07 instead of 0.075 -> 0.08).
        money[r["timesheet_id"]] += (r["work"] + r["adjusted"]) * r["hourly_rate"]
    return {i: WeekTotals(work[i], adjusted[i], amount_of(money[i])) for i in ids}

"""A job's paid time and its cost, which payroll gives the annotations app's delivery report (registered in
PayrollConfig.ready)."""
from decimal import Decimal

from django.conf import settings
from django.db.models import F, Sum

from annotations.models import Job
from annotations.selectors.job_costs import JobCost
from payroll.models import EntryKind, TimeEntry


def payroll_job_cost(job: Job) -> JobCost:
    """Work entries on the job's batches and adjustments booked on the job, summed exactly (two queries)."""
    totals = {}
    for kind, entries in ((EntryKind.WORK, TimeEntry.objects.filter(kind=EntryKind.WORK, batch__job=job)),
                          (EntryKind.ADJUSTMENT, TimeEntry.objects.filter(kind=EntryKind.ADJUSTMENT, job=job))):
        row = entries.aggregate(total_minutes=Sum("minutes"), minutes_rate=Sum(F("minutes") * F("hourly_rate")))
        totals[kind] = (row["total_minutes"] or 0, Decimal(row["minutes_rate"] or 0) / 60)
    return JobCost(work_minutes=totals[EntryKind.WORK][0], work_cost=totals[EntryKind.WORK][1],
                   adjustment_minutes=totals[EntryKind.ADJUSTMENT][0],
                   adjustment_cost=totals[EntryKind.ADJUSTMENT][1], currency=settings.PAYROLL_CURRENCY)

"""Hours worked on a job per day, from the time entries on its batches: the console job page's chart."""
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import TruncDate

from annotations.models import Job
from common.charts import last_days
from payroll.models import EntryKind, TimeEntry


def job_hours_per_day(job: Job, *, now: datetime, days: int = 30) -> list[tuple[date, Decimal]]:
    """Hours of work entries on the job's batches per UTC day of their start over the last `days` days (0 on a day
    without any; staff adjustments are not work done that day); one aggregated query."""
    span = last_days(days=days, now=now)
    since = datetime.combine(span[0], datetime.min.time(), tzinfo=UTC)
    minutes = dict(TimeEntry.objects.filter(kind=EntryKind.WORK, batch__job=job, start__gte=since)
                   .annotate(day=TruncDate("start", tzinfo=UTC)).order_by().values("day")
                   .annotate(minutes=Sum("minutes")).values_list("day", "minutes"))
    return [(day, Decimal(minutes.get(day, 0)) / 60) for day in span]

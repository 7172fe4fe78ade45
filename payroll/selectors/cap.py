"""The weekly cap: work minutes a contractor logged in a pay week and what a job's cap leaves them."""
from collections.abc import Iterable
from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from annotations.models import Job
from payroll.models import Timesheet
from payroll.selectors.terms import pay_terms_at
from payroll.selectors.weeks import week_start_utc
from workforce.models import Contractor


def minutes_logged_by_contractor(contractors: Iterable[int] | QuerySet[Contractor], *,
                                 week_start: datetime) -> dict[int, int]:
    """Work minutes per contractor in the pay week (every one present, 0 if none), one query for any number of
    contractors: their ids, or a query of them, read as a subquery (a thousand ids cost more to send than the
    minutes: the capacity board passes its crew so)."""
    if isinstance(contractors, QuerySet):
        week = Timesheet.objects.filter(contractor=OuterRef("pk"), week_start=week_start).values("work_minutes")
        return dict(contractors.order_by().annotate(minutes=Coalesce(Subquery(week[:1]), 0))
                    .values_list("pk", "minutes"))
    ids = list(contractors)
    rows = Timesheet.objects.filter(contractor_id__in=ids, week_start=week_start).values_list(
        "contractor_id", "work_minutes")
    logged = dict.fromkeys(ids, 0)
    logged.update(rows)
    return logged


def remaining_cap_minutes(*, contractor: Contractor, job: Job, moment: datetime) -> int:
    """Minutes the contractor may still work in the pay week holding `moment` under the job's cap."""
    week_start = week_start_utc(moment)
    cap = pay_terms_at(job=job, moment=moment).cap_minutes
    return cap - minutes_logged_by_contractor([contractor.pk], week_start=week_start)[contractor.pk]

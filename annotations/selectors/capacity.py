"""Reads for assignment: how long a batch will take a contractor, and who has room for more work.

Hours logged and the weekly cap belong to payroll; they are read through the WeeklyHours interface
payroll registers (annotations.selectors.weekly_hours), never by importing payroll.
"""
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, IntegerField, Min, OuterRef, QuerySet, Subquery, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from annotations.models import Annotation, Batch, BatchKind, BatchState, Job
from annotations.selectors.batches import HELD_STATES, held_task_counts
from annotations.selectors.weekly_hours import weekly_hours
from common.charts import shown
from workforce.models import AgreementAcceptance, Contractor, OnboardingState
from workforce.selectors.agreements import current_agreements

# Hours one photo takes someone with no history yet: a defect-painting photo is a few minutes of
# careful brushing, so a quarter of an hour errs on the side of not overbooking a newcomer.
DEFAULT_HOURS_PER_TASK = Decimal("0.25")
# The median is taken over this many of the contractor's latest annotations, so it follows
# their current speed rather than their first, slow week.
LEAD_TIME_SAMPLE = 50
SECONDS_PER_HOUR = Decimal(3600)
HOURS = Decimal("0.01")
# Each contractor's median lead time over the rows of {sample} (contractor_id, lead_time), as statistics.median takes
# it: the mean of the middle row (odd count) or the two middle rows (even count). The ORM cannot group over a windowed
# subquery, so this is written around the SQL the ORM compiled for it; window functions rather than PostgreSQL's
# arrays, so the embedded SQLite runs it too.
MEDIAN_OF_SAMPLES = (
    "SELECT contractor_id, AVG(lead_time) FROM (SELECT contractor_id, lead_time, "
    "ROW_NUMBER() OVER (PARTITION BY contractor_id ORDER BY lead_time) AS i, "
    "COUNT(*) OVER (PARTITION BY contractor_id) AS n FROM ({sample}) AS sample) AS ranked "
    "WHERE i IN ((n + 1) / 2, (n + 2) / 2) GROUP BY contractor_id"
)
# The same on PostgreSQL with its ordered-set aggregate, which interpolates the two middle rows of an even count as
# statistics.median does: one sort per contractor's sample instead of two window passes (7.9 vs 15.4 ms for the
# medians of 1,000 contractors' samples at seed_scale's defaults, the same values).
MEDIAN_OF_SAMPLES_POSTGRESQL = (
    "SELECT contractor_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_time) FROM ({sample}) AS sample "
    "GROUP BY contractor_id"
)


def _median_lead_times(contractors: QuerySet[Contractor]) -> dict[int, float]:
    """Each contractor's median lead time (seconds) over their latest LEAD_TIME_SAMPLE measured, non-deleted
    annotations, as statistics.median takes it (the middle value, or the mean of the two middle ones); contractors
    without any are absent. One query for any number of contractors: a window function numbers each contractor's
    annotations newest first (in the order of the annotation_pace_sample index) and the median of each sample is
    taken in SQL, so one row per contractor comes back rather than the sample. `contractors` is a subquery, not a
    list of ids: a thousand ids in an IN list cost more to send than the median itself."""
    latest = (
        Annotation.objects.filter(contractor__in=contractors.values("pk"), deleted=False, lead_time__isnull=False)
        .annotate(rank=Window(RowNumber(), partition_by=F("contractor_id"),
                              order_by=[F("ls_created_at").desc(nulls_last=True), F("id").desc()]))
        .filter(rank__lte=LEAD_TIME_SAMPLE)
        .values_list("contractor_id", "lead_time")
    )
    sample, params = latest.query.sql_with_params()
    with connection.cursor() as cursor:
        median = MEDIAN_OF_SAMPLES_POSTGRESQL if connection.vendor == "postgresql" else MEDIAN_OF_SAMPLES
        cursor.execute(median.format(sample=sample), params)
        return dict(cursor.fetchall())


def _per_task(median_seconds: float | None) -> Decimal:
    return DEFAULT_HOURS_PER_TASK if median_seconds is None else Decimal(str(median_seconds)) / SECONDS_PER_HOUR


def hours_per_task_by_contractor(contractor_ids: Iterable[int]) -> dict[int, Decimal]:
    """Median hours per task of each contractor over their latest LEAD_TIME_SAMPLE non-deleted annotations
    (_median_lead_times), in one query; DEFAULT_HOURS_PER_TASK for contractors without any measured annotation."""
    ids = list(contractor_ids)
    if not ids:
        return {}
    medians = _median_lead_times(Contractor.objects.filter(pk__in=ids))
    return {cid: _per_task(medians.get(cid)) for cid in ids}


def estimated_batch_hours(*, contractor: Contractor, batch: Batch) -> Decimal:
    """Tasks in the batch (hidden gold included: it is labelled like any other) times the contractor's median pace."""
    per_task = hours_per_task_by_contractor([contractor.pk])[contractor.pk]
    return batch.batch_tasks.count() * per_task


def _hours_logged_by_contractor(contractors: Iterable[int] | QuerySet[Contractor], *,
                                now: datetime) -> dict[int, Decimal]:
    minutes = weekly_hours().minutes_logged(contractors, now)
    return {cid: Decimal(m) / 60 for cid, m in minutes.items()}


def remaining_capacity_hours(*, contractor: Contractor, job: Job, now: datetime) -> Decimal:
    """The job's weekly cap, less hours logged this week, less the estimate of the batches they hold.

    Held batches are estimated in full even when partly done (their logged hours also count),
    which errs toward not overbooking.
    """
    left = Decimal(weekly_hours().remaining_cap_minutes(contractor, job, now)) / 60
    per_task = hours_per_task_by_contractor([contractor.pk])[contractor.pk]
    reserved = held_task_counts([contractor.pk]).get(contractor.pk, 0) * per_task
    return left - reserved


@dataclass(frozen=True)
class CapacityRow:
    contractor_id: int
    name: str
    agreements_accepted: bool  # active and every current agreement accepted (what a manual assignment needs first)
    quality: Decimal | None  # the rolling score on gold once one task is scored, else the qualification score
    cap: Decimal
    logged: Decimal
    reserved: Decimal
    remaining: Decimal
    hours_per_task: Decimal
    open_batches: int  # batches of this job the contractor holds and has not handed in
    # Tasks of the smallest open published batch of the job, 0 when none is open: a contractor
    # who has not the hours for it receives nothing from auto-assign.
    smallest_open_batch_tasks: int = 0
    can_receive: bool = False  # receive_verdict's answer, filled in by capacity_board
    why_not: str = ""  # receive_verdict's reason when can_receive is False


def receive_verdict(row: CapacityRow, job: Job, *, needed_hours: Decimal | None = None) -> tuple[bool, str]:
    """Whether auto-assign may give this contractor a batch of the job, and if not, why not.

    The one rule the capacity board shows and batches_auto_assign applies, so the two cannot drift.
    needed_hours is the estimate of the batch at hand; without it, the smallest open batch's.
    (Auto-assign also skips a batch holding a photo the contractor already had; that depends on
    the batch, so the board cannot say it per contractor.)
    """
    if not row.agreements_accepted:
        return False, "has not accepted every current agreement"
    if row.quality is None:
        return False, "no quality score yet"
    if row.quality < job.quality_threshold:
        shown = f"{row.quality:.2f}"
        if Decimal(shown) >= job.quality_threshold:  # 0.499 against 0.50 must not read "0.50 (0.50)"
            shown = f"{row.quality:.4f}"
        return False, f"below the job's quality threshold {job.quality_threshold:.2f} ({shown})"
    if row.open_batches >= job.max_open_batches:
        return False, f"holds {row.open_batches} open batches (at most {job.max_open_batches})"
    needed = row.smallest_open_batch_tasks * row.hours_per_task if needed_hours is None else needed_hours
    if row.remaining <= 0 or row.remaining < needed:
        left = f"{max(row.remaining, Decimal(0)):.2f} h left this week"
        return False, f"{left}, a batch needs about {needed:.2f} h" if needed > 0 else left
    return True, ""


def capacity_board(job: Job, *, now: datetime | None = None) -> list[CapacityRow]:
    """Every active contractor's room for this job's work, and whether auto-assign would give them a batch,
    in a constant number of queries.

    Ordered as auto-assignment picks: best quality first, then most remaining hours, then id.
    """
    now = now or timezone.now()
    crew = Contractor.objects.filter(state=OnboardingState.ACTIVE, anonymized_at__isnull=True)
    held_here = Batch.objects.filter(job=job, assigned_to=OuterRef("pk"), state__in=HELD_STATES)
    agreement_ids = [a.pk for a in current_agreements()]
    accepted_here = AgreementAcceptance.objects.filter(contractor=OuterRef("pk"), agreement_id__in=agreement_ids)
    # Only the columns the rows show: a thousand whole contractor and user rows cost more than every query here.
    contractors = list(
        crew.annotate(
            open_batches=Coalesce(Subquery(held_here.order_by().values("assigned_to").annotate(n=Count("id"))
                                           .values("n"), output_field=IntegerField()), 0),
            accepted=Coalesce(Subquery(accepted_here.order_by().values("contractor")
                                       .annotate(n=Count("agreement", distinct=True)).values("n"),
                                       output_field=IntegerField()), 0),
            # The rolling score as stored by services/quality_rollups.py: a join, not a window over every score.
            rolling_score=F("quality_rollup__score"))
        .order_by("id")
        .values_list("pk", "display_name", "user__email", "qualification_score", "rolling_score", "open_batches",
                     "accepted", named=True)
    )
    # The crew's medians, held tasks and hours are read by subquery rather than by a list of their thousand ids.
    medians = _median_lead_times(crew)
    held_tasks = held_task_counts(crew)
    logged = _hours_logged_by_contractor(crew, now=now)
    cap = weekly_hours().weekly_cap_hours(job, now)
    smallest = (Batch.objects.filter(job=job, kind=BatchKind.WORK, state=BatchState.OPEN, assigned_to__isnull=True,
                                     published_at__isnull=False)
                .annotate(n=Count("batch_tasks")).aggregate(smallest=Min("n"))["smallest"] or 0)
    rows = []
    for c in contractors:
        per_task, hours = _per_task(medians.get(c.pk)), logged.get(c.pk, Decimal(0))
        reserved = held_tasks.get(c.pk, 0) * per_task
        fields = {
            "contractor_id": c.pk, "name": c.display_name or c.user__email,
            "agreements_accepted": c.accepted == len(agreement_ids),
            "quality": (c.qualification_score if c.rolling_score is None
                        else Decimal(str(round(c.rolling_score, 4)))),
            "cap": cap, "logged": hours.quantize(HOURS),
            "reserved": reserved.quantize(HOURS), "remaining": (cap - hours - reserved),
            "hours_per_task": per_task, "open_batches": c.open_batches, "smallest_open_batch_tasks": smallest,
        }
        can, why_not = receive_verdict(CapacityRow(**fields), job)
        rows.append(CapacityRow(**fields, can_receive=can, why_not=why_not))  # 3x cheaper than replace()
    rows.sort(key=lambda r: (-(r.quality or 0), -r.remaining, r.contractor_id))
    return rows


@dataclass(frozen=True)
class CrewHours:
    """The week's hours of the crew on the board against the job's weekly cap, for the capacity board's chart."""

    buckets: list[tuple[str, int]]  # ("8-12 h", contractors who logged that much this week), the last "at the cap"
    cap: Decimal  # the job's weekly cap per contractor, in hours
    logged: Decimal  # hours logged this week by all of them
    capacity: Decimal  # the cap times the number of contractors
    contractors: int


CAP_BUCKETS = 5  # the hours below the cap are cut in this many equal ranges


def crew_hours(rows: list[CapacityRow]) -> CrewHours:
    """How many contractors of capacity_board's rows logged how much of the weekly cap this week, in CAP_BUCKETS
    equal ranges below the cap and one at or over it. Counted from the rows the board has already read (one
    number per contractor, summed in SQL by payroll), so the chart costs no query."""
    cap = rows[0].cap if rows else Decimal(0)
    width = cap / CAP_BUCKETS if cap > 0 else Decimal(1)
    counts = [0] * (CAP_BUCKETS + 1)
    for row in rows:
        counts[CAP_BUCKETS if row.logged >= cap else min(int(row.logged / width), CAP_BUCKETS - 1)] += 1
    labels = [f"{shown(width * i)}-{shown(width * (i + 1))} h" for i in range(CAP_BUCKETS)] + [
        f"at the cap ({shown(cap)} h)"]
    return CrewHours(buckets=list(zip(labels, counts, strict=True)), cap=cap,
                     logged=sum((row.logged for row in rows), Decimal(0)), capacity=cap * len(rows),
                     contractors=len(rows))

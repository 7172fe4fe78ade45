"""Reads of pay weeks, pay terms, logged minutes against the cap, and Label Studio evidence.

Assignment asks `remaining_cap_minutes` (one contractor) and `minutes_logged_by_contractor` with
`pay_terms_of_jobs` (a board of them) how much of a week is left.
"""
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum

from annotations.models import Annotation, Job
from common.errors import DomainError
from payroll.models import EntryKind, PayTermsChange, TimeEntry, Timesheet
from workforce.models import Contractor

WEEK = timedelta(days=7)
CENT = Decimal("0.01")
ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def week_start_utc(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the pay week holding `moment` (an aware datetime)."""
    moment = moment.astimezone(UTC)
    monday = moment - timedelta(days=moment.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


def week_name(week_start: datetime) -> str:
    """The ISO week name of a pay week: 2026-W48."""
    year, week, _ = week_start.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def week_parse(name: str, *, field: str = "week") -> datetime:
    """Monday 00:00 UTC of an ISO week written like 2026-W48; a clear error otherwise."""
    match = ISO_WEEK.match((name or "").strip())
    if not match:
        raise DomainError(f"{field}: write the ISO week as YYYY-Www, e.g. 2026-W48 (got {name!r}).", field=field)
    try:
        day = datetime.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise DomainError(f"{field}: {name} is not a week of that year.", field=field) from None
    return day.replace(tzinfo=UTC)


def minutes_as_hours(minutes: int) -> Decimal:
    """Minutes as decimal hours with two places (for display and export only)."""
    return (Decimal(minutes) / 60).quantize(CENT, rounding=ROUND_HALF_UP)


def seconds_as_hours(seconds: float) -> Decimal:
    return (Decimal(str(seconds)) / 3600).quantize(CENT, rounding=ROUND_HALF_UP)


def minutes_as_hmm(minutes: int) -> str:
    sign = "-" if minutes < 0 else ""
    return f"{sign}{abs(minutes) // 60}:{abs(minutes) % 60:02d}"


def amount_of(minutes_times_rate: Decimal) -> Decimal:
    """What a statement pays for a sum of minutes x hourly rate: divided by 60 once, rounded half-up to cents."""
    return (minutes_times_rate / 60).quantize(CENT, rounding=ROUND_HALF_UP)


def money_for(minutes: int, rate: Decimal) -> Decimal:
    """Unrounded pay for minutes at an hourly rate; round only where it leaves the system."""
    return Decimal(minutes) * rate / 60


@dataclass(frozen=True)
class PayTerms:
    hourly_rate: Decimal
    weekly_cap_hours: Decimal
    currency: str
    effective_from: datetime | None  # None: the job's own terms, from its start

    @property
    def cap_minutes(self) -> int:
        return int(self.weekly_cap_hours * 60)


def pay_terms_of_jobs(*, jobs: Iterable[Job], moment: datetime) -> dict[int, PayTerms]:
    """Each job's rate and cap in force at `moment`: its latest change from before then, else its own.
    One query for any number of jobs."""
    by_id = {job.pk: job for job in jobs}
    terms = {pk: PayTerms(job.hourly_rate, job.weekly_cap_hours, job.currency, None) for pk, job in by_id.items()}
    # Oldest first, so each job ends with the latest change in force at `moment`.
    changes = PayTermsChange.objects.filter(job_id__in=by_id, effective_from__lte=moment).order_by("effective_from")
    for change in changes:
        terms[change.job_id] = PayTerms(change.hourly_rate, change.weekly_cap_hours, by_id[change.job_id].currency,
                                        change.effective_from)
    return terms


def pay_terms_at(*, job: Job, moment: datetime) -> PayTerms:
    """The job's rate and cap in force at `moment`."""
    return pay_terms_of_jobs(jobs=[job], moment=moment)[job.pk]


def pay_terms_history(*, job: Job) -> list[PayTerms]:
    own = PayTerms(job.hourly_rate, job.weekly_cap_hours, job.currency, None)
    return [own] + [PayTerms(c.hourly_rate, c.weekly_cap_hours, job.currency, c.effective_from)
                    for c in job.pay_terms_changes.order_by("effective_from")]


def minutes_logged_by_contractor(contractor_ids: Iterable[int], *, week_start: datetime) -> dict[int, int]:
    """Work minutes per contractor in the pay week, one query for any number of contractors."""
    ids = list(contractor_ids)
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


@dataclass(frozen=True)
class Evidence:
    annotation_count: int
    active_seconds: float

    @property
    def active_hours(self) -> Decimal:
        """Label Studio's active time in hours, two places, rounded half-up (display and export only)."""
        return seconds_as_hours(self.active_seconds)


def evidence_annotations(*, since: datetime, until: datetime) -> QuerySet[Annotation]:
    """The annotations that are evidence of work between two moments: synced, not deleted, made by a
    contractor in Label Studio in that span. Every evidence figure (pages, review, export) counts these."""
    return Annotation.objects.filter(deleted=False, contractor__isnull=False, ls_created_at__gte=since,
                                     ls_created_at__lt=until)


def evidence_by_contractor(contractor_ids: Iterable[int] | None, *, week_start: datetime) -> dict[int, Evidence]:
    """Per contractor: their evidence annotations made in the week and the sum of Label Studio's
    lead_time over them, in one query (all contractors when ids is None)."""
    annotations = evidence_annotations(since=week_start, until=week_start + WEEK)
    if contractor_ids is not None:
        annotations = annotations.filter(contractor_id__in=list(contractor_ids))
    rows = annotations.values("contractor_id").annotate(n=Count("id"), seconds=Sum("lead_time")).order_by()
    return {r["contractor_id"]: Evidence(r["n"], r["seconds"] or 0.0) for r in rows}


def timesheet_flags(*, minutes: int, evidence: Evidence | None, factor: Decimal | None = None) -> list[str]:
    """Why a reviewer should look twice: hours with no annotation, or hours well above Label Studio's time."""
    if minutes <= 0:
        return []
    factor = settings.PAYROLL_FLAG_FACTOR if factor is None else factor
    evidence = evidence or Evidence(0, 0.0)
    if evidence.annotation_count == 0:
        return ["no annotations"]
    if Decimal(minutes) * 60 > factor * Decimal(str(evidence.active_seconds)):
        return [f"logged more than {factor}x Label Studio time"]
    return []


def timesheet_for_week(*, contractor: Contractor, week_start: datetime) -> Timesheet | None:
    return Timesheet.objects.filter(contractor=contractor, week_start=week_start).first()


def entries_of(timesheet: Timesheet) -> QuerySet[TimeEntry]:
    return timesheet.entries.select_related("job", "batch", "created_by").order_by("start", "id")


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


def timesheets_of_week(*, week_start: datetime, state: str | None = None) -> QuerySet[Timesheet]:
    qs = Timesheet.objects.filter(week_start=week_start).select_related("contractor__user")
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("contractor_id")

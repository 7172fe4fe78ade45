"""Label Studio's evidence of work (annotations and their active time) and the flags it raises on logged hours."""
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncWeek
from django.utils.translation import gettext

from annotations.models import Annotation
from payroll.selectors.amounts import seconds_as_hours
from payroll.selectors.weeks import WEEK
from workforce.models import Contractor


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


def evidence_by_week(*, contractor: Contractor, week_starts: Iterable[datetime]) -> dict[datetime, Evidence]:
    """Label Studio evidence of one contractor for many pay weeks in one query: the same annotations
    `evidence_by_contractor` counts for a single week, grouped by Monday 00:00 UTC."""
    weeks = list(week_starts)
    if not weeks:
        return {}
    rows = (evidence_annotations(since=min(weeks), until=max(weeks) + WEEK).filter(contractor=contractor)
            .annotate(week=TruncWeek("ls_created_at", tzinfo=UTC)).values("week")
            .annotate(n=Count("id"), seconds=Sum("lead_time")).order_by())
    return {r["week"]: Evidence(r["n"], r["seconds"] or 0.0) for r in rows}


def timesheet_flag(*, minutes: int, evidence: Evidence | None, factor: Decimal) -> str:
    """Which flag the hours raise, as a key: "" (none), "none" (work with no annotation) or "over" (more than
    `factor` times Label Studio's active time). The rule alone, for counting many timesheets."""
    if minutes <= 0:
        return ""
    if evidence is None or evidence.annotation_count == 0:
        return "none"
    return "over" if Decimal(minutes) * 60 > factor * Decimal(str(evidence.active_seconds)) else ""


def timesheet_flags(*, minutes: int, evidence: Evidence | None, factor: Decimal | None = None) -> list[str]:
    """Why a reviewer should look twice: hours with no annotation, or hours well above Label Studio's time; in the
    active language (the contractor's on /pay/, English on staff pages, exports and the API by default)."""
    factor = settings.PAYROLL_FLAG_FACTOR if factor is None else factor
    flag = timesheet_flag(minutes=minutes, evidence=evidence, factor=factor)
    if flag == "none":
        return [gettext("no annotations")]
    if flag == "over":
        return [gettext("logged more than %(factor)sx Label Studio time") % {"factor": factor}]
    return []

"""Reads for assignment: how long a batch will take a contractor, and who has room for more work."""
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from annotations import labelstudio
from annotations.models import (
    Annotation,
    Batch,
    BatchKind,
    BatchState,
    BatchTask,
    Job,
    QualityScore,
    ReviewState,
    ScoreState,
)
from payroll.selectors.cap import minutes_logged_by_contractor, remaining_cap_minutes
from payroll.selectors.terms import pay_terms_at
from payroll.selectors.weeks import week_start_utc
from workforce.models import AgreementAcceptance, Contractor, OnboardingState
from workforce.selectors import current_agreements

# Hours one photo takes someone with no history yet: a defect-painting photo is a few minutes of
# careful brushing, so a quarter of an hour errs on the side of not overbooking a newcomer.
DEFAULT_HOURS_PER_TASK = Decimal("0.25")
# The median is taken over this many of the contractor's latest annotations, so it follows
# their current speed rather than their first, slow week.
LEAD_TIME_SAMPLE = 50
# States in which a batch is held by a contractor and still to be worked on.
HELD_STATES = (BatchState.ASSIGNED, BatchState.IN_PROGRESS)
SECONDS_PER_HOUR = Decimal(3600)
HOURS = Decimal("0.01")


def hours_per_task_by_contractor(contractor_ids: Iterable[int]) -> dict[int, Decimal]:
    """Median hours per task of each contractor over their latest LEAD_TIME_SAMPLE non-deleted annotations.

    One query for any number of contractors: a window function numbers each contractor's
    annotations newest first and the median is taken in Python. Contractors without any
    measured annotation get DEFAULT_HOURS_PER_TASK.
    """
    ids = list(contractor_ids)
    latest = (
        Annotation.objects.filter(contractor_id__in=ids, deleted=False, lead_time__isnull=False)
        .annotate(rank=Window(RowNumber(), partition_by=F("contractor_id"),
                              order_by=[F("ls_created_at").desc(nulls_last=True), F("id").desc()]))
        .filter(rank__lte=LEAD_TIME_SAMPLE)
        .values_list("contractor_id", "lead_time")
    )
    seconds: dict[int, list[float]] = defaultdict(list)
    for contractor_id, lead_time in latest:
        seconds[contractor_id].append(lead_time)
    return {
        cid: (Decimal(str(statistics.median(seconds[cid]))) / SECONDS_PER_HOUR if seconds[cid]
              else DEFAULT_HOURS_PER_TASK)
        for cid in ids
    }


def estimated_batch_hours(*, contractor: Contractor, batch: Batch) -> Decimal:
    """Tasks in the batch (hidden gold included: it is labelled like any other) times the contractor's median pace."""
    per_task = hours_per_task_by_contractor([contractor.pk])[contractor.pk]
    return batch.batch_tasks.count() * per_task


def _held_task_counts(contractor_ids: Iterable[int]) -> dict[int, int]:
    """Tasks in the batches each contractor holds and has not handed in, across all jobs (hours are hours)."""
    rows = (BatchTask.objects.filter(batch__assigned_to_id__in=list(contractor_ids), batch__state__in=HELD_STATES)
            .values("batch__assigned_to_id").annotate(n=Count("id")).values_list("batch__assigned_to_id", "n"))
    return dict(rows)


def _hours_logged_by_contractor(contractor_ids: Iterable[int], *, week_start: datetime) -> dict[int, Decimal]:
    minutes = minutes_logged_by_contractor(contractor_ids, week_start=week_start)
    return {cid: Decimal(m) / 60 for cid, m in minutes.items()}


def remaining_capacity_hours(*, contractor: Contractor, job: Job, now: datetime) -> Decimal:
    """The job's weekly cap, less hours logged this week, less the estimate of the batches they hold.

    Held batches are estimated in full even when partly done (their logged hours also count),
    which errs toward not overbooking.
    """
    left = Decimal(remaining_cap_minutes(contractor=contractor, job=job, moment=now)) / 60
    per_task = hours_per_task_by_contractor([contractor.pk])[contractor.pk]
    reserved = _held_task_counts([contractor.pk]).get(contractor.pk, 0) * per_task
    return left - reserved


@dataclass(frozen=True)
class CapacityRow:
    contractor_id: int
    name: str
    can_receive: bool  # active and every current agreement accepted
    quality: Decimal | None  # the rolling score on gold once one task is scored, else the qualification score
    cap: Decimal
    logged: Decimal
    reserved: Decimal
    remaining: Decimal
    hours_per_task: Decimal
    open_batches: int  # batches of this job the contractor holds and has not handed in


def capacity_board(job: Job, *, now: datetime | None = None) -> list[CapacityRow]:
    """Every active contractor's room for this job's work, in a constant number of queries.

    Ordered as auto-assignment picks: best quality first, then most remaining hours, then id.
    """
    now = now or timezone.now()
    held_here = Batch.objects.filter(job=job, assigned_to=OuterRef("pk"), state__in=HELD_STATES)
    contractors = list(
        Contractor.objects.filter(state=OnboardingState.ACTIVE, anonymized_at__isnull=True)
        .select_related("user")
        .annotate(open_batches=Coalesce(
            Subquery(held_here.order_by().values("assigned_to").annotate(n=Count("id")).values("n"),
                     output_field=IntegerField()), 0))
        .order_by("id")
    )
    ids = [c.pk for c in contractors]
    agreement_ids = {a.pk for a in current_agreements()}
    accepted: dict[int, set[int]] = defaultdict(set)
    for contractor_id, agreement_id in AgreementAcceptance.objects.filter(
            contractor_id__in=ids, agreement_id__in=agreement_ids).values_list("contractor_id", "agreement_id"):
        accepted[contractor_id].add(agreement_id)
    per_task = hours_per_task_by_contractor(ids)
    held_tasks = _held_task_counts(ids)
    logged = _hours_logged_by_contractor(ids, week_start=week_start_utc(now))
    cap = pay_terms_at(job=job, moment=now).weekly_cap_hours
    rollups = quality_rollups(ids)
    rows = []
    for c in contractors:
        reserved = held_tasks.get(c.pk, 0) * per_task[c.pk]
        rolling = rollups[c.pk].score
        rows.append(CapacityRow(
            contractor_id=c.pk, name=str(c), can_receive=agreement_ids <= accepted[c.pk],
            quality=c.qualification_score if rolling is None else Decimal(str(round(rolling, 4))),
            cap=cap, logged=logged[c.pk].quantize(HOURS),
            reserved=reserved.quantize(HOURS), remaining=(cap - logged[c.pk] - reserved),
            hours_per_task=per_task[c.pk], open_batches=c.open_batches,
        ))
    rows.sort(key=lambda r: (-(r.quality or 0), -r.remaining, r.contractor_id))
    return rows


def batch_task_counts(batch_ids: Iterable[int]) -> dict[int, int]:
    """Tasks per batch, hidden gold included, in one query."""
    rows = BatchTask.objects.filter(batch_id__in=list(batch_ids)).values("batch_id").annotate(n=Count("id"))
    return {row["batch_id"]: row["n"] for row in rows}



def batches_started_by_holder(batch_ids: Iterable[int]) -> set[int]:
    """Ids of the batches whose holder synced an annotation in them, whatever the batch state says."""
    return set(Annotation.objects.filter(
        batch_task__batch__in=list(batch_ids), contractor_id=F("batch_task__batch__assigned_to_id"), deleted=False,
    ).values_list("batch_task__batch_id", flat=True).distinct())


def stale_reason(batch: Batch, *, started: bool, now: datetime) -> str | None:
    job = batch.job
    if (batch.state == BatchState.ASSIGNED and not started and batch.started_at is None
            and batch.assigned_at + timedelta(hours=job.start_within_hours) <= now):
        return f"not started within {job.start_within_hours} h of assignment"
    if batch.deadline_at is not None and batch.deadline_at <= now:
        return f"not finished by the deadline ({job.deadline_hours} h after assignment)"
    return None


def stale_batches(*, now: datetime) -> list[tuple[Batch, str]]:
    """Held batches the periodic reclaim would take back now, with the rule each one broke."""
    held = list(Batch.objects.select_related("job", "assigned_to__user")
                .filter(state__in=HELD_STATES, assigned_to__isnull=False, kind=BatchKind.WORK)
                .order_by("deadline_at", "id"))
    started = batches_started_by_holder([b.pk for b in held])
    return [(b, reason) for b in held if (reason := stale_reason(b, started=b.pk in started, now=now))]


def contractor_batches(*, contractor: Contractor) -> list[Batch]:
    """The batches the contractor holds, each with `n_tasks` and `n_rework` (tasks sent back to fix)."""
    return list(
        Batch.objects.filter(assigned_to=contractor, state__in=HELD_STATES).select_related("job")
        .annotate(n_tasks=Count("batch_tasks", distinct=True),
                  n_rework=Count("batch_tasks__annotations", distinct=True,
                                 filter=Q(batch_tasks__annotations__review_state=ReviewState.REWORK,
                                          batch_tasks__annotations__deleted=False)))
        .order_by("deadline_at", "number")
    )


# --- the staff console -----------------------------------------------------------

def jobs_with_progress() -> QuerySet[Job]:
    """Per job: tasks, annotated, reviewed, accepted and gold tasks — one query for all jobs."""
    live = Q(tasks__batch_tasks__annotations__deleted=False, tasks__batch_tasks__annotations__was_cancelled=False)
    return Job.objects.annotate(
        n_tasks=Count("tasks", distinct=True),
        n_gold=Count("tasks", filter=Q(tasks__gold_result__isnull=False), distinct=True),
        n_batches=Count("batches", distinct=True),
        n_annotated=Count("tasks", filter=live, distinct=True),
        n_reviewed=Count("tasks", filter=Q(tasks__batch_tasks__annotations__review_state__in=[
            ReviewState.ACCEPTED, ReviewState.REWORK]), distinct=True),
        n_accepted=Count("tasks", filter=Q(tasks__batch_tasks__annotations__review_state=ReviewState.ACCEPTED),
                         distinct=True),
    ).order_by("-created_at")


def review_queue(*, job_id: int | None = None) -> QuerySet[Annotation]:
    qs = (Annotation.objects.filter(review_state=ReviewState.PENDING, deleted=False, was_cancelled=False)
          .select_related("batch_task__batch__job", "batch_task__task", "contractor__user"))
    if job_id:
        qs = qs.filter(batch_task__batch__job_id=job_id)
    return qs.order_by("ls_created_at", "id")


def progress_rows(*, job: Job) -> QuerySet[BatchTask]:
    """One row per task of the job's batches, for the progress CSV."""
    return (BatchTask.objects.filter(batch__job=job)
            .select_related("batch__assigned_to__user", "task")
            .annotate(n_annotations=Count("annotations", filter=Q(annotations__deleted=False)))
            .order_by("batch__number", "id"))


# --- quality rollups -------------------------------------------------------------------

@dataclass(frozen=True)
class QualityRollup:
    """A contractor's quality on gold: for the assignment console, the dashboard and the pause rule."""

    score: float | None  # mean macro IoU over the window; None before the first scored gold task
    n: int  # scored gold tasks in the window (at most QUALITY_ROLLING_WINDOW)
    per_class: dict[str, float]  # label -> mean IoU over the window's tasks where gold or they drew the class
    weakest_class: str | None  # the label with the lowest mean IoU
    rubber_stamps: int  # tasks in the window where a wrong pre-annotation was submitted unchanged


def _scored_on_gold(contractor_ids: list[int]) -> QuerySet[QualityScore]:
    """One score per contractor and gold task: their latest annotation of it, against the newest gold it was
    scored on. Skipped, deleted and unassigned work is not theirs to be judged on."""
    return (
        QualityScore.objects.filter(
            state=ScoreState.SCORED, annotation__contractor_id__in=contractor_ids, annotation__deleted=False,
            annotation__was_cancelled=False, annotation__unassigned_work=False)
        .annotate(per_task=Window(
            RowNumber(), partition_by=[F("annotation__contractor_id"), F("gold__task_id")],
            order_by=[F("annotation__ls_created_at").desc(nulls_last=True), F("annotation_id").desc(),
                      F("gold__version").desc()]))
        .filter(per_task=1)
    )


def quality_rollups(contractor_ids: Iterable[int]) -> dict[int, QualityRollup]:
    """Each contractor's rolling quality over their latest QUALITY_ROLLING_WINDOW scored gold tasks, in one query.

    A task where neither gold nor the contractor has any defect has no IoU (nothing to overlap) and
    counts as perfect: saying "no defect" of a clean photo is the right answer.
    """
    ids = list(contractor_ids)
    latest_first = [F("annotation__ls_created_at").desc(nulls_last=True), F("annotation_id").desc()]
    window = (
        QualityScore.objects.filter(pk__in=_scored_on_gold(ids).values("pk"))
        .annotate(rank=Window(RowNumber(), partition_by=F("annotation__contractor_id"), order_by=latest_first))
        .filter(rank__lte=settings.QUALITY_ROLLING_WINDOW)
        .values_list("annotation__contractor_id", "macro_iou", "per_class", "rubber_stamp")
    )
    scores: dict[int, list[float]] = defaultdict(list)
    class_ious: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    stamps: dict[int, int] = defaultdict(int)
    for contractor_id, macro_iou, per_class, rubber_stamp in window:
        scores[contractor_id].append(_task_score(macro_iou))
        for label, report in per_class.items():
            if report.get("iou") is not None:
                class_ious[contractor_id][label].append(report["iou"])
        stamps[contractor_id] += rubber_stamp
    rollups = {}
    for cid in ids:
        per_class = {label: statistics.fmean(values) for label, values in class_ious[cid].items()}
        rollups[cid] = QualityRollup(
            score=statistics.fmean(scores[cid]) if scores[cid] else None, n=len(scores[cid]), per_class=per_class,
            weakest_class=min(per_class, key=per_class.__getitem__) if per_class else None,
            rubber_stamps=stamps[cid],
        )
    return rollups


def scorable_annotation_ids(*, job_id: int | None = None, batch_id: int | None = None) -> list[int]:
    """Live annotations on tasks that have gold, of a job or a batch, oldest first: what a re-score covers."""
    qs = Annotation.objects.filter(deleted=False, was_cancelled=False, batch_task__task__gold_result__isnull=False)
    if job_id is not None:
        qs = qs.filter(batch_task__batch__job_id=job_id)
    if batch_id is not None:
        qs = qs.filter(batch_task__batch_id=batch_id)
    return list(qs.order_by("id").values_list("id", flat=True))


def annotation_scores(*, annotation: Annotation) -> QuerySet[QualityScore]:
    """The annotation's scores, against the newest gold first (the first is the one that counts)."""
    return annotation.quality_scores.select_related("gold").order_by("-gold__version")


@dataclass(frozen=True)
class ScoreRow:
    """One scored gold task of a contractor, as the contractor and reviewers read it."""

    score: QualityScore
    classes: list[tuple[str, dict]]  # (label, class report) for classes in gold or the answer, weakest first
    missed: int  # gold defects the contractor did not draw (all classes)
    spurious: int  # defects drawn where gold has none


def contractor_scores(*, contractor_id: int, limit: int = 20) -> list[ScoreRow]:
    """The contractor's latest scores on gold tasks (errors included, so they can see what went wrong), newest first."""
    scores = (QualityScore.objects.filter(annotation__contractor_id=contractor_id, annotation__deleted=False)
              .select_related("annotation__batch_task__task", "annotation__batch_task__batch", "gold")
              # The brush RLEs (tens of kB each at 20 MP) are not shown: leave them in the database.
              .defer("annotation__result", "annotation__batch_task__task__prediction",
                     "annotation__batch_task__task__gold_result", "gold__result")
              .order_by("-scored_at", "-id")[:limit])
    rows = []
    for score in scores:
        classes = sorted(((label, report) for label, report in (score.per_class or {}).items()
                          if report.get("iou") is not None),
                         key=lambda item: (item[1]["iou"], item[0]))
        instances = [report.get("instances") or {} for _, report in classes]
        rows.append(ScoreRow(score, classes, missed=sum(len(i.get("missed") or []) for i in instances),
                             spurious=sum(len(i.get("spurious") or []) for i in instances)))
    return rows


def quality_board() -> list[tuple[Contractor, QualityRollup]]:
    """Contractors who label (qualifying, active or paused) with their rollups, weakest first, in two queries."""
    contractors = list(Contractor.objects.filter(
        state__in=(OnboardingState.QUALIFYING, OnboardingState.ACTIVE, OnboardingState.PAUSED),
        anonymized_at__isnull=True).select_related("user").order_by("id"))
    rollups = quality_rollups(c.pk for c in contractors)
    return sorted(((c, rollups[c.pk]) for c in contractors),
                  key=lambda pair: (pair[1].score is None, pair[1].score or 0, pair[0].pk))


# --- the qualification round -----------------------------------------------------------

def _task_score(macro_iou: float | None) -> float:
    # No IoU means neither gold nor the answer has a defect: "clean" was the right answer.
    return 1.0 if macro_iou is None else macro_iou


@dataclass(frozen=True)
class QualificationRound:
    """An applicant's qualification batch and how far its scoring has got."""

    batch: Batch
    tasks: int
    scored: int  # photos of the round with a scored answer by the applicant
    score: float | None  # mean macro IoU over those photos
    pass_mark: float

    @property
    def complete(self) -> bool:
        return self.scored >= self.tasks

    @property
    def passed(self) -> bool | None:
        """None until every photo is scored."""
        return None if not self.complete or self.score is None else self.score >= self.pass_mark


def qualification_round(*, contractor_id: int) -> QualificationRound | None:
    """The contractor's qualification round with its score so far (None if they never had one), in 3 queries."""
    batch = (Batch.objects.filter(kind=BatchKind.QUALIFICATION, assigned_to_id=contractor_id)
             .select_related("job").first())
    if batch is None:
        return None
    ious = list(_scored_on_gold([contractor_id]).filter(annotation__batch_task__batch=batch)
                .values_list("macro_iou", flat=True))
    return QualificationRound(
        batch=batch, tasks=batch.batch_tasks.count(), scored=len(ious),
        score=statistics.fmean(_task_score(v) for v in ious) if ious else None,
        pass_mark=settings.QUALITY_QUALIFICATION_PASS)


def service_checks() -> dict[str, Callable[[], str]]:
    """The outside services this app is configured to use, each with a call that answers or raises (for /healthz)."""
    return {"label_studio": labelstudio.server_version} if labelstudio.is_configured() else {}

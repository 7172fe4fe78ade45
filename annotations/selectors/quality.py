"""Reads of quality: contractors' rolling scores on gold, their scored tasks, the board (with unchanged
pre-annotations beyond gold), what a re-score covers, a contractor's quality week by week."""
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Avg, Count, F, FloatField, Q, QuerySet, Value, Window
from django.db.models.functions import Coalesce, RowNumber, TruncWeek

from annotations.models import Annotation, AnnotationEdits, QualityScore, ScoreState
from workforce.models import Contractor, OnboardingState


def task_score(macro_iou: float | None) -> float:
    """A scored gold task's score: its macro IoU, or 1 when there is none."""
    # No IoU means neither gold nor the answer has a defect: "clean" was the right answer.
    return 1.0 if macro_iou is None else macro_iou


@dataclass(frozen=True)
class QualityRollup:
    """A contractor's quality on gold: for the assignment console, the dashboard and the pause rule."""

    score: float | None  # mean macro IoU over the window; None before the first scored gold task
    n: int  # scored gold tasks in the window (at most QUALITY_ROLLING_WINDOW)
    per_class: dict[str, float]  # label -> mean IoU over the window's tasks where gold or they drew the class
    weakest_class: str | None  # the label with the lowest mean IoU
    rubber_stamps: int  # tasks in the window where a wrong pre-annotation was submitted unchanged


def scored_on_gold(contractor_ids: list[int]) -> QuerySet[QualityScore]:
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
        QualityScore.objects.filter(pk__in=scored_on_gold(ids).values("pk"))
        .annotate(rank=Window(RowNumber(), partition_by=F("annotation__contractor_id"), order_by=latest_first))
        .filter(rank__lte=settings.QUALITY_ROLLING_WINDOW)
        .values_list("annotation__contractor_id", "macro_iou", "per_class", "rubber_stamp")
    )
    scores: dict[int, list[float]] = defaultdict(list)
    class_ious: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    stamps: dict[int, int] = defaultdict(int)
    for contractor_id, macro_iou, per_class, rubber_stamp in window:
        scores[contractor_id].append(task_score(macro_iou))
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


def unchanged_beyond_gold(contractor_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """Per contractor: (submissions left unchanged against the pre-annotation, submissions compared) on the photos
    that are not hidden gold, live annotations only."""
    rows = (AnnotationEdits.objects.filter(annotation__contractor_id__in=list(contractor_ids),
                                           annotation__batch_task__is_gold=False, annotation__deleted=False,
                                           annotation__was_cancelled=False)
            .values("annotation__contractor_id")
            .annotate(unchanged=Count("id", filter=Q(unchanged=True)), compared=Count("id")))
    return {r["annotation__contractor_id"]: (r["unchanged"], r["compared"]) for r in rows}


def stored_rollup(contractor: Contractor) -> QualityRollup:
    """The contractor's rollup as stored (services/quality_rollups.py keeps it), read from the row joined in
    with select_related("quality_rollup"); a contractor without a row has no score yet."""
    row = getattr(contractor, "quality_rollup", None)
    if row is None:
        return QualityRollup(score=None, n=0, per_class={}, weakest_class=None, rubber_stamps=0)
    return QualityRollup(score=row.score, n=row.n, per_class=row.per_class, weakest_class=row.weakest_class or None,
                         rubber_stamps=row.rubber_stamps)


def quality_board(*, search: str = "") -> QuerySet[Contractor]:
    """Contractors who label (qualifying, active or paused), those whose email or name holds `search` when given,
    weakest stored rolling score first, the not yet scored last, then by id: one query, to be paged in SQL; read
    a page's rows with quality_board_rows."""
    found = Contractor.objects.filter(
        state__in=(OnboardingState.QUALIFYING, OnboardingState.ACTIVE, OnboardingState.PAUSED),
        anonymized_at__isnull=True)
    if search:  # by email or name, any part of it
        found = found.filter(Q(user__email__icontains=search) | Q(display_name__icontains=search)
                             | Q(legal_name__icontains=search))
    return (found.select_related("user", "quality_rollup")
            .order_by(F("quality_rollup__score").asc(nulls_last=True), "id"))


def quality_board_rows(contractors: Iterable[Contractor]) -> list[tuple[Contractor, QualityRollup]]:
    """A page of quality_board: each contractor with their stored rollup, carrying `unchanged` (unchanged,
    compared) on photos without gold, counted for these contractors only in one query."""
    contractors = list(contractors)
    unchanged = unchanged_beyond_gold(c.pk for c in contractors)
    for contractor in contractors:
        contractor.unchanged = unchanged.get(contractor.pk, (0, 0))
    return [(c, stored_rollup(c)) for c in contractors]


def scores_with_contractor() -> QuerySet[QualityScore]:
    """Scores with the contractor whose annotation they judge joined in (who may see the overlay)."""
    return QualityScore.objects.select_related("annotation__contractor")


def overlay_file(score: QualityScore) -> Path | None:
    """The score's overlay JPEG on disk, None when it has none (or its path leaves VAR_DIR)."""
    path = (settings.VAR_DIR / score.overlay_path).resolve() if score.overlay_path else None
    if path is None or not path.is_relative_to(settings.VAR_DIR.resolve()) or not path.is_file():
        return None
    return path


def contractor_quality_per_week(*, contractor_id: int, now: datetime,
                                weeks: int = 9) -> list[tuple[date, float | None]]:
    """The contractor's mean task score on gold (as the rolling score counts them: one per gold photo, no IoU
    counting 1) per ISO week of their work, over the last `weeks` weeks (63 days by default), oldest first; None
    in a week without any. One aggregated query."""
    this_week = now.astimezone(UTC).date() - timedelta(days=now.astimezone(UTC).weekday())
    starts = [this_week - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    since = datetime.combine(starts[0], datetime.min.time(), tzinfo=UTC)
    mean = dict(QualityScore.objects.filter(pk__in=scored_on_gold([contractor_id]).values("pk"),
                                            annotation__ls_created_at__gte=since)
                .annotate(week=TruncWeek("annotation__ls_created_at", tzinfo=UTC)).order_by().values("week")
                .annotate(mean=Avg(Coalesce("macro_iou", Value(1.0), output_field=FloatField())))
                .values_list("week", "mean"))
    by_day = {week.date() if isinstance(week, datetime) else week: value for week, value in mean.items()}
    return [(start, by_day.get(start)) for start in starts]

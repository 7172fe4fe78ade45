"""Reads of jobs for the staff console: progress counts, the background work's progress, photos per day and the
progress CSV's rows."""
from datetime import UTC, date, datetime
from statistics import median

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from annotations.models import (
    Annotation,
    Batch,
    BatchState,
    BatchTask,
    DeliveryState,
    GoldVersion,
    Job,
    QualityScore,
    ReviewState,
    Task,
)
from annotations.selectors.deliveries import delivery_progress
from annotations.selectors.imports import import_run_progress, import_runs_recent
from common.charts import last_days

# A photo is handed in once its batch is, until a reviewer sends the batch back (rework) to its holder.
HANDED_IN_STATES = [BatchState.HANDED_IN, BatchState.IN_REVIEW, BatchState.DONE]


def _per_job(rows: QuerySet, job_field: str, counted: str) -> Coalesce:
    """COUNT(DISTINCT counted) of `rows` for the outer job, as a correlated subquery: each count reads only its own
    rows, instead of one GROUP BY over the product of tasks x batch tasks x annotations x batches."""
    return Coalesce(Subquery(rows.filter(**{job_field: OuterRef("pk")}).order_by().values(job_field)
                             .annotate(n=Count(counted, distinct=True)).values("n")[:1]), 0)


# The counts a JobProgress row stores, in the order the job list and the job page read them.
PROGRESS_FIELDS = ("n_tasks", "n_gold", "n_batches", "n_published", "n_annotated", "n_handed_in", "n_reviewed",
                   "n_accepted", "n_scored", "n_scorable", "n_left", "seconds_per_photo", "photos_per_day")
# The forecast's speed: the median lead time of this many of the job's latest submitted annotations.
SPEED_SAMPLE = 500
# Days of annotations per day the stored row keeps (the job page's chart shows up to this many).
PER_DAY_KEPT = 90


def jobs_with_progress() -> QuerySet[Job]:
    """Per job: tasks, gold tasks, batches, published batches, annotated, handed-in, reviewed and accepted tasks,
    read from the jobs' stored JobProgress rows (services/job_progress.py keeps them): one join, no count over a
    job's rows. Only while some job has no row yet (one exists() query says) is such a job counted live, each count
    a subquery over its own rows that PostgreSQL's COALESCE evaluates only for the jobs without a row: those
    subqueries are left out of the plan otherwise, as their estimated cost alone is enough to make PostgreSQL JIT-
    compile the query (seconds) on a jobs table too small to be analysed."""
    stored = {name: F(f"progress__{name}") for name in PROGRESS_FIELDS[:8]}
    if not Job.objects.filter(progress__isnull=True).exists():
        return Job.objects.annotate(**stored).order_by("-created_at")
    live = Annotation.objects.filter(deleted=False, was_cancelled=False)
    task = "batch_task__task"
    counted = {
        "n_tasks": _per_job(Task.objects.all(), "job", "id"),
        "n_gold": _per_job(Task.objects.filter(gold_result__isnull=False), "job", "id"),
        "n_batches": _per_job(Batch.objects.all(), "job", "id"),
        "n_published": _per_job(Batch.objects.filter(published_at__isnull=False), "job", "id"),
        "n_annotated": _per_job(live, f"{task}__job", task),
        "n_handed_in": _per_job(BatchTask.objects.filter(batch__state__in=HANDED_IN_STATES), "batch__job", "task"),
        "n_reviewed": _per_job(Annotation.objects.filter(review_state__in=[ReviewState.ACCEPTED, ReviewState.REWORK]),
                               f"{task}__job", task),
        "n_accepted": _per_job(Annotation.objects.filter(review_state=ReviewState.ACCEPTED), f"{task}__job", task),
    }
    return Job.objects.annotate(**{name: Coalesce(stored[name], count) for name, count in counted.items()}
                                ).order_by("-created_at")


def job_progress_live(job: Job, *, now: datetime | None = None) -> dict[str, int]:
    """The job's progress counts (PROGRESS_FIELDS) computed from its rows: its annotations read in one pass (three
    conditional distinct counts), its tasks, batches and handed-in batch tasks, the scoring progress, the photos
    left, the speed and the annotations per day up to `now`; eight queries. What services/job_progress.py stores
    and its repair recomputes."""
    task = "batch_task__task"
    counts = Annotation.objects.filter(batch_task__task__job=job).aggregate(
        n_annotated=Count(task, distinct=True, filter=Q(deleted=False, was_cancelled=False)),
        n_reviewed=Count(task, distinct=True, filter=Q(review_state__in=[ReviewState.ACCEPTED, ReviewState.REWORK])),
        n_accepted=Count(task, distinct=True, filter=Q(review_state=ReviewState.ACCEPTED)))
    tasks = Task.objects.filter(job=job).aggregate(n_tasks=Count("id"),
                                                   n_gold=Count("id", filter=Q(gold_result__isnull=False)))
    batches = Batch.objects.filter(job=job).aggregate(n_batches=Count("id"),
                                                      n_published=Count("id", filter=Q(published_at__isnull=False)))
    handed_in = (BatchTask.objects.filter(batch__job=job, batch__state__in=HANDED_IN_STATES)
                 .aggregate(n_handed_in=Count("task", distinct=True)))
    scored, scorable = job_scoring_progress(job)
    found = {**counts, **tasks, **batches, **handed_in, "n_scored": scored, "n_scorable": scorable,
             "n_left": photos_left(job), "seconds_per_photo": seconds_per_photo(job_id=job.pk),
             "photos_per_day": _photos_per_day_live(job, now=now or timezone.now(), days=PER_DAY_KEPT)}
    return {name: found[name] for name in PROGRESS_FIELDS}


def photos_left(job: Job) -> int:
    """The job's photos without an accepted (live) annotation on a work batch: what the forecast says is left to
    do, and the photos a delivery would miss (deliveries.accepted_annotations reads the same annotations)."""
    accepted = Annotation.objects.filter(batch_task__batch__job=job, batch_task__is_gold=False, was_cancelled=False,
                                         review_state=ReviewState.ACCEPTED, deleted=False).values("batch_task__task_id")
    return Task.objects.filter(job=job).exclude(pk__in=accepted).count()


def job_with_progress(pk: int) -> Job | None:
    """One job with the counts jobs_with_progress gives each job plus n_scored of n_scorable, read from its stored
    JobProgress row in the same query (computed live when it has none): the job page's progress."""
    job = Job.objects.select_related("progress").filter(pk=pk).first()
    if job is None:
        return None
    stored = getattr(job, "progress", None)
    values = ({name: getattr(stored, name) for name in PROGRESS_FIELDS} if stored is not None
              else job_progress_live(job))
    for name, value in values.items():
        setattr(job, name, value)
    return job


def progress_rows(*, job: Job) -> QuerySet[BatchTask]:
    """One row per task of the job's batches, for the progress CSV."""
    return (BatchTask.objects.filter(batch__job=job)
            .select_related("batch__assigned_to__user", "task")
            .annotate(n_annotations=Count("annotations", filter=Q(annotations__deleted=False)))
            .order_by("batch__number", "id"))


def job_scoring_progress(job: Job) -> tuple[int, int]:
    """(scored, scorable): the live annotations on the job's gold photos that have a score against their photo's
    current gold, of all of them (the gold's own source excluded: it is not scored). Read from the scores the
    scoring tasks write, so a re-score's progress shows as it runs; one query."""
    newer = GoldVersion.objects.filter(task_id=OuterRef("gold__task_id"), version__gt=OuterRef("gold__version"))
    on_current = QualityScore.objects.filter(annotation_id=OuterRef("pk")).filter(~Exists(newer))
    is_gold_source = GoldVersion.objects.filter(source_annotation_id=OuterRef("pk"))
    counts = (Annotation.objects.filter(batch_task__batch__job=job, deleted=False, was_cancelled=False,
                                        batch_task__task__gold_result__isnull=False)
              .filter(~Exists(is_gold_source))
              .aggregate(scorable=Count("id"), scored=Count("id", filter=Q(Exists(on_current)))))
    return counts["scored"], counts["scorable"]


def _bar(done: int, total: int) -> dict[str, int]:
    """A progress bar's numbers: done of total and the whole percent reached (100 only when all is done)."""
    return {"n": done, "of": total, "pct": done * 100 // total if total else 0}


def job_progress(job: Job) -> dict:
    """The job page's progress bars and the background work's, as the page shows them and its poller reads them
    (JSON-ready): `job` from job_with_progress (its n_scored of n_scorable included); two queries.

    The work's progress is derived from the rows its Celery tasks write, not from Celery's task meta: batches
    published of the job's batches, scores on the current gold of the annotations to score, each import run's
    and each delivery's own counters. "running" is true while any of them has work left; "watch" names the
    imports and deliveries still running."""
    scored, scorable = job.n_scored, job.n_scorable
    imports = {str(run.pk): import_run_progress(run) for run in import_runs_recent(job=job)}
    deliveries = {str(d["number"]): {**d, "state_label": DeliveryState(d["state"]).label}
                  for d in delivery_progress(job)}
    bars = {
        "annotated": _bar(job.n_annotated, job.n_tasks), "handed_in": _bar(job.n_handed_in, job.n_tasks),
        "reviewed": _bar(job.n_reviewed, job.n_tasks), "accepted": _bar(job.n_accepted, job.n_tasks),
        "gold": _bar(job.n_gold, job.n_tasks),
        "published": _bar(job.n_published, job.n_batches), "scored": _bar(scored, scorable),
    }
    # Imports and deliveries change much of the page when they end: the poller reloads it once one of these leaves.
    watch = [f"import-{pk}" for pk, run in imports.items() if not run["finished"]] + [
        f"delivery-{number}" for number, d in deliveries.items()
        if d["state"] in (DeliveryState.QUEUED, DeliveryState.RUNNING)]
    return {
        "bars": bars, "imports": imports, "deliveries": deliveries, "watch": watch,
        "publishing": job.n_published < job.n_batches, "scoring": scored < scorable,
        "running": bool(watch) or job.n_published < job.n_batches or scored < scorable,
    }


def seconds_per_photo(*, job_id: int | None) -> float | None:
    """The median Label Studio lead time of the latest SPEED_SAMPLE submitted annotations of the job (of any job
    for None); None without any."""
    live = Annotation.objects.filter(deleted=False, was_cancelled=False, lead_time__gt=0)
    if job_id is not None:
        live = live.filter(batch_task__batch__job_id=job_id)
    times = list(live.order_by("-ls_created_at").values_list("lead_time", flat=True)[:SPEED_SAMPLE])
    return float(median(times)) if times else None


def _photos_per_day_live(job: Job, *, now: datetime, days: int) -> dict[str, int]:
    since = datetime.combine(last_days(days=days, now=now)[0], datetime.min.time(), tzinfo=UTC)
    return {day.isoformat(): n for day, n in
            Annotation.objects.filter(batch_task__batch__job=job, deleted=False, was_cancelled=False,
                                      ls_created_at__gte=since)
            .annotate(day=TruncDate("ls_created_at", tzinfo=UTC)).order_by().values("day")
            .annotate(n=Count("id")).values_list("day", "n")}


def job_photos_per_day(job: Job, *, now: datetime, days: int = 30) -> list[tuple[date, int]]:
    """Annotations submitted on the job per UTC day over the last `days` days (0 on a day without any), by Label
    Studio's creation time: from the stored row of a job_with_progress job (refreshed by every change to the
    job's annotations, so a day after the refresh had none), else one aggregated query."""
    per_day = getattr(job, "photos_per_day", None)
    if per_day is None or days > PER_DAY_KEPT:
        per_day = _photos_per_day_live(job, now=now, days=days)
    return [(day, per_day.get(day.isoformat(), 0)) for day in last_days(days=days, now=now)]

"""Reads of jobs for the staff console: progress counts and the progress CSV's rows."""
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from annotations.models import Annotation, Batch, BatchTask, Job, ReviewState, Task


def _per_job(rows: QuerySet, job_field: str, counted: str) -> Coalesce:
    """COUNT(DISTINCT counted) of `rows` for the outer job, as a correlated subquery: each count reads only its own
    rows, instead of one GROUP BY over the product of tasks x batch tasks x annotations x batches."""
    return Coalesce(Subquery(rows.filter(**{job_field: OuterRef("pk")}).order_by().values(job_field)
                             .annotate(n=Count(counted, distinct=True)).values("n")[:1]), 0)


def jobs_with_progress() -> QuerySet[Job]:
    """Per job: tasks, annotated, reviewed, accepted and gold tasks, and batches - one query for all jobs, each
    count a subquery over its own rows (measured on seed_scale's 10,000-task job: see the README)."""
    live = Annotation.objects.filter(deleted=False, was_cancelled=False)
    task = "batch_task__task"
    return Job.objects.annotate(
        n_tasks=_per_job(Task.objects.all(), "job", "id"),
        n_gold=_per_job(Task.objects.filter(gold_result__isnull=False), "job", "id"),
        n_batches=_per_job(Batch.objects.all(), "job", "id"),
        n_annotated=_per_job(live, f"{task}__job", task),
        n_reviewed=_per_job(Annotation.objects.filter(review_state__in=[ReviewState.ACCEPTED, ReviewState.REWORK]),
                            f"{task}__job", task),
        n_accepted=_per_job(Annotation.objects.filter(review_state=ReviewState.ACCEPTED), f"{task}__job", task),
    ).order_by("-created_at")


def job_with_progress(pk: int) -> Job | None:
    """One job with the counts jobs_with_progress gives each job (n_tasks ... n_accepted), its annotations read in
    one pass (three conditional distinct counts) instead of three subqueries: the job page."""
    job = Job.objects.filter(pk=pk).first()
    if job is None:
        return None
    task = "batch_task__task"
    counts = Annotation.objects.filter(batch_task__task__job=job).aggregate(
        n_annotated=Count(task, distinct=True, filter=Q(deleted=False, was_cancelled=False)),
        n_reviewed=Count(task, distinct=True, filter=Q(review_state__in=[ReviewState.ACCEPTED, ReviewState.REWORK])),
        n_accepted=Count(task, distinct=True, filter=Q(review_state=ReviewState.ACCEPTED)))
    tasks = job.tasks.aggregate(n_tasks=Count("id"), n_gold=Count("id", filter=Q(gold_result__isnull=False)))
    for name, value in {**counts, **tasks, "n_batches": job.batches.count()}.items():
        setattr(job, name, value)
    return job


def progress_rows(*, job: Job) -> QuerySet[BatchTask]:
    """One row per task of the job's batches, for the progress CSV."""
    return (BatchTask.objects.filter(batch__job=job)
            .select_related("batch__assigned_to__user", "task")
            .annotate(n_annotations=Count("annotations", filter=Q(annotations__deleted=False)))
            .order_by("batch__number", "id"))

"""Reads of jobs for the staff console: progress counts and the progress CSV's rows."""
from django.db.models import Count, Q, QuerySet

from annotations.models import BatchTask, Job, ReviewState


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


def progress_rows(*, job: Job) -> QuerySet[BatchTask]:
    """One row per task of the job's batches, for the progress CSV."""
    return (BatchTask.objects.filter(batch__job=job)
            .select_related("batch__assigned_to__user", "task")
            .annotate(n_annotations=Count("annotations", filter=Q(annotations__deleted=False)))
            .order_by("batch__number", "id"))

"""Reads of the agreement between annotators of a job's photos, for the job page and review."""
from django.db.models import F, QuerySet

from annotations.models import Job, PhotoAgreement

SHOWN = 20


def job_agreements(job: Job) -> QuerySet[PhotoAgreement]:
    """The job's photos with an agreement, the least agreed first (by mean IoU, then photo key)."""
    return (PhotoAgreement.objects.filter(task__job=job).select_related("task")
            .order_by(F("iou").asc(nulls_first=True), "task__key"))

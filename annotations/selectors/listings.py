"""Reads for the public job listings: the jobs open for applications."""
from django.db.models import QuerySet

from annotations.models import Job


def listed_jobs() -> QuerySet[Job]:
    """Jobs open for applications, newest first."""
    return Job.objects.filter(listed=True).order_by("-created_at", "-pk")


def listed_job(pk: int) -> Job | None:
    return listed_jobs().filter(pk=pk).first()

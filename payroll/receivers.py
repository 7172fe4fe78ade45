"""Reactions of the payroll app to other apps' events."""
from decimal import Decimal
from typing import Any

from django.dispatch import receiver

from annotations.models import Job
from annotations.services.jobs import job_created
from payroll.services.terms import pay_terms_open


@receiver(job_created)
def on_job_created(sender: Any, *, job: Job, hourly_rate: Decimal | None, weekly_cap_hours: Decimal | None,
                   **kwargs: Any) -> None:
    # Inside job_create's transaction: a job is never without its opening terms, and refused terms refuse the job.
    pay_terms_open(job=job, hourly_rate=hourly_rate, weekly_cap_hours=weekly_cap_hours)

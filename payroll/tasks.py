"""Celery entry points of payroll: thin, idempotent shells around services."""
from celery import shared_task

from payroll.services import timesheets


@shared_task
def close_pay_weeks() -> int:
    """Monday 00:00 UTC (and hourly as a catch-up): submit the drafts of ended weeks, notify reviewers."""
    return timesheets.close_pay_weeks()

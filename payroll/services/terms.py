"""A job's pay terms: its opening terms when it is made, then changes effective from a moment on, never backwards."""
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from annotations.models import Job
from common.errors import DomainError
from payroll.models import PayTermsChange
from payroll.selectors.terms import pay_terms_default
from workforce.models import User

OPENING_REASON = "The job's terms when it was made."


def _check_terms(*, hourly_rate: Decimal, weekly_cap_hours: Decimal) -> None:
    if hourly_rate < Decimal("0.01") or hourly_rate.as_tuple().exponent < -2:
        raise DomainError("hourly_rate: a positive amount in cents, e.g. 2.00.", field="hourly_rate")
    if not Decimal(1) <= weekly_cap_hours <= Decimal(60) or (weekly_cap_hours * 60) % 1:
        raise DomainError("weekly_cap_hours: between 1 and 60 hours, in whole minutes.", field="weekly_cap_hours")


@transaction.atomic
def pay_terms_open(*, job: Job, hourly_rate: Decimal | None = None,
                   weekly_cap_hours: Decimal | None = None) -> PayTermsChange:
    """The job's opening terms, dated with its creation: the given rate and cap, else the configured defaults."""
    default = pay_terms_default()
    hourly_rate = default.hourly_rate if hourly_rate is None else hourly_rate
    weekly_cap_hours = default.weekly_cap_hours if weekly_cap_hours is None else weekly_cap_hours
    _check_terms(hourly_rate=hourly_rate, weekly_cap_hours=weekly_cap_hours)
    return PayTermsChange.objects.create(job=job, effective_from=None, hourly_rate=hourly_rate,
                                         weekly_cap_hours=weekly_cap_hours, reason=OPENING_REASON,
                                         created_by=job.created_by, created_at=job.created_at)


@transaction.atomic
def pay_terms_change(*, job: Job, effective_from: datetime, hourly_rate: Decimal, weekly_cap_hours: Decimal,
                     reason: str, actor: User, now: datetime | None = None) -> PayTermsChange:
    """Schedule new terms for a job. The moment may not be in the past: pay already earned keeps its rate."""
    now = now or timezone.now()
    if effective_from.tzinfo is None:
        raise DomainError("effective_from: give a time with its timezone.", field="effective_from")
    effective_from = effective_from.replace(second=0, microsecond=0)
    if effective_from < now.replace(second=0, microsecond=0):
        raise DomainError("effective_from: a rate change cannot start in the past; pay for past work is "
                          "corrected with an adjustment.", field="effective_from")
    _check_terms(hourly_rate=hourly_rate, weekly_cap_hours=weekly_cap_hours)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reason: say why the terms change.", field="reason")
    Job.objects.select_for_update().get(pk=job.pk)
    if PayTermsChange.objects.filter(job=job, effective_from=effective_from).exists():
        raise DomainError("effective_from: the job already has a change from that moment.", field="effective_from")
    return PayTermsChange.objects.create(job=job, effective_from=effective_from, hourly_rate=hourly_rate,
                                         weekly_cap_hours=weekly_cap_hours, reason=reason[:500], created_by=actor)

"""Changes of a job's hourly rate and weekly cap, effective from a moment on, never backwards."""
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from annotations.models import Job
from common.errors import DomainError
from payroll.models import PayTermsChange
from workforce.models import User


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
    if hourly_rate < Decimal("0.01") or hourly_rate.as_tuple().exponent < -2:
        raise DomainError("hourly_rate: a positive amount in cents, e.g. 2.00.", field="hourly_rate")
    if not Decimal(1) <= weekly_cap_hours <= Decimal(60) or (weekly_cap_hours * 60) % 1:
        raise DomainError("weekly_cap_hours: between 1 and 60 hours, in whole minutes.", field="weekly_cap_hours")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reason: say why the terms change.", field="reason")
    Job.objects.select_for_update().get(pk=job.pk)
    if PayTermsChange.objects.filter(job=job, effective_from=effective_from).exists():
        raise DomainError("effective_from: the job already has a change from that moment.", field="effective_from")
    return PayTermsChange.objects.create(job=job, effective_from=effective_from, hourly_rate=hourly_rate,
                                         weekly_cap_hours=weekly_cap_hours, reason=reason[:500], created_by=actor)

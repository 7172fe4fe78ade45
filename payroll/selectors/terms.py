"""A job's pay terms (hourly rate, weekly cap, currency) in force at a moment, and their history.

Every job has its opening terms (the PayTermsChange without an effective moment, written when the job
was made) and any later changes; a job without them is an error, never a silent default.
"""
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import F, Q, QuerySet

from annotations.models import Job
from payroll.models import PayTermsChange

OLDEST_FIRST = F("effective_from").asc(nulls_first=True)  # the opening terms, then the changes in time order


class MissingPayTerms(LookupError):
    """A job without opening terms: it was made around job_create, which writes them."""


@dataclass(frozen=True)
class PayTerms:
    hourly_rate: Decimal
    weekly_cap_hours: Decimal
    currency: str
    effective_from: datetime | None  # None: the job's opening terms, from its start

    @property
    def cap_minutes(self) -> int:
        return int(self.weekly_cap_hours * 60)


def pay_terms_default() -> PayTerms:
    """The terms a new job opens with unless its maker gives others: the one place the defaults are read
    (settings DEFAULT_HOURLY_RATE_USD and DEFAULT_WEEKLY_CAP_HOURS)."""
    return PayTerms(Decimal(settings.DEFAULT_HOURLY_RATE_USD), Decimal(settings.DEFAULT_WEEKLY_CAP_HOURS),
                    settings.PAYROLL_CURRENCY, None)


def _terms(change: PayTermsChange) -> PayTerms:
    return PayTerms(change.hourly_rate, change.weekly_cap_hours, settings.PAYROLL_CURRENCY, change.effective_from)


def pay_terms_of_jobs(*, jobs: Iterable[Job], moment: datetime) -> dict[int, PayTerms]:
    """Each job's rate and cap in force at `moment`: its latest change from before then, else its opening terms.
    One query for any number of jobs."""
    ids = {job.pk for job in jobs}
    terms: dict[int, PayTerms] = {}
    changes = (PayTermsChange.objects.filter(Q(effective_from__isnull=True) | Q(effective_from__lte=moment),
                                             job_id__in=ids).order_by(OLDEST_FIRST))
    for change in changes:  # oldest first, so each job ends with the terms in force at `moment`
        terms[change.job_id] = _terms(change)
    if missing := ids - terms.keys():
        raise MissingPayTerms(f"Jobs without opening pay terms: {sorted(missing)}.")
    return terms


def pay_terms_at(*, job: Job, moment: datetime) -> PayTerms:
    """The job's rate and cap in force at `moment`."""
    return pay_terms_of_jobs(jobs=[job], moment=moment)[job.pk]


def pay_terms_history(*, job: Job) -> list[PayTerms]:
    """The job's opening terms, then every change in time order."""
    history = [_terms(change) for change in job.pay_terms_changes.order_by(OLDEST_FIRST)]
    if not history or history[0].effective_from is not None:
        raise MissingPayTerms(f"Job {job.pk} has no opening pay terms.")
    return history


def pay_terms_changes(*, job: Job) -> QuerySet[PayTermsChange]:
    """The changes made to the job's opening terms, oldest first, with who made them."""
    return (job.pay_terms_changes.filter(effective_from__isnull=False).select_related("created_by")
            .order_by("effective_from"))

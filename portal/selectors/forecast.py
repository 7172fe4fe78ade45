"""A job's forecast: when it finishes and what the rest costs, from the crew's real speed and weekly caps.

`forecast()` is the arithmetic on plain numbers; `job_forecast()` reads them for a job. The model, as the job
page states it:
* photos left: the job's photos without an accepted mask, times the annotators each photo gets (1 today; the
  "what if" tries others);
* hidden gold rides along: each photo left brings `gold_rate` more photos to label;
* time per photo: the median Label Studio lead time of the job's latest submitted annotations (its last
  SPEED_SAMPLE), else of any job's; without any, no forecast;
* crew: every active contractor works up to the job's weekly cap: in this pay week what the cap leaves them (cap
  minus the hours they logged), in each later week the whole cap, spread evenly over the week; the "what if" adds
  contractors at the whole cap;
* cost: the hours times the job's hourly rate in force now, rounded half-up to cents.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from annotations.selectors.jobs import photos_left, seconds_per_photo
from payroll.selectors.cap import minutes_logged_by_contractor
from payroll.selectors.terms import pay_terms_at
from payroll.selectors.weeks import week_start_utc
from workforce.models import Contractor, OnboardingState

WEEK = timedelta(days=7)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Forecast:
    photos_left: int
    annotators_per_photo: int
    photos_to_label: Decimal  # photos left x annotators x (1 + gold rate)
    seconds_per_photo: float | None
    hours_needed: Decimal
    contractors: int
    hours_this_week: Decimal  # what the crew's caps leave this pay week
    hours_per_week: Decimal  # the crew's caps in a whole week
    finish_at: datetime | None  # None: nothing to do, no speed known yet, or no crew
    cost: Decimal  # of the hours needed, in the job's currency
    currency: str


def forecast(*, photos_left: int, annotators_per_photo: int, gold_rate: Decimal, seconds_per_photo: float | None,
             contractors: int, hours_this_week: Decimal, hours_per_week: Decimal, hourly_rate: Decimal,
             currency: str, now: datetime, week_end: datetime) -> Forecast:
    """When the photos left are labelled and what that costs, walking the pay weeks from `now`."""
    to_label = Decimal(photos_left) * annotators_per_photo * (1 + gold_rate)
    hours = Decimal(0) if seconds_per_photo is None else to_label * Decimal(str(seconds_per_photo)) / 3600
    finish = None
    if photos_left and seconds_per_photo is not None:
        if hours <= hours_this_week and hours_this_week > 0:
            finish = now + (week_end - now) * float(hours / hours_this_week)
        elif hours_per_week > 0:
            finish = week_end + WEEK * float((hours - hours_this_week) / hours_per_week)
    return Forecast(photos_left=photos_left, annotators_per_photo=annotators_per_photo, photos_to_label=to_label,
                    seconds_per_photo=seconds_per_photo, hours_needed=hours, contractors=contractors,
                    hours_this_week=hours_this_week, hours_per_week=hours_per_week, finish_at=finish,
                    cost=(hours * hourly_rate).quantize(CENT, rounding=ROUND_HALF_UP), currency=currency)


def _seconds_per_photo(job: object) -> float | None:
    """The job's speed (stored on a job_with_progress job, else read), else any job's."""
    speed = getattr(job, "seconds_per_photo", None) if hasattr(job, "n_left") else seconds_per_photo(job_id=job.pk)
    return speed if speed is not None else seconds_per_photo(job_id=None)


def job_forecast(*, job: object, now: datetime, extra_contractors: int = 0,
                 annotators_per_photo: int = 1) -> Forecast:
    """The forecast of `job` at `now`; the what-if adds contractors or annotators per photo."""
    terms = pay_terms_at(job=job, moment=now)
    week_start = week_start_utc(now)
    cap_minutes = int(terms.weekly_cap_hours * 60)
    crew = Contractor.objects.filter(state=OnboardingState.ACTIVE, anonymized_at__isnull=True)
    # Payroll's reading of the week's minutes, the crew passed as a subquery (one query, no list of their ids).
    logged = minutes_logged_by_contractor(crew, week_start=week_start)
    left_minutes = sum(max(cap_minutes - minutes, 0) for minutes in logged.values())
    left_minutes += extra_contractors * cap_minutes
    contractors = len(logged) + extra_contractors
    # job_with_progress's job carries the count (from its stored progress row); any other job is counted here.
    left = getattr(job, "n_left", None)
    return forecast(photos_left=photos_left(job) if left is None else left,
                    annotators_per_photo=annotators_per_photo, gold_rate=job.gold_rate,
                    seconds_per_photo=_seconds_per_photo(job), contractors=contractors,
                    hours_this_week=Decimal(left_minutes) / 60,
                    hours_per_week=terms.weekly_cap_hours * contractors, hourly_rate=terms.hourly_rate,
                    currency=terms.currency, now=now, week_end=week_start + WEEK)

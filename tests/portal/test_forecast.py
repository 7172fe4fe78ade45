"""The job page's forecast: the arithmetic on hand-computed cases, a job's forecast on a fixed history, and the
page with its "what if"."""
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from annotations.models import Annotation, BatchTask, ReviewState, Task
from payroll.services.entries import time_entry_create
from portal.selectors.forecast import forecast, job_forecast
from tests.factories import batch_assigned, contractor_in_state, job_plain, staff_user
from workforce.models import OnboardingState

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # a Wednesday noon: the pay week ends Monday 7 December 00:00
WEEK_END = datetime(2026, 12, 7, tzinfo=UTC)


def plain(**changes: object) -> dict:
    return {"photos_left": 100, "annotators_per_photo": 1, "gold_rate": Decimal("0.1"), "seconds_per_photo": 360.0,
            "contractors": 2, "hours_this_week": Decimal(20), "hours_per_week": Decimal(40),
            "hourly_rate": Decimal("2.00"), "currency": "USD", "now": NOW, "week_end": WEEK_END, **changes}


def test_work_that_fits_this_week_finishes_within_it_in_proportion() -> None:
    # 100 photos + 10 % gold = 110 to label x 6 min = 11 h of the 20 h the caps leave over the 3.5 days left.
    found = forecast(**plain())
    assert (found.photos_to_label, found.hours_needed) == (Decimal("110.0"), Decimal(11))
    assert found.finish_at == NOW + (WEEK_END - NOW) * (11 / 20)
    assert found.cost == Decimal("22.00")


def test_work_beyond_this_week_walks_whole_weeks_of_the_crews_caps() -> None:
    # 1,000 photos, no gold, 6 min = 100 h: 20 h this week, then 80 h at 40 h a week = 2 weeks after it.
    found = forecast(**plain(photos_left=1000, gold_rate=Decimal(0)))
    assert found.finish_at == WEEK_END + timedelta(days=14)
    assert found.cost == Decimal("200.00")
    tripled = forecast(**plain(photos_left=1000, gold_rate=Decimal(0), annotators_per_photo=3))
    assert tripled.hours_needed == Decimal(300)
    assert tripled.finish_at == WEEK_END + timedelta(days=7 * 280 / 40)
    assert tripled.cost == Decimal("600.00")


def test_without_speed_crew_or_work_there_is_no_date_and_cost_rounds_half_up() -> None:
    assert forecast(**plain(seconds_per_photo=None)).finish_at is None
    assert forecast(**plain(hours_this_week=Decimal(0), hours_per_week=Decimal(0))).finish_at is None
    assert forecast(**plain(photos_left=0)).finish_at is None
    # 1 photo x 9 s = 0.0025 h x USD 2.00 = 0.005: half-up to 0.01.
    assert forecast(**plain(photos_left=1, gold_rate=Decimal(0), seconds_per_photo=9.0)).cost == Decimal("0.01")


def _photo(job: object, n: int) -> Task:
    return Task.objects.create(job=job, key=f"p{n}", image_path=f"p{n}.jpg", image_sha256=uuid.uuid4().hex,
                               width=8, height=8)


@pytest.mark.django_db
def test_a_jobs_forecast_reads_its_speed_the_crews_caps_and_moves_as_work_is_accepted() -> None:
    job = job_plain(hourly_rate=Decimal("2.00"), weekly_cap_hours=Decimal("20"), gold_rate=Decimal("0"))
    ana = contractor_in_state(OnboardingState.ACTIVE)
    contractor_in_state(OnboardingState.ACTIVE)
    contractor_in_state(OnboardingState.APPLIED)  # not working: not counted
    batch = batch_assigned(ana, job=job, since=NOW - timedelta(days=1))
    photos = [_photo(job, n) for n in range(10)]
    made = []
    for n, (photo, seconds) in enumerate(zip(photos[:3], (100.0, 300.0, 200.0), strict=True)):
        bt = BatchTask.objects.create(batch=batch, task=photo)
        made.append(Annotation.objects.create(ls_annotation_id=50_000 + n, batch_task=bt, contractor=ana,
                                              lead_time=seconds, ls_created_at=NOW - timedelta(hours=n)))
    time_entry_create(contractor=ana, batch=batch, start=NOW - timedelta(hours=3), end=NOW - timedelta(hours=1),
                      actor=ana.user, now=NOW)

    found = job_forecast(job=job, now=NOW)
    assert found.seconds_per_photo == 200.0  # the median of 100, 300 and 200 s
    assert (found.photos_left, found.contractors) == (10, 2)
    assert found.hours_this_week == Decimal(38)  # 20 h each, less the 2 h Ana logged
    assert found.hours_per_week == Decimal(40)
    assert found.hours_needed == Decimal(10) * 200 / 3600
    assert found.cost == (Decimal(10) * 200 / 3600 * 2).quantize(Decimal("0.01"))

    Annotation.objects.filter(pk=made[0].pk).update(review_state=ReviewState.ACCEPTED)
    moved = job_forecast(job=job, now=NOW)
    assert moved.photos_left == 9
    assert moved.finish_at < found.finish_at
    more = job_forecast(job=job, now=NOW, extra_contractors=2, annotators_per_photo=3)
    assert (more.contractors, more.hours_per_week, more.hours_this_week) == (4, Decimal(80), Decimal(78))
    assert more.hours_needed == 3 * moved.hours_needed


@pytest.mark.django_db
def test_the_job_page_shows_the_forecast_and_a_what_if_and_refuses_bad_input_plainly() -> None:
    job = job_plain()
    staff = Client()
    staff.force_login(staff_user())
    page = staff.get(f"/console/jobs/{job.pk}/").content.decode()
    assert "Forecast" in page
    asked = staff.get(f"/console/jobs/{job.pk}/", {"extra_contractors": "3", "annotators_per_photo": "2"})
    assert asked.status_code == 200
    assert asked.context["forecast_if"].annotators_per_photo == 2
    assert "What if:" in asked.content.decode()
    wrong = staff.get(f"/console/jobs/{job.pk}/", {"extra_contractors": "-1", "annotators_per_photo": "9"})
    assert wrong.status_code == 200
    assert wrong.context["forecast_if"] is None
    assert set(wrong.context["what_if"].errors) == {"extra_contractors", "annotators_per_photo"}

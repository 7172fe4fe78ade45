"""Charts on the quality pages and the capacity board: a contractor's quality week by week (their own page and the
staff page) and the crew's hours this week against the cap."""
import re
from collections.abc import Callable
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from annotations.selectors.capacity import CapacityRow, crew_hours
from annotations.services.jobs import job_create
from tests.annotations.conftest import SCORES_START
from tests.annotations.test_quality_pages import client_of
from tests.factories import contractor_in_state, staff_user
from workforce.models import Contractor, OnboardingState

pytestmark = pytest.mark.django_db


def chart_rows(html: str, title: str) -> dict[str, str]:
    table = re.search(rf'<table data-chart="{title}">(.*?)</table>', html, re.S).group(1)
    return dict(re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", table))


def _monday(days_ago: int) -> str:
    day = (timezone.now() - timedelta(days=days_ago)).astimezone(UTC).date()
    return f"{day - timedelta(days=day.weekday()):%Y-%m-%d}"


def _minutes_since_start(days_ago: int) -> int:
    """score()'s `minutes` for work done `days_ago` days ago (it counts minutes from SCORES_START)."""
    return int((timezone.now() - timedelta(days=days_ago) - SCORES_START).total_seconds() // 60)


def test_a_contractor_and_staff_see_the_mean_score_of_each_week(score: Callable) -> None:
    ana = contractor_in_state(OnboardingState.ACTIVE, display_name="Ana")
    bo = contractor_in_state(OnboardingState.ACTIVE, display_name="Bo")
    score(ana, 0.9, minutes=_minutes_since_start(15))
    score(ana, 0.5, minutes=_minutes_since_start(15) + 1)
    score(ana, None, minutes=_minutes_since_start(1))  # no defect in gold nor answer: counts 1
    score(ana, 0.1, minutes=_minutes_since_start(200))  # long ago: outside the chart
    score(bo, 0.2, minutes=_minutes_since_start(1))  # someone else's

    staff = Client()
    staff.force_login(staff_user())
    for html in (client_of(ana).get("/quality/").content.decode(),
                 staff.get(f"/console/quality/{ana.pk}/").content.decode()):
        weeks = chart_rows(html, "Quality on gold, week by week")
        assert len(weeks) == 9
        assert weeks[_monday(15)] == "0.70"
        assert weeks[_monday(1)] == "1"
        assert [v for w, v in weeks.items() if w not in (_monday(15), _monday(1))] == ["—"] * 7
        assert 'role="img"' in html
        assert "pause below" in html


def test_the_capacity_board_charts_the_crews_hours_against_the_cap() -> None:
    job, _ = job_create(name="Screens", client="c", instructions="i", specs=[], image_source="t", actor=None,
                        weekly_cap_hours=Decimal("20"))
    for _ in range(3):
        contractor_in_state(OnboardingState.ACTIVE)
    staff = Client()
    staff.force_login(staff_user())
    html = staff.get(f"/console/jobs/{job.pk}/capacity/").content.decode()
    buckets = chart_rows(html, "Hours this week against the cap")
    assert buckets == {"0-4 h": "3", "4-8 h": "0", "8-12 h": "0", "12-16 h": "0", "16-20 h": "0",
                       "at the cap (20 h)": "0"}
    assert "3 active contractors logged 0 of their 60 capped hours" in html


def _row(logged: str, cap: str = "20") -> CapacityRow:
    return CapacityRow(contractor_id=1, name="x", agreements_accepted=True, quality=None, cap=Decimal(cap),
                       logged=Decimal(logged), reserved=Decimal(0), remaining=Decimal(0), hours_per_task=Decimal(1),
                       open_batches=0)


def test_crew_hours_count_each_contractor_in_the_range_of_their_hours_and_at_the_cap_from_it_on() -> None:
    crew = crew_hours([_row(h) for h in ("0", "3.99", "4", "10", "19.99", "20", "23")])
    assert crew.buckets == [("0-4 h", 2), ("4-8 h", 1), ("8-12 h", 1), ("12-16 h", 0), ("16-20 h", 1),
                            ("at the cap (20 h)", 2)]
    assert (crew.logged, crew.capacity, crew.contractors) == (Decimal("80.98"), Decimal(140), 7)
    assert crew_hours([]).buckets[-1] == ("at the cap (0 h)", 0)


def test_a_contractor_sees_no_one_elses_quality_chart(score: Callable) -> None:
    ana: Contractor = contractor_in_state(OnboardingState.ACTIVE)
    bo: Contractor = contractor_in_state(OnboardingState.ACTIVE)
    score(bo, 0.3, minutes=_minutes_since_start(2))
    weeks = chart_rows(client_of(ana).get("/quality/").content.decode(), "Quality on gold, week by week")
    assert set(weeks.values()) == {"—"}

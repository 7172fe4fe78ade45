"""Time only where the work was: while the contractor held the batch (give or take the grace) and in the current or
the previous pay week; anything else is refused with the reason, by the service, the /pay/ page and the API."""
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import override_settings
from rest_framework.test import APIClient

from annotations import batch_life
from annotations.models import Batch, BatchState
from annotations.services.assignment import batch_reclaim
from annotations.services.hand_in import batch_hand_in
from common.errors import DomainError
from payroll.models import TimeEntry
from payroll.services.entries import time_entry_create
from tests.factories import batch_assigned, contractor_in_state
from tests.payroll.conftest import at
from tests.payroll.test_views import client_for
from workforce.models import Contractor, OnboardingState

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_w46")]
ENTRIES = "/api/v1/payroll/me/time-entries/"
ASSIGNED = at(3, 9)  # Tuesday of W45, the week before the clock's (in_w46)


@pytest.fixture
def batch(contractor: Contractor) -> Batch:
    return batch_assigned(contractor, since=ASSIGNED)


def log(contractor: Contractor, batch: Batch, start: datetime, end: datetime) -> list[TimeEntry]:
    return time_entry_create(contractor=contractor, batch=batch, start=start, end=end, actor=contractor.user)


def handed_in(batch: Batch, contractor: Contractor, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        batch_life.transition(batch=batch, to_state=BatchState.IN_PROGRESS, started_at=at)
        batch_hand_in(batch=batch, contractor=contractor)


@pytest.mark.parametrize("year", [2020, 1])
def test_logging_into_a_past_year_is_refused_by_the_api_and_the_page(contractor: Contractor, batch: Batch,
                                                                     year: int) -> None:
    start = datetime(year, 6, 1, 9, 0, tzinfo=UTC) if year > 1 else datetime(1, 1, 1, 9, 0, tzinfo=UTC)
    api = APIClient()
    api.force_login(contractor.user)
    response = api.post(ENTRIES, {"batch": batch.pk, "start": start.isoformat(),
                                  "end": (start + timedelta(hours=1)).isoformat()}, format="json")
    assert response.status_code == 400, response.content
    assert "previous one" in str(response.json()["start"])
    page = client_for(contractor.user).post("/pay/entries/", {
        "batch": str(batch.pk), "date": start.date().isoformat(), "start_time": "09:00", "end_time": "10:00",
        "note": "", "week": "2026-W46"})
    assert page.status_code == 200
    assert "this pay week or the previous one" in page.content.decode()
    assert not TimeEntry.objects.exists()


def test_an_entry_before_the_assignment_is_refused_naming_when_it_was_assigned(contractor: Contractor,
                                                                              batch: Batch) -> None:
    with pytest.raises(DomainError, match=r"start: this is before you held batch #1 \(assigned 2026-11-03 09:00 UTC"):
        log(contractor, batch, at(3, 7), at(3, 9))
    assert not TimeEntry.objects.exists()


def test_an_entry_inside_the_grace_is_accepted_and_one_beyond_it_is_refused(contractor: Contractor,
                                                                            batch: Batch) -> None:
    handed_in(batch, contractor, at(4, 12))
    with pytest.raises(DomainError, match=r"end: this is after you held batch #1 \(handed in 2026-11-04 12:00 UTC"):
        log(contractor, batch, at(4, 11), at(4, 12, 31))
    [inside] = log(contractor, batch, at(4, 11), at(4, 12, 30))  # 30 minutes' grace after the hand-in
    assert inside.minutes == 90
    with pytest.raises(DomainError, match=r"start: this is after you held batch #1 \(handed in"):
        log(contractor, batch, at(4, 14), at(4, 15))
    assert TimeEntry.objects.count() == 1


def test_the_grace_is_a_setting(contractor: Contractor, batch: Batch) -> None:
    handed_in(batch, contractor, at(4, 12))
    with override_settings(TIME_ENTRY_GRACE_MINUTES=0), pytest.raises(DomainError, match="end: this is after"):
        log(contractor, batch, at(4, 11), at(4, 12, 1))
    with override_settings(TIME_ENTRY_GRACE_MINUTES=120):
        assert log(contractor, batch, at(4, 11), at(4, 13, 30))[0].minutes == 150


def test_after_a_reclaim_the_former_holder_cannot_log_later_time(contractor: Contractor, batch: Batch) -> None:
    with time_machine.travel(at(5, 8), tick=False):
        batch_reclaim(batch=batch, actor=None, reason="not started")
    assert log(contractor, batch, at(5, 7), at(5, 8))[0].minutes == 60  # while held: still theirs to log
    with pytest.raises(DomainError, match=r"taken back 2026-11-05 08:00 UTC"):
        log(contractor, batch, at(5, 9), at(5, 10))


def test_an_entry_in_the_previous_week_while_held_is_accepted_and_two_weeks_back_is_refused(
        contractor: Contractor) -> None:
    early = batch_assigned(contractor, since=at(1, 0) - timedelta(days=7))
    [previous] = log(contractor, early, at(3, 9), at(3, 10))  # W45: the clock is in W46
    assert previous.minutes == 60
    with pytest.raises(DomainError, match=r"start: time can be logged only in this pay week or the previous one, "
                                          r"from 2026-W45"):
        log(contractor, early, at(1, 9) - timedelta(days=1), at(1, 10) - timedelta(days=1))  # W44
    assert TimeEntry.objects.count() == 1


def test_another_contractors_batch_gives_no_time(contractor: Contractor, batch: Batch) -> None:
    other = contractor_in_state(OnboardingState.ACTIVE)
    with pytest.raises(DomainError, match="batch: you can only log time on a batch assigned to you"):
        log(other, batch, at(4, 9), at(4, 10))

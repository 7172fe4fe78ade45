"""Refusals and states in the contractor's language (issue #18, plain words): what the services refuse reaches a
Spanish contractor in Spanish beside the field it names, and batch and timesheet states are Spanish words; the
API's `field` stays the same in every language."""
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.utils import translation

from annotations import batch_life
from annotations.models import Batch, BatchState
from payroll.models import TimeEntry, TimesheetState
from payroll.selectors.evidence import timesheet_flags
from payroll.services.entries import time_entry_create
from tests.factories import batch_assigned, contractor_in_state
from workforce.models import Contractor, OnboardingState
from workforce.services.profile import contractor_ui_language_set

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_w46")]


def spanish(message: str, **values: object) -> str:
    with translation.override("es"):
        translated = translation.gettext(message)
    assert translated != message, f"{message!r} has no Spanish translation"
    return translated % values if values else translated


def state(choice: BatchState | TimesheetState) -> str:
    with translation.override("es"):
        return str(choice.label)


@pytest.fixture
def lucia() -> Contractor:
    contractor = contractor_in_state(OnboardingState.ACTIVE, timezone_name="UTC")
    return contractor_ui_language_set(contractor=contractor, language="es")


@pytest.fixture
def batch(lucia: Contractor) -> Batch:
    return batch_assigned(lucia)


@pytest.fixture
def client(lucia: Contractor) -> Client:
    client = Client()
    client.force_login(lucia.user)
    return client


def test_an_overlapping_entry_is_refused_in_spanish_beside_the_start_time(lucia: Contractor, batch: Batch,
                                                                          client: Client) -> None:
    time_entry_create(contractor=lucia, batch=batch, start=datetime(2026, 11, 4, 9, tzinfo=UTC),
                      end=datetime(2026, 11, 4, 11, tzinfo=UTC), actor=lucia.user)
    response = client.post("/pay/entries/", {"batch": str(batch.pk), "date": "2026-11-04", "start_time": "10:00",
                                             "end_time": "12:00", "note": "", "week": "2026-W45"})
    assert response.status_code == 200
    errors = response.context["entry_form"].errors["start_time"]
    assert errors == [spanish("overlaps your entry from %(start)s to %(end)s UTC.",
                              start="2026-11-04 09:00", end="11:00")]
    assert "overlaps" not in response.content.decode()
    assert TimeEntry.objects.count() == 1
    # The week's state beside it is a Spanish word too.
    assert state(TimesheetState.DRAFT) == "Borrador"
    assert f'data-testid="timesheet-state">{state(TimesheetState.DRAFT)}<' in response.content.decode()


def test_the_api_keeps_the_field_of_a_refusal_whatever_the_language(lucia: Contractor, batch: Batch,
                                                                   client: Client) -> None:
    response = client.post("/api/v1/payroll/me/time-entries/", {"batch": batch.pk, "start": "2026-11-04T10:00:00Z",
                                                        "end": "2026-11-04T10:00:00Z"},
                           content_type="application/json", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["detail", "end"]
    assert body["detail"] == "end: " + spanish("must be at least one minute after start.")


def test_a_batch_handed_in_twice_is_refused_in_spanish_with_its_state_in_spanish(batch: Batch,
                                                                                client: Client) -> None:
    # Its first annotation has come in from Label Studio (what moves a batch on from "assigned").
    batch_life.transition(batch=batch, to_state=BatchState.IN_PROGRESS, reason="first annotation synced")
    handed = client.post(f"/batches/{batch.pk}/hand-in/", follow=True).content.decode()
    assert spanish("%(job)s, batch %(number)s: handed in for review.", job=batch.job.name,
                   number=batch.number) in handed
    assert f'data-testid="batch-state">{state(BatchState.HANDED_IN)}<' in handed
    assert state(BatchState.HANDED_IN) == "Entregado"

    again = client.post(f"/batches/{batch.pk}/hand-in/", follow=True).content.decode()
    assert spanish("Batch #%(number)s is %(state)s; there is nothing to hand in.", number=batch.number,
                   state="entregado") in again
    assert "nothing to hand in" not in again


def test_the_reviewers_flags_on_pay_are_in_spanish_and_stay_english_for_staff(lucia: Contractor, batch: Batch,
                                                                              client: Client) -> None:
    time_entry_create(contractor=lucia, batch=batch, start=datetime(2026, 11, 4, 9, tzinfo=UTC),
                      end=datetime(2026, 11, 4, 11, tzinfo=UTC), actor=lucia.user)  # 2 h, no annotation synced
    html = client.get("/pay/", {"week": "2026-W45"}).content.decode()
    assert spanish("no annotations") in html
    assert ">no annotations<" not in html
    with translation.override("en"):  # staff pages, exports and the API by default read it in English
        assert timesheet_flags(minutes=120, evidence=None) == ["no annotations"]

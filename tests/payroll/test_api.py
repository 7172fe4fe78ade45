"""The contractor's payroll API under /api/v1/payroll/me/: entries, timer, timesheets, statements."""
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from annotations.models import Annotation, Batch, BatchTask, Task
from payroll.models import RunningTimer, TimeEntry, Timesheet, TimesheetState
from tests.factories import batch_assigned, contractor_in_state, staff_user
from tests.payroll.test_views import log, paid_statement, utc
from workforce.models import Contractor, OnboardingState, User

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_w46")]
ENTRIES = "/api/v1/payroll/me/time-entries/"
TIMER = "/api/v1/payroll/me/timer/"


def api_for(user: User, **kwargs: bool) -> APIClient:
    client = APIClient(**kwargs)
    client.force_login(user)
    return client


@pytest.fixture
def contractor() -> Contractor:
    return contractor_in_state(OnboardingState.ACTIVE, timezone_name="Asia/Tokyo")


@pytest.fixture
def batch(contractor: Contractor) -> Batch:
    return batch_assigned(contractor)


@pytest.fixture
def api(contractor: Contractor) -> APIClient:
    return api_for(contractor.user)


def entry(batch: Batch, start: str = "2026-11-04T09:00:00+09:00", end: str = "2026-11-04T10:30:00+09:00",
          **extra: Any) -> dict[str, Any]:
    return {"batch": batch.pk, "start": start, "end": end, "note": "", **extra}


# --- logging time ---------------------------------------------------------------------------------

def test_an_entry_with_an_offset_is_stored_in_utc(api: APIClient, batch: Batch) -> None:
    response = api.post(ENTRIES, entry(batch, note="first pass"), format="json")
    assert response.status_code == 201, response.json()
    [row] = response.json()
    assert row["start"] == "2026-11-04T00:00:00Z"
    assert row["end"] == "2026-11-04T01:30:00Z"
    assert (row["minutes"], row["hours"], row["hourly_rate"], row["week"]) == (90, "1.50", "2.00", "2026-W45")
    assert row["batch"] == batch.pk
    assert TimeEntry.objects.get().note == "first pass"


def test_an_entry_crossing_monday_comes_back_as_one_entry_per_week(api: APIClient, batch: Batch) -> None:
    response = api.post(ENTRIES, entry(batch, "2026-11-08T23:30:00Z", "2026-11-09T00:30:00Z"), format="json")
    assert response.status_code == 201
    assert [(r["week"], r["minutes"]) for r in response.json()] == [("2026-W45", 30), ("2026-W46", 30)]
    assert [r["start"] for r in api.get(ENTRIES, {"week": "2026-W46"}).json()] == ["2026-11-09T00:00:00Z"]


LONG = "x" * 501


@pytest.mark.parametrize(("change", "field"), [
    ({"batch": None}, "batch"),
    ({"batch": "seven"}, "batch"),
    ({"batch": 0}, "batch"),
    ({"batch": 999_999}, "batch"),
    ({"start": "yesterday"}, "start"),
    ({"start": "2026-11-04T09:00:00"}, "start"),  # no offset: which 09:00?
    ({"end": None}, "end"),
    ({"end": "2026-11-04T08:00:00+09:00"}, "end"),  # before the start
    ({"end": "2026-11-04T09:00:00+09:00"}, "end"),  # empty
    ({"end": "2099-01-01T00:00:00Z"}, "end"),  # future
    ({"end": "2026-11-04T21:01:00+09:00"}, "end"),  # over 12 hours
    ({"note": LONG}, "note"),
    ({"note": "a\u202eb"}, "note"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_saved(api: APIClient, batch: Batch, change: dict,
                                                                    field: str) -> None:
    response = api.post(ENTRIES, {**entry(batch), **change}, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not TimeEntry.objects.exists()
    assert not Timesheet.objects.exists()


def test_a_body_that_is_not_an_object_is_refused(api: APIClient, batch: Batch) -> None:
    assert api.post(ENTRIES, [entry(batch)], format="json").status_code == 400
    assert not TimeEntry.objects.exists()


def test_a_batch_never_held_is_forbidden(api: APIClient) -> None:
    someone_elses = batch_assigned(contractor_in_state(OnboardingState.ACTIVE))
    response = api.post(ENTRIES, entry(someone_elses), format="json")
    assert response.status_code == 403
    assert "batch" in response.json()
    assert not TimeEntry.objects.exists()


def test_an_overlap_and_a_locked_week_are_conflicts(api: APIClient, contractor: Contractor, batch: Batch) -> None:
    assert api.post(ENTRIES, entry(batch), format="json").status_code == 201
    overlap = api.post(ENTRIES, entry(batch, "2026-11-04T10:00:00+09:00", "2026-11-04T11:00:00+09:00"),
                       format="json")
    assert overlap.status_code == 409
    assert "overlaps" in overlap.json()["start"][0]
    Timesheet.objects.update(state=TimesheetState.SUBMITTED)
    locked = api.post(ENTRIES, entry(batch, "2026-11-05T10:00:00+09:00", "2026-11-05T11:00:00+09:00"),
                      format="json")
    assert locked.status_code == 409
    assert "2026-W45 is submitted" in locked.json()["detail"]
    assert TimeEntry.objects.count() == 1


def test_an_entry_past_the_cap_is_a_conflict_with_the_minutes_left(api: APIClient, contractor: Contractor,
                                                                   batch: Batch) -> None:
    log(contractor, batch, utc(2, 0), utc(2, 12))
    log(contractor, batch, utc(3, 0), utc(3, 7, 50))
    response = api.post(ENTRIES, entry(batch, "2026-11-04T00:00:00Z", "2026-11-04T00:11:00Z"), format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["remaining_minutes"] == 10
    assert "10 minutes left" in body["end"][0]
    assert TimeEntry.objects.count() == 2
    assert api.post(ENTRIES, entry(batch, "2026-11-04T00:00:00Z", "2026-11-04T00:10:00Z"),
                    format="json").status_code == 201


def test_the_list_shows_the_weeks_own_entries_only(api: APIClient, contractor: Contractor, batch: Batch) -> None:
    log(contractor, batch, utc(4, 0), utc(4, 1))
    log(contractor, batch, utc(10, 0), utc(10, 1))
    other = contractor_in_state(OnboardingState.ACTIVE)
    log(other, batch_assigned(other), utc(4, 0), utc(4, 2))
    rows = api.get(ENTRIES, {"week": "2026-W45"}).json()
    assert [(r["start"], r["minutes"]) for r in rows] == [("2026-11-04T00:00:00Z", 60)]
    assert [r["start"] for r in api.get(ENTRIES).json()] == ["2026-11-10T00:00:00Z"]  # the current week, W46
    bad = api.get(ENTRIES, {"week": "2026-48"})
    assert bad.status_code == 400
    assert "week" in bad.json()


def test_own_entries_can_be_deleted_and_others_are_not_found(api: APIClient, contractor: Contractor,
                                                             batch: Batch) -> None:
    [mine] = log(contractor, batch, utc(4, 0), utc(4, 1))
    other = contractor_in_state(OnboardingState.ACTIVE)
    [theirs] = log(other, batch_assigned(other), utc(4, 0), utc(4, 2))
    assert api.delete(f"{ENTRIES}{theirs.pk}/").status_code == 404
    assert TimeEntry.objects.filter(pk=theirs.pk).exists()
    assert api.delete(f"{ENTRIES}{mine.pk}/").status_code == 204
    assert not TimeEntry.objects.filter(pk=mine.pk).exists()
    assert Timesheet.objects.get(contractor=contractor).work_minutes == 0


# --- timer ------------------------------------------------------------------------------------------

def test_the_timer_starts_once_and_stopping_logs_its_span(api: APIClient, batch: Batch) -> None:
    assert api.get(TIMER).json() == {"running": False, "batch": None, "started_at": None}
    started = api.post(TIMER, {"batch": batch.pk}, format="json")
    assert started.status_code == 201
    assert started.json()["running"] is True
    twice = api.post(TIMER, {"batch": batch.pk}, format="json")
    assert twice.status_code == 409
    assert "already running" in twice.json()["batch"][0]
    RunningTimer.objects.update(started_at=timezone.now() - timedelta(minutes=42))
    stopped = api.delete(TIMER)
    assert stopped.status_code == 200
    assert sum(e["minutes"] for e in stopped.json()["entries"]) == 42
    assert stopped.json()["message"] == "Logged 0:42 h."
    assert api.delete(TIMER).status_code == 409


@pytest.mark.parametrize(("body", "status"), [({}, 400), ({"batch": "x"}, 400), ({"batch": 999_999}, 400)])
def test_a_timer_on_no_batch_is_refused(api: APIClient, body: dict, status: int) -> None:
    response = api.post(TIMER, body, format="json")
    assert response.status_code == status
    assert "batch" in response.json()
    assert not RunningTimer.objects.exists()


# --- timesheets and statements ------------------------------------------------------------------

def _annotation(contractor: Contractor, batch: Batch, n: int, seconds: float) -> None:
    task = Task.objects.create(job=batch.job, key=f"photo-{n}", image_path=f"p/{n}.jpg", image_sha256=f"{n:064d}",
                               width=10, height=10)
    Annotation.objects.create(ls_annotation_id=n, batch_task=BatchTask.objects.create(batch=batch, task=task),
                              contractor=contractor, lead_time=seconds, ls_created_at=utc(4, 3))


def test_timesheets_come_newest_first_with_totals_evidence_and_flags(api: APIClient, contractor: Contractor,
                                                                     batch: Batch) -> None:
    log(contractor, batch, utc(4, 0), utc(4, 2))  # W45: 2 h against 30 min in Label Studio
    log(contractor, batch, utc(10, 0), utc(10, 0, 17))  # W46: no annotation
    _annotation(contractor, batch, 1, 900.0)
    _annotation(contractor, batch, 2, 900.0)
    body = api.get("/api/v1/payroll/me/timesheets/").json()
    assert body["count"] == 2
    newest, older = body["results"]
    assert (newest["week"], newest["work_minutes"]) == ("2026-W46", 17)
    assert newest["earned"] == "0.57"
    assert newest["flags"] == ["no annotations"]
    assert (older["week"], older["hours"], older["earned"], older["state"]) == ("2026-W45", "2.00", "4.00", "draft")
    assert (older["annotation_count"], older["label_studio_active_hours"]) == (2, "0.50")
    assert older["flags"] == ["logged more than 1.5x Label Studio time"]
    assert older["week_start"] == "2026-11-02T00:00:00Z"


def test_a_week_is_submitted_once(api: APIClient, contractor: Contractor, batch: Batch) -> None:
    log(contractor, batch, utc(4, 0), utc(4, 1))
    response = api.post("/api/v1/payroll/me/timesheets/2026-W45/submit/")
    assert response.status_code == 200
    assert response.json()["state"] == "submitted"
    assert api.post("/api/v1/payroll/me/timesheets/2026-W45/submit/").status_code == 409
    assert api.post("/api/v1/payroll/me/timesheets/2026-W44/submit/").status_code == 404
    bad = api.post("/api/v1/payroll/me/timesheets/last-week/submit/")
    assert bad.status_code == 400
    assert "week" in bad.json()


def test_statements_are_listed_and_read_by_their_contractor_only(api: APIClient, contractor: Contractor,
                                                                 batch: Batch) -> None:
    statement = paid_statement(contractor, batch, staff_user())
    listing = api.get("/api/v1/payroll/me/statements/").json()
    assert [(s["id"], s["week"], s["payable"], s["currency"]) for s in listing["results"]] == [
        (statement.pk, "2026-W45", "3.00", "USD")]
    detail = api.get(f"/api/v1/payroll/me/statements/{statement.pk}/").json()
    assert (detail["hours"], detail["earned"], detail["carried_out"]) == ("1.50", "3.00", "0.00")
    assert [e["minutes"] for e in detail["entries"]] == [90]
    stranger = api_for(contractor_in_state(OnboardingState.ACTIVE).user)
    assert stranger.get(f"/api/v1/payroll/me/statements/{statement.pk}/").status_code == 404
    assert stranger.get("/api/v1/payroll/me/statements/").json()["count"] == 0


# --- who may call -------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [ENTRIES, TIMER, "/api/v1/payroll/me/timesheets/", "/api/v1/payroll/me/statements/"])
def test_staff_accounts_have_no_own_payroll_and_anonymous_callers_none(url: str) -> None:
    assert api_for(staff_user()).get(url).status_code == 404
    assert APIClient().get(url).status_code == 403


def test_writes_without_a_csrf_token_are_refused(contractor: Contractor, batch: Batch) -> None:
    api = api_for(contractor.user, enforce_csrf_checks=True)
    assert api.post(ENTRIES, entry(batch), format="json").status_code == 403
    assert api.post(TIMER, {"batch": batch.pk}, format="json").status_code == 403
    assert not TimeEntry.objects.exists()
    assert not RunningTimer.objects.exists()


def test_the_schema_builds_without_warnings(api: APIClient, tmp_path: Path) -> None:
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"),
                 stdout=StringIO(), stderr=StringIO())
    schema = (tmp_path / "schema.yaml").read_text()
    for path in ("/api/v1/payroll/me/time-entries/", "/api/v1/payroll/me/timer/",
                 "/api/v1/payroll/me/timesheets/{week}/submit/", "/api/v1/payroll/me/statements/{id}/"):
        assert path in schema, path
    assert api.get("/api/schema/").status_code == 403  # staff only (tests/test_api_docs.py)


def test_a_running_week_cannot_be_submitted_and_the_refusal_names_the_week(api: APIClient, contractor: Contractor,
                                                                           batch: Batch) -> None:
    log(contractor, batch, utc(10, 0), utc(10, 1))  # W46, running on the test clock (Wednesday 11 November)
    refused = api.post("/api/v1/payroll/me/timesheets/2026-W46/submit/")
    assert refused.status_code == 400
    assert "has not ended yet" in " ".join(refused.json()["week"])
    assert Timesheet.objects.get(week_start=utc(9, 0)).state == TimesheetState.DRAFT
    with time_machine.travel(utc(16, 0, 1), tick=False):  # Monday 00:00:01 UTC: W46 has ended
        assert api.post("/api/v1/payroll/me/timesheets/2026-W46/submit/").status_code == 200
    assert Timesheet.objects.get(week_start=utc(9, 0)).state == TimesheetState.SUBMITTED

"""The staff payroll API: review a week, decide, adjust, run pay runs, change pay terms; staff only."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from annotations.models import Job
from payroll.models import PayRun, Statement, TimeEntry, Timesheet, TimesheetState
from payroll.selectors.terms import pay_terms_changes
from payroll.selectors.weeks import WEEK, week_name, week_start_utc
from payroll.services.timesheets import timesheet_decide
from tests.factories import job_plain, staff_user
from tests.payroll.test_console import last_week, worked_week
from workforce.models import User

pytestmark = pytest.mark.django_db
S = TimesheetState
API = "/api/v1/payroll"


def client_for(user: User | None, **kwargs: bool) -> APIClient:
    client = APIClient(**kwargs)
    if user:
        client.force_login(user)
    return client


@pytest.fixture
def staff() -> User:
    return staff_user()


@pytest.fixture
def staff_api(staff: User) -> APIClient:
    return client_for(staff)


def _endpoints(timesheet: Timesheet, run: PayRun, job: Job) -> list[tuple[str, str]]:
    week = week_name(timesheet.week_start)
    return [
        ("get", f"{API}/weeks/{week}/timesheets/"), ("get", f"{API}/timesheets/{timesheet.pk}/"),
        ("post", f"{API}/timesheets/{timesheet.pk}/approve/"), ("post", f"{API}/timesheets/{timesheet.pk}/reject/"),
        ("post", f"{API}/adjustments/"), ("post", f"{API}/pay-runs/"), ("get", f"{API}/pay-runs/{run.pk}/"),
        ("get", f"{API}/pay-runs/{run.pk}/statements/"),
        ("get", f"{API}/jobs/{job.pk}/terms/"), ("post", f"{API}/jobs/{job.pk}/terms/"),
    ]


def test_contractors_and_anonymous_visitors_get_403_everywhere(staff: User) -> None:
    timesheet = worked_week()
    run = PayRun.objects.create(week_start=timesheet.week_start, minimum_payout=0, created_by=staff)
    job = Job.objects.get()
    body = {"reason": "x", "contractor": timesheet.contractor_id, "job": job.pk, "minutes": 30,
            "week": week_name(timesheet.week_start), "effective_from": "2999-01-04T00:00:00Z", "hourly_rate": "9",
            "weekly_cap_hours": "20"}
    for client in (client_for(timesheet.contractor.user), client_for(None)):
        for method, url in _endpoints(timesheet, run, job):
            response = getattr(client, method)(url, body, format="json") if method == "post" else client.get(url)
            assert response.status_code == 403, (method, url)
            assert "detail" in response.json()
    timesheet.refresh_from_db()
    assert timesheet.state == S.SUBMITTED
    assert not TimeEntry.objects.filter(kind="adjustment").exists()
    assert not pay_terms_changes(job=job).exists()
    assert PayRun.objects.count() == 1


def test_a_session_post_without_the_csrf_token_is_refused(staff: User) -> None:
    timesheet = worked_week()
    strict = client_for(staff, enforce_csrf_checks=True)
    response = strict.post(f"{API}/timesheets/{timesheet.pk}/approve/", format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    timesheet.refresh_from_db()
    assert timesheet.state == S.SUBMITTED


# --- the week ---------------------------------------------------------------------------------

def test_week_list_gives_hours_pay_evidence_and_flags_and_filters(staff_api: APIClient) -> None:
    clean = worked_week(minutes=150, annotations=3, display_name="Ana", country="PE")
    flagged = worked_week(annotations=0)
    draft = worked_week(submit=False)
    week = week_name(last_week())
    body = staff_api.get(f"{API}/weeks/{week}/timesheets/").json()
    assert body["count"] == 3
    row = next(r for r in body["results"] if r["id"] == clean.pk)
    assert row["contractor"] == {"id": clean.contractor_id, "name": "Ana", "email": clean.contractor.user.email,
                                 "country": "PE", "timezone": "America/Sao_Paulo", "payout_method": "paypal"}
    assert {k: row[k] for k in ("week", "state", "work_minutes", "adjustment_minutes", "hours", "hmm",
                                "hourly_rates", "earned", "annotation_count", "active_hours", "flags")} == {
        "week": week, "state": "submitted", "work_minutes": 150, "adjustment_minutes": 0, "hours": "2.50",
        "hmm": "2:30", "hourly_rates": ["2.00"], "earned": "5.00", "annotation_count": 3, "active_hours": "2.50",
        "flags": []}
    only_flagged = staff_api.get(f"{API}/weeks/{week}/timesheets/", {"flagged": "true"}).json()
    assert [r["id"] for r in only_flagged["results"]] == [flagged.pk]
    assert only_flagged["results"][0]["flags"] == ["no annotations"]
    drafts = staff_api.get(f"{API}/weeks/{week}/timesheets/", {"state": "draft"}).json()
    assert [r["id"] for r in drafts["results"]] == [draft.pk]


@pytest.mark.parametrize(("week", "query", "field"), [
    ("2026-48", {}, "week"), ("2026-W54", {}, "week"), ("2026-W47", {"state": "done"}, "state"),
    ("2026-W47", {"flagged": "perhaps"}, "flagged"),
])
def test_a_bad_week_or_filter_is_a_400_naming_it(staff_api: APIClient, week: str, query: dict, field: str) -> None:
    response = staff_api.get(f"{API}/weeks/{week}/timesheets/", query)
    assert response.status_code == 400
    assert field in response.json()


def _list(client: APIClient, week: str, **query: str) -> tuple[dict, list[str]]:
    """The week list's answer and the SQL it ran."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"{API}/weeks/{week}/timesheets/", query)
    assert response.status_code == 200
    return response.json(), [q["sql"] for q in captured]


def test_week_list_pages_in_sql_with_the_same_queries_for_3_and_30_timesheets(staff_api: APIClient) -> None:
    week = week_name(last_week())
    for _ in range(3):
        worked_week()
    few_body, few = _list(staff_api, week)
    assert few_body["count"] == len(few_body["results"]) == 3
    flagged = [worked_week(annotations=0) for _ in range(2)]
    for _ in range(25):
        worked_week(annotations=2)
    body, many = _list(staff_api, week)
    assert len(many) == len(few)
    # The timesheets are read a page at a time in SQL (a page of 50 ends at the 30th row), not the whole week
    # before paging.
    assert any("LIMIT 30" in sql for sql in many)
    assert body["count"] == len(body["results"]) == 30
    in_contractor_order = Timesheet.objects.filter(week_start=last_week()).order_by("contractor_id")
    assert [r["id"] for r in body["results"]] == list(in_contractor_order.values_list("id", flat=True))
    only_flagged, flagged_queries = _list(staff_api, week, flagged="true")
    assert (only_flagged["count"], [r["id"] for r in only_flagged["results"]]) == (2, [t.pk for t in flagged])
    assert len(flagged_queries) == len(many)
    assert staff_api.get(f"{API}/weeks/{week}/timesheets/", {"page": 2}).status_code == 404  # one page of 50


# --- one timesheet ----------------------------------------------------------------------------

def test_timesheet_detail_has_entries_and_its_audit_trail(staff_api: APIClient) -> None:
    timesheet = worked_week(minutes=45)
    body = staff_api.get(f"{API}/timesheets/{timesheet.pk}/").json()
    assert body["submitted_by"] == timesheet.contractor.user.email
    assert body["decided_by"] is None
    [entry] = body["entries"]
    assert (entry["kind"], entry["minutes"], entry["hourly_rate"], entry["note"], entry["end"] is not None) == (
        "work", 45, "2.00", "painted scratches", True)
    assert staff_api.get(f"{API}/timesheets/999999/").status_code == 404


def test_approve_locks_the_week_and_a_second_approval_is_a_409(staff: User, staff_api: APIClient) -> None:
    timesheet = worked_week()
    response = staff_api.post(f"{API}/timesheets/{timesheet.pk}/approve/", format="json")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["decided_by"]) == ("approved", staff.email)
    again = staff_api.post(f"{API}/timesheets/{timesheet.pk}/approve/", format="json")
    assert again.status_code == 409
    assert "approved, not waiting for review" in again.json()["detail"]


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 1001}])
def test_reject_without_a_usable_reason_is_a_400_naming_reason_and_changes_nothing(
    staff_api: APIClient, body: dict,
) -> None:
    timesheet = worked_week()
    response = staff_api.post(f"{API}/timesheets/{timesheet.pk}/reject/", body, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()
    timesheet.refresh_from_db()
    assert (timesheet.state, timesheet.rejection_reason) == (S.SUBMITTED, "")


def test_reject_with_a_reason_reopens_the_week(staff_api: APIClient) -> None:
    timesheet = worked_week()
    response = staff_api.post(f"{API}/timesheets/{timesheet.pk}/reject/", {"reason": "Split Tuesday by batch."},
                              format="json")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["rejection_reason"]) == ("rejected", "Split Tuesday by batch.")


# --- adjustments ------------------------------------------------------------------------------

def test_adjustment_is_created_in_this_week_with_the_corrected_week(staff: User, staff_api: APIClient) -> None:
    timesheet = worked_week()
    job = Job.objects.get()
    week = week_name(timesheet.week_start)
    response = staff_api.post(f"{API}/adjustments/", {"contractor": timesheet.contractor_id, "job": job.pk,
                                                      "minutes": 30, "reason": "Friday was not logged",
                                                      "corrects_week": week}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["minutes"], body["corrects_week"], body["created_by"], body["batch"]) == (
        "adjustment", 30, week, staff.email, None)
    entry = TimeEntry.objects.get(pk=body["id"])
    assert entry.timesheet.week_start == week_start_utc(timezone.now())


@pytest.mark.parametrize(("change", "field"), [
    ({"contractor": 999999}, "contractor"), ({"job": None}, "job"), ({"minutes": 0}, "minutes"),
    ({"minutes": "half an hour"}, "minutes"), ({"minutes": 99999}, "minutes"), ({"minutes": -3601}, "minutes"),
    ({"reason": ""}, "reason"),
    ({"corrects_week": "2026-W99"}, "corrects_week"), ({"corrects_week": "THIS"}, "corrects_week"),
])
def test_a_bad_adjustment_is_a_400_naming_the_field_and_saves_nothing(
    staff_api: APIClient, change: dict, field: str,
) -> None:
    timesheet = worked_week()
    body = {"contractor": timesheet.contractor_id, "job": Job.objects.get().pk, "minutes": 30, "reason": "late",
            **change}
    if body.get("corrects_week") == "THIS":
        body["corrects_week"] = week_name(timezone.now())
    response = staff_api.post(f"{API}/adjustments/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not TimeEntry.objects.filter(kind="adjustment").exists()


# --- pay runs ---------------------------------------------------------------------------------

def test_pay_run_pays_once_and_a_second_run_says_nothing_to_pay(staff: User, staff_api: APIClient) -> None:
    paypal = worked_week(minutes=17 * 7)
    wise = worked_week(minutes=60, payout_method="wise", payout_email="wise@example.org")
    for timesheet in (paypal, wise):
        timesheet_decide(timesheet=timesheet, approve=True, actor=staff)
    week = week_name(paypal.week_start)
    response = staff_api.post(f"{API}/pay-runs/", {"week": week}, format="json")
    assert response.status_code == 201
    run = response.json()
    assert (run["week"], run["minimum_payout"], run["created_by"]) == (week, "0.00", staff.email)
    assert (run["earned"], run["payable"], run["carried_out"]) == ("5.97", "5.97", "0.00")
    assert run["by_method"] == [{"method": "paypal", "statements": 1, "payable": "3.97"},
                                {"method": "wise", "statements": 1, "payable": "2.00"}]
    assert run["statements"] == 2
    assert run["statements_url"] == f"http://testserver{API}/pay-runs/{run['id']}/statements/"
    listed = staff_api.get(run["statements_url"]).json()
    assert listed["count"] == 2
    assert [(s["contractor"], s["minutes"], s["hours"], s["payable"], s["payout_method"])
            for s in listed["results"]] \
        == [(paypal.contractor_id, 119, "1.98", "3.97", "paypal"), (wise.contractor_id, 60, "1.00", "2.00", "wise")]
    found = staff_api.get(run["statements_url"], {"q": wise.contractor.user.email.upper()}).json()
    assert [s["contractor"] for s in found["results"]] == [wise.contractor_id]
    assert staff_api.get(f"{API}/pay-runs/999999/statements/").status_code == 404
    again = staff_api.post(f"{API}/pay-runs/", {"week": week, "minimum_payout": "0"}, format="json")
    assert again.status_code == 200
    assert again.json() == {"detail": "Nothing to pay: no approved timesheet of the week is waiting for payment.",
                            "held": []}
    assert Statement.objects.count() == 2
    assert staff_api.get(f"{API}/pay-runs/{run['id']}/").json() == run
    assert staff_api.get(f"{API}/pay-runs/999999/").status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({}, "week"), ({"week": "W48"}, "week"), ({"week": "2026-W47", "minimum_payout": "-1"}, "minimum_payout"),
    ({"week": "2026-W47", "minimum_payout": "0.001"}, "minimum_payout"),
])
def test_a_bad_pay_run_is_a_400_naming_the_field(staff_api: APIClient, body: dict, field: str) -> None:
    response = staff_api.post(f"{API}/pay-runs/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not PayRun.objects.exists()


# --- pay terms --------------------------------------------------------------------------------

def test_pay_terms_history_and_a_change_from_next_monday(staff: User, staff_api: APIClient) -> None:
    job = job_plain()
    url = f"{API}/jobs/{job.pk}/terms/"
    assert staff_api.get(url).json() == [
        {"effective_from": None, "hourly_rate": "2.00", "weekly_cap_hours": "20.00", "currency": "USD"}]
    monday = week_start_utc(timezone.now()) + WEEK
    response = staff_api.post(url, {"effective_from": monday.isoformat(), "hourly_rate": "2.25",
                                    "weekly_cap_hours": "15.5", "reason": "New client terms"}, format="json")
    assert response.status_code == 201
    assert response.json()[-1] == {"effective_from": monday.isoformat().replace("+00:00", "Z"),
                                   "hourly_rate": "2.25", "weekly_cap_hours": "15.50", "currency": "USD"}
    change = pay_terms_changes(job=job).get()
    assert (change.reason, change.created_by, change.hourly_rate) == ("New client terms", staff, Decimal("2.25"))
    assert staff_api.get(f"{API}/jobs/999999/terms/").status_code == 404


@pytest.mark.parametrize(("change", "field"), [
    ({"effective_from": "PAST"}, "effective_from"), ({"effective_from": "next monday"}, "effective_from"),
    ({"hourly_rate": "0"}, "hourly_rate"), ({"hourly_rate": "2.005"}, "hourly_rate"),
    ({"weekly_cap_hours": "61"}, "weekly_cap_hours"), ({"reason": ""}, "reason"),
])
def test_a_bad_terms_change_is_a_400_naming_the_field(staff_api: APIClient, change: dict, field: str) -> None:
    job = job_plain()
    body = {"effective_from": "2999-01-04T00:00:00+00:00", "hourly_rate": "2.50", "weekly_cap_hours": "20",
            "reason": "budget", **change}
    if body["effective_from"] == "PAST":
        body["effective_from"] = (timezone.now() - timedelta(hours=1)).isoformat()
    response = staff_api.post(f"{API}/jobs/{job.pk}/terms/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not pay_terms_changes(job=job).exists()


def test_the_openapi_schema_documents_the_staff_payroll_endpoints(staff_api: APIClient) -> None:
    response = staff_api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for url, methods in {"/api/v1/payroll/weeks/{week}/timesheets/": {"get"},
                         "/api/v1/payroll/timesheets/{id}/": {"get"},
                         "/api/v1/payroll/timesheets/{id}/approve/": {"post"},
                         "/api/v1/payroll/timesheets/{id}/reject/": {"post"},
                         "/api/v1/payroll/adjustments/": {"post"}, "/api/v1/payroll/pay-runs/": {"post"},
                         "/api/v1/payroll/pay-runs/{id}/": {"get"},
                         "/api/v1/payroll/pay-runs/{id}/statements/": {"get"},
                         "/api/v1/payroll/jobs/{id}/terms/": {"get", "post"}}.items():
        assert set(paths[url]) >= methods, url
    assert set(paths["/api/v1/payroll/pay-runs/"]["post"]["responses"]) == {"200", "201"}

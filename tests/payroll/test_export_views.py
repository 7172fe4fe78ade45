"""Downloads: the weekly export for staff (console and API), payout files, a statement CSV for its owner."""
import csv
import io
from typing import Any

import openpyxl
import pytest
from django.http import FileResponse, StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIRequestFactory, force_authenticate

from payroll.api import TimesheetExportApi
from payroll.models import PayRun, Statement, Timesheet
from payroll.selectors.exports import XLSX_CONTENT_TYPE
from payroll.services.entries import time_entry_create
from payroll.services.payruns import pay_run_execute
from payroll.services.timesheets import timesheet_decide, timesheet_submit
from tests.export_tables import split
from tests.factories import batch_assigned, contractor_in_state
from tests.payroll.conftest import NOW, W48, W48_ENDED, at
from workforce.models import Contractor, OnboardingState, User

pytestmark = pytest.mark.django_db
Paid = tuple[Contractor, Contractor, PayRun]


@pytest.fixture
def paid(staff: User) -> Paid:
    """W48 of two contractors (one paid by PayPal, one by Wise), approved and paid."""
    ana = contractor_in_state(OnboardingState.ACTIVE, legal_name="Ana Souza")
    bo = contractor_in_state(OnboardingState.ACTIVE, legal_name="王小明", payout_method="wise",
                             payout_email="bo.wise@example.com")
    for contractor, minutes in ((ana, 119), (bo, 45)):
        time_entry_create(contractor=contractor, batch=batch_assigned(contractor), start=at(23, 8),
                          end=at(23, 8 + minutes // 60, minutes % 60), actor=contractor.user, now=NOW)
    for timesheet in Timesheet.objects.all():
        timesheet_submit(timesheet=timesheet, actor=staff, now=W48_ENDED)
        timesheet_decide(timesheet=timesheet, approve=True, actor=staff, now=NOW)
    run = pay_run_execute(week_start=W48, actor=staff)
    assert run is not None
    return ana, bo, run


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def body(response: StreamingHttpResponse | FileResponse) -> str:
    return b"".join(response.streaming_content).decode("utf-8")


def test_the_agreed_url_names_give_the_agreed_paths() -> None:
    assert reverse("payroll-files:export", kwargs={"week": "2026-W48", "fmt": "csv"}) == \
        "/console/payroll/weeks/2026-W48/export.csv"
    assert reverse("payroll-files:payout-file", kwargs={"pk": 7, "service": "wise"}) == \
        "/console/payroll/pay-runs/7/wise.csv"
    assert reverse("payroll-files:statement-csv", kwargs={"pk": 3}) == "/pay/statements/3.csv"


def test_staff_download_the_week_as_csv_with_or_without_bom(paid: Paid, staff: User) -> None:
    client = signed_in(staff)
    response = client.get(reverse("payroll-files:export", kwargs={"week": "2026-W48", "fmt": "csv"}))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="timesheets-2026-W48.csv"'
    _, _, rows, totals = split(list(csv.reader(io.StringIO(body(response)))))
    assert [row[1] for row in rows] == ["Ana Souza", "王小明"]
    assert totals["TOTAL paid"][14] == totals["TOTAL"][14] == "5.47"  # 3.97 + 1.50
    assert totals["TOTAL approved"][14] == "0.00"
    with_bom = client.get("/console/payroll/weeks/2026-W48/export.csv?bom=1")
    assert b"".join(with_bom.streaming_content).startswith(b"\xef\xbb\xbfexport,")


def test_the_download_keeps_only_the_states_asked_and_refuses_an_unknown_one(paid: Paid, staff: User) -> None:
    client = signed_in(staff)
    response = client.get("/console/payroll/weeks/2026-W48/export.csv?state=approved&state=submitted")
    scope, _, rows, totals = split(list(csv.reader(io.StringIO(body(response)))))
    assert (scope["timesheet_states"], rows) == ("approved; submitted only", [])
    assert list(totals) == ["TOTAL approved", "TOTAL submitted", "TOTAL"]
    refused = client.get("/console/payroll/weeks/2026-W48/export.xlsx?state=late")
    assert refused.status_code == 400
    assert "states: late is not a timesheet state" in refused.content.decode()


def test_staff_download_the_week_as_xlsx(paid: Paid, staff: User) -> None:
    response = signed_in(staff).get("/console/payroll/weeks/2026-W48/export.xlsx?entries=1")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert 'filename="timesheets-2026-W48.xlsx"' in response["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert book.sheetnames == ["Timesheets", "Entries"]
    _, _, rows, totals = split(list(book["Timesheets"].iter_rows(values_only=True)))
    assert [row[1] for row in rows] == ["Ana Souza", "王小明"]
    assert totals["TOTAL paid"][14] == 5.47


@pytest.mark.parametrize(("week", "words"), [("2026-48", "YYYY-Www"), ("2026-W60", "not a week of that year")])
def test_a_bad_week_is_a_400_that_says_why(staff: User, week: str, words: str) -> None:
    response = signed_in(staff).get(f"/console/payroll/weeks/{week}/export.csv")
    assert response.status_code == 400
    assert words in response.content.decode()


def test_an_unknown_format_or_service_is_not_found(paid: Paid, staff: User) -> None:
    _, _, run = paid
    client = signed_in(staff)
    assert client.get("/console/payroll/weeks/2026-W48/export.pdf").status_code == 404
    assert client.get(f"/console/payroll/pay-runs/{run.pk}/venmo.csv").status_code == 404
    assert client.get(f"/console/payroll/pay-runs/{run.pk + 1}/paypal.csv").status_code == 404


def test_staff_download_payout_files_that_total_the_statements(paid: Paid, staff: User) -> None:
    _, bo, run = paid
    client = signed_in(staff)
    paypal = client.get(reverse("payroll-files:payout-file", kwargs={"pk": run.pk, "service": "paypal"}))
    assert paypal["Content-Disposition"] == f'attachment; filename="paypal-2026-W48-pay-run-{run.pk}.csv"'
    [ana_line] = list(csv.reader(io.StringIO(body(paypal))))
    assert ana_line[1:3] == ["3.97", "USD"]
    wise = list(csv.reader(io.StringIO(body(client.get(f"/console/payroll/pay-runs/{run.pk}/wise.csv")))))
    assert wise[1][:2] == ["王小明", "bo.wise@example.com"]
    assert wise[1][5] == str(Statement.objects.get(contractor=bo).payable) == "1.50"


def test_contractors_cannot_download_exports_or_payout_files(paid: Paid) -> None:
    ana, _, run = paid
    urls = ["/console/payroll/weeks/2026-W48/export.csv", "/console/payroll/weeks/2026-W48/export.xlsx",
            f"/console/payroll/pay-runs/{run.pk}/paypal.csv", f"/console/payroll/pay-runs/{run.pk}/wise.csv"]
    contractor = signed_in(ana.user)
    assert [contractor.get(url).status_code for url in urls] == [403] * 4
    anonymous = Client()
    assert all(anonymous.get(url)["Location"].startswith("/accounts/login/") for url in urls)


def test_a_contractor_downloads_their_own_statement_and_no_one_elses(paid: Paid, staff: User) -> None:
    ana, bo, _ = paid
    own, other = Statement.objects.get(contractor=ana), Statement.objects.get(contractor=bo)
    client = signed_in(ana.user)
    response = client.get(reverse("payroll-files:statement-csv", kwargs={"pk": own.pk}))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="statement-2026-W48-{own.pk}.csv"'
    fields = dict(row for row in csv.reader(io.StringIO(body(response))) if len(row) == 2)
    assert (fields["contractor"], fields["payable"]) == ("Ana Souza", "3.97")
    assert client.get(f"/pay/statements/{other.pk}.csv").status_code == 404
    assert client.get(f"/pay/statements/{other.pk + own.pk + 1}.csv").status_code == 404
    assert signed_in(staff).get(f"/pay/statements/{other.pk}.csv").status_code == 200
    assert Client().get(f"/pay/statements/{own.pk}.csv")["Location"].startswith("/accounts/login/")


def api_get(user: User, week: str, **params: str) -> Any:
    request = APIRequestFactory().get(f"/api/v1/payroll/weeks/{week}/export", params)
    force_authenticate(request, user=user)
    response = TimesheetExportApi.as_view()(request, week=week)
    if hasattr(response, "render"):
        response.render()
    return response


def test_the_api_gives_staff_the_export_in_either_format(paid: Paid, staff: User) -> None:
    response = api_get(staff, "2026-W48", format="csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert body(response).splitlines()[-1].startswith("TOTAL,")
    xlsx = api_get(staff, "2026-W48", format="xlsx", entries="true", state="paid")
    assert xlsx["Content-Type"] == XLSX_CONTENT_TYPE
    book = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content)))
    assert book.sheetnames == ["Timesheets", "Entries"]
    assert split(list(book["Timesheets"].iter_rows(values_only=True)))[0]["timesheet_states"] == "paid only"


def test_the_api_names_the_bad_field_and_refuses_contractors(paid: Paid, staff: User) -> None:
    ana, _, _ = paid
    bad_week = api_get(staff, "2026-48", format="csv")
    assert bad_week.status_code == 400
    assert "YYYY-Www" in bad_week.data["week"][0]
    bad_format = api_get(staff, "2026-W48", format="pdf")
    assert bad_format.status_code == 400
    assert "csv or xlsx" in bad_format.data["format"][0]
    bad_state = api_get(staff, "2026-W48", format="csv", state="late")
    assert bad_state.status_code == 400
    assert "late is not a timesheet state" in bad_state.data["states"][0]
    assert api_get(ana.user, "2026-W48", format="csv").status_code == 403

"""Payroll in real Chromium: a reviewer approves the demo crew's week, runs the pay run and downloads the
CSV and XLSX export and both payout files; every file's total matches the statements to the cent."""
import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Sum
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from payroll.models import Statement, Timesheet, TimesheetState
from payroll.selectors.weeks import week_parse
from tests.e2e.test_console_flow import sign_in_as_staff
from tests.export_tables import split, split_csv

WEEK = "2026-W47"


def download(page: Page, link_name: str, folder: Path) -> Path:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name, exact=True).click()
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    return target


@pytest.mark.django_db(transaction=True)
def test_reviewer_approves_pays_and_downloads_files_that_agree_to_the_cent(
        page: Page, live_server: LiveServer, tmp_path: Path, artifacts: Path) -> None:
    call_command("load_demo_workforce", "--contractors", "6", "--week", WEEK, "--seed", "7")
    week_start = week_parse(WEEK)
    submitted = Timesheet.objects.filter(week_start=week_start, state=TimesheetState.SUBMITTED).count()
    assert submitted >= 4
    sign_in_as_staff(page, live_server, tmp_path)

    page.goto(f"{live_server.url}/console/payroll/?week={WEEK}")
    expect(page.get_by_role("heading", name=f"Payroll: week {WEEK}")).to_be_visible()
    boxes = page.get_by_role("checkbox", name=re.compile(r"^Select "))
    for i in range(boxes.count()):
        boxes.nth(i).check()
    page.get_by_role("button", name="Approve selected").click()
    # Flagged weeks are approved one by one, after a look.
    while page.get_by_role("button", name="Approve", exact=True).count():
        page.get_by_role("button", name="Approve", exact=True).first.click()
    expect(page.get_by_test_id("count-approved")).to_have_text(str(submitted))
    page.screenshot(path=str(artifacts / "payroll-week.png"), full_page=True)

    page.get_by_role("button", name=f"Run pay run for {WEEK}").click()
    expect(page).to_have_url(re.compile(r"/console/payroll/pay-runs/\d+/$"))
    page.screenshot(path=str(artifacts / "payroll-pay-run.png"), full_page=True)
    statements = Statement.objects.filter(timesheet__week_start=week_start)
    assert statements.count() == submitted
    payable = {method: statements.filter(payout_method=method).aggregate(s=Sum("payable"))["s"] or Decimal(0)
               for method in ("paypal", "wise")}
    assert sum(payable.values()) > 0

    paypal = download(page, "PayPal Payouts CSV", tmp_path).read_text(encoding="utf-8")
    assert sum(Decimal(row[1]) for row in csv.reader(io.StringIO(paypal))) == payable["paypal"]
    wise = list(csv.DictReader(io.StringIO(download(page, "Wise batch CSV", tmp_path).read_text(encoding="utf-8"))))
    assert sum(Decimal(row["amount"]) for row in wise) == payable["wise"]

    page.goto(f"{live_server.url}/console/payroll/?week={WEEK}")
    earned = statements.aggregate(s=Sum("earned"))["s"]
    # The export starts with its scope block; its TOTAL paid row is what the pay run's statements earned, and its
    # TOTAL adds every state's row, each of which adds its own timesheets.
    scope, header, rows, totals = split_csv(download(page, "CSV", tmp_path).read_text(encoding="utf-8"))
    amount, status = header.index("amount"), header.index("timesheet_status")
    assert (scope["iso_week"], scope["timesheet_states"]) == (WEEK, "paid; approved; submitted; rejected; draft "
                                                                    "(every state)")
    assert len(rows) == Timesheet.objects.filter(week_start=week_start).count()
    assert Decimal(totals["TOTAL paid"][amount]) == earned
    assert totals["TOTAL paid"][1] == f"paid: {statements.count()} timesheets"
    assert sum(Decimal(r[amount]) for r in rows if r[status] == "paid") == earned
    per_state = [label for label in totals if label != "TOTAL"]
    assert Decimal(totals["TOTAL"][amount]) == sum(Decimal(totals[label][amount]) for label in per_state)
    sheet = load_workbook(download(page, "XLSX", tmp_path), read_only=True)["Timesheets"]
    _, xlsx_header, xlsx_rows, xlsx_totals = split(list(sheet.iter_rows(values_only=True)))
    assert xlsx_header == header
    assert len(xlsx_rows) == len(rows)
    assert Decimal(str(xlsx_totals["TOTAL paid"][amount])).quantize(Decimal("0.01")) == earned
    assert Decimal(str(xlsx_totals["TOTAL"][amount])).quantize(Decimal("0.01")) == Decimal(totals["TOTAL"][amount])

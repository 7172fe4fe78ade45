"""Payout files of a pay run: PayPal Payouts CSV and Wise batch CSV, totals equal to the statements."""
import csv
import io
from decimal import Decimal

import pytest
from django.test import Client

from payroll.models import PayRun, Statement, Timesheet
from payroll.selectors.payouts import WISE_HEADER, payout_csv_lines
from payroll.services.entries import time_entry_create
from payroll.services.payruns import pay_run_execute
from payroll.services.timesheets import timesheet_decide, timesheet_submit
from tests.factories import batch_assigned, contractor_in_state
from tests.payroll.conftest import NOW, W48, W48_ENDED, at
from workforce.models import Contractor, OnboardingState, User

pytestmark = pytest.mark.django_db


def worked(contractor: Contractor, *minutes: int) -> None:
    """Entries of the given lengths on Monday of W48, one an hour from 08:00."""
    batch = batch_assigned(contractor)
    for hour, length in enumerate(minutes, start=8):
        time_entry_create(contractor=contractor, batch=batch, start=at(23, hour), end=at(23, hour, length),
                          actor=contractor.user, now=NOW)


def pay_week(staff: User, **kw: Decimal) -> PayRun:
    for timesheet in Timesheet.objects.filter(week_start=W48):
        timesheet_submit(timesheet=timesheet, actor=staff, now=W48_ENDED)
        timesheet_decide(timesheet=timesheet, approve=True, actor=staff, now=NOW)
    run = pay_run_execute(week_start=W48, actor=staff, **kw)
    assert run is not None
    return run


def rows(run: PayRun, method: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(payout_csv_lines(pay_run=run, method=method)))))


@pytest.fixture
def run(staff: User) -> PayRun:
    """W48 paid: two PayPal contractors (one with 7 x 17 min), two Wise ones (one named like a formula)."""
    worked(contractor_in_state(OnboardingState.ACTIVE, payout_email="ana.pp@example.com"), 17, 17, 17, 17, 17, 17, 17)
    worked(contractor_in_state(OnboardingState.ACTIVE, payout_email="bo.pp@example.com"), 59, 1)
    worked(contractor_in_state(OnboardingState.ACTIVE, legal_name="=cmd|' /C calc'!A0", payout_method="wise",
                               payout_email="eve@example.com"), 45)
    worked(contractor_in_state(OnboardingState.ACTIVE, legal_name="محمد الأحمد", payout_method="wise",
                               payout_email="mohammed@example.com"), 31, 29)
    return pay_week(staff)


def test_paypal_file_has_no_header_and_the_documented_six_columns(run: PayRun) -> None:
    lines = rows(run, "paypal")
    statements = list(Statement.objects.filter(payout_method="paypal").order_by("contractor_id"))
    assert lines == [[s.payout_email, str(s.payable), "USD", f"LC-{s.pk}", "LabelCrew 2026-W48", "PAYPAL"]
                     for s in statements]
    assert [line[1] for line in lines] == ["3.97", "2.00"]  # 119 min and 60 min at 2.00


def test_wise_file_has_the_email_template_header_and_neutralized_names(run: PayRun) -> None:
    lines = rows(run, "wise")
    assert lines[0] == WISE_HEADER
    eve, mohammed = lines[1:]
    assert eve[0] == "'=cmd|' /C calc'!A0"
    assert eve[1:] == ["eve@example.com", f"LC-{Statement.objects.get(payout_email='eve@example.com').pk} 2026-W48",
                       "PERSON", "target", "1.50", "USD", "USD"]
    assert mohammed[:2] == ["محمد الأحمد", "mohammed@example.com"]
    assert mohammed[5] == "2.00"


@pytest.mark.parametrize(("method", "amount_column", "header_rows"), [("paypal", 1, 0), ("wise", 5, 1)])
def test_each_file_totals_the_statements_of_its_method_to_the_cent(run: PayRun, method: str, amount_column: int,
                                                                   header_rows: int) -> None:
    paid = [Decimal(line[amount_column]) for line in rows(run, method)[header_rows:]]
    statements = Statement.objects.filter(pay_run=run, payout_method=method)
    assert sum(paid) == sum(s.payable for s in statements)
    assert len(paid) == statements.count() == 2


def test_statements_below_the_minimum_payout_are_not_in_the_file(staff: User) -> None:
    worked(contractor_in_state(OnboardingState.ACTIVE, payout_email="small@example.com"), 10)
    worked(contractor_in_state(OnboardingState.ACTIVE, payout_email="big@example.com"), 50)
    run = pay_week(staff, minimum_payout=Decimal("1.00"))
    small = Statement.objects.get(payout_email="small@example.com")
    assert (small.payable, small.carried_out) == (Decimal("0.00"), Decimal("0.33"))
    assert [line[0] for line in rows(run, "paypal")] == ["big@example.com"]
    assert rows(run, "wise") == [WISE_HEADER]


def test_a_statement_without_a_payout_address_is_in_no_file_and_listed_for_staff(run: PayRun, staff: User) -> None:
    missing = Statement.objects.filter(payout_method="paypal").order_by("contractor_id").first()
    Statement.objects.filter(pk=missing.pk).update(payout_email="")
    assert [line[0] for line in rows(run, "paypal")] == ["bo.pp@example.com"]
    client = Client()
    client.force_login(staff)
    html = client.get(f"/console/payroll/pay-runs/{run.pk}/").content.decode()
    assert html.count('data-testid="in-no-file"') == 1
    assert f"{missing.contractor.user.email}): USD 3.97, method paypal, address none" in html

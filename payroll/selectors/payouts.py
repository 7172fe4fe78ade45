"""Payout files of a pay run, one per payout method, to upload to PayPal or Wise.

Each file holds the run's statements of that method with something to pay (payable > 0), in
contractor order, so the file's total is the sum of those statements' payable to the cent.

PayPal Payouts ("Payouts Web" / "Use Web UI", developer.paypal.com/payouts, checked 2026): a .csv
with NO header row and up to 5,000 rows, one payout per row, columns in this order: recipient
identifier (PayPal email), payment amount, currency (ISO 4217, one currency per file), customer ID
(optional, unique, at most 30 characters, no spaces), note to recipient (optional for PayPal, at most
400 characters), recipient wallet (PAYPAL; VENMO would add a sixth column for feed privacy).

Wise batch payments ("Send by email" template, wise.com/help articles 2663296 and 2663302, checked
2026): a .csv WITH a header row, up to 1,000 transfers; for recipients known only by email the
columns are name, recipientEmail, paymentReference, receiverType, amountCurrency, amount,
sourceCurrency, targetCurrency. amountCurrency "target" is Wise's "fixed target payment": the
recipient gets exactly the amount and the fee is charged to us. Wise's help calls the recipient
type "a person or an institution"; recent templates write PERSON / INSTITUTION (older ones
PRIVATE / BUSINESS), so our contractors are PERSON. Wise downloads the template from the logged-in
account only: compare its header with WISE_HEADER when Wise changes it.
"""
from collections.abc import Callable, Iterator

from django.db.models import Q, QuerySet

from common.csv_stream import csv_lines
from payroll.models import PayRun, Statement
from payroll.selectors.exports import Cell
from payroll.selectors.weeks import week_name
from workforce.models import PayoutMethod

WISE_HEADER = ["name", "recipientEmail", "paymentReference", "receiverType", "amountCurrency", "amount",
               "sourceCurrency", "targetCurrency"]
WISE_RECEIVER_TYPE = "PERSON"


def statements_to_pay(*, pay_run: PayRun, method: str) -> QuerySet[Statement]:
    """The run's statements that pay something through `method` to an address, in contractor order."""
    return (Statement.objects.filter(pay_run=pay_run, payout_method=method, payable__gt=0)
            .exclude(payout_email="").select_related("contractor__user").order_by("contractor_id", "id"))


def statements_in_no_file(*, pay_run: PayRun) -> QuerySet[Statement]:
    """The run's statements with something to pay that no payout file holds (no method or no address):
    staff pay these by hand once the contractor's payout details are known."""
    return (Statement.objects.filter(pay_run=pay_run, payable__gt=0)
            .filter(Q(payout_email="") | ~Q(payout_method__in=PayoutMethod.values))
            .select_related("contractor__user").order_by("contractor_id", "id"))


def _reference(statement: Statement) -> str:
    """Unique per payout, short enough for PayPal's 30-character customer ID, no spaces."""
    return f"LC-{statement.pk}"


def paypal_rows(pay_run: PayRun) -> Iterator[list[Cell]]:
    note = f"LabelCrew {week_name(pay_run.week_start)}"
    for s in statements_to_pay(pay_run=pay_run, method=PayoutMethod.PAYPAL).iterator(chunk_size=2000):
        yield [s.payout_email, s.payable, s.currency, _reference(s), note, "PAYPAL"]


def wise_rows(pay_run: PayRun) -> Iterator[list[Cell]]:
    yield WISE_HEADER
    week = week_name(pay_run.week_start)
    for s in statements_to_pay(pay_run=pay_run, method=PayoutMethod.WISE).iterator(chunk_size=2000):
        name = s.contractor.legal_name or s.contractor.display_name or s.payout_email
        yield [name, s.payout_email, f"{_reference(s)} {week}", WISE_RECEIVER_TYPE, "target", s.payable,
               s.currency, s.currency]


PAYOUT_FILES: dict[str, Callable[[PayRun], Iterator[list[Cell]]]] = {
    PayoutMethod.PAYPAL: paypal_rows,
    PayoutMethod.WISE: wise_rows,
}


def payout_csv_lines(*, pay_run: PayRun, method: str) -> Iterator[str]:
    """The payout file of the run for one method (a PayoutMethod value), as CSV lines with formulas neutralized."""
    return csv_lines(PAYOUT_FILES[method](pay_run))

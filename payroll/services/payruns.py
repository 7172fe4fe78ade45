"""Pay runs: each approved, unpaid timesheet of a week becomes one statement, exactly once."""
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef

from common.errors import DomainError, NotAllowed
from common.roles import RUN_PAYROLL, staff_role_allows
from payroll.models import PayRun, Statement, Timesheet, TimesheetState
from payroll.selectors.held_pay import held_timesheets
from payroll.selectors.timesheets import totals_by_timesheet
from payroll.selectors.weeks import week_name
from workforce.models import Contractor, NotificationKind, User
from workforce.services.notifications import notify_each

# What staff are told when pay_run_execute finds nothing to pay (it returns None).
NOTHING_TO_PAY = "Nothing to pay: no approved timesheet of the week is waiting for payment."


@transaction.atomic
def pay_run_execute(*, week_start: datetime, actor: User, minimum_payout: Decimal | None = None) -> PayRun | None:
    """Pay the week's approved timesheets that no earlier run paid; None when there is none.

    Each statement earns minutes x rate rounded half-up to cents once, plus what the contractor's
    previous statement carried; below the minimum payout the whole sum is carried to the next run.
    Running it again pays nothing twice: a timesheet has at most one statement (unique), and the
    timesheets are locked while the run reads them. Held timesheets (payroll.selectors.held_pay: a recent payout
    change, an account under review, accounts paid to one mailbox past one cap) stay approved and unpaid; staff
    see them with held_pay.held_pay_notes.
    """
    if not staff_role_allows(actor, RUN_PAYROLL):
        raise NotAllowed("Only payroll staff run pay runs.")
    minimum = settings.PAYROLL_MINIMUM_PAYOUT if minimum_payout is None else minimum_payout
    if minimum < 0:
        raise DomainError("minimum_payout: zero or more.", field="minimum_payout")
    due = list(Timesheet.objects.select_for_update()
               .filter(week_start=week_start, state=TimesheetState.APPROVED)
               .exclude(Exists(Statement.objects.filter(timesheet=OuterRef("pk"))))
               .order_by("contractor_id"))
    held = held_timesheets(timesheets=due, week_start=week_start)
    due = [t for t in due if t.pk not in held]
    if not due:
        return None
    contractor_ids = [t.contractor_id for t in due]
    # Carry-over reads and writes each contractor's latest statement: lock them against a parallel run.
    contractors = {c.pk: c for c in Contractor.objects.select_for_update().filter(pk__in=contractor_ids).order_by("pk")}
    latest = Statement.objects.filter(contractor_id__in=contractor_ids).values("contractor_id").annotate(last=Max("id"))
    carried = dict(Statement.objects.filter(pk__in=[r["last"] for r in latest]).values_list("contractor_id",
                                                                                             "carried_out"))
    totals = totals_by_timesheet(t.pk for t in due)
    run = PayRun.objects.create(week_start=week_start, minimum_payout=minimum, created_by=actor)
    statements = []
    for timesheet in due:
        contractor = contractors[timesheet.contractor_id]
        week = totals[timesheet.pk]
        carried_in = carried.get(contractor.pk, Decimal("0"))
        owed = week.earned + carried_in
        payable, carried_out = (owed, Decimal("0")) if owed >= minimum and owed > 0 else (Decimal("0"), owed)
        statements.append(Statement(
            pay_run=run, timesheet=timesheet, contractor=contractor, minutes=week.minutes, earned=week.earned,
            carried_in=carried_in, payable=payable, carried_out=carried_out, currency=settings.PAYROLL_CURRENCY,
            payout_method=contractor.payout_method, payout_email=contractor.payout_email,
        ))
        timesheet.state = TimesheetState.PAID
    Statement.objects.bulk_create(statements)
    Timesheet.objects.bulk_update(due, ["state"])
    paid = [s for s in statements if s.payable > 0]
    notify_each(contractors=[s.contractor for s in paid], kind=NotificationKind.PAID,
                params={"week": week_name(week_start), "currency": settings.PAYROLL_CURRENCY},
                params_by_contractor={s.contractor_id: {"amount": str(s.payable),
                                                        "method": s.payout_method}
                                      for s in paid})
    return run

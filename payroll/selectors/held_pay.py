"""Approved timesheets a pay run must not pay yet, each with the reason staff are shown.

Held: a contractor whose payout method or address changed in the last 72 hours (until staff release it), one held
for review as a possible second account of one person, and, when several accounts are paid to one payout mailbox in
a week, every timesheet past the first cap's worth of work minutes (one person, one cap).
"""
from collections import defaultdict
from datetime import datetime

from django.db.models import Exists, OuterRef
from django.utils import timezone

from payroll.models import Statement, TimeEntry, Timesheet, TimesheetState
from payroll.selectors.terms import pay_terms_of_jobs
from payroll.selectors.weeks import week_name
from workforce.models import Contractor, normalize_payout_address


def _week_cap_minutes(*, timesheets: list[Timesheet], week_start: datetime) -> int:
    """The largest weekly cap of the jobs worked on in these timesheets (the cap one person could reach)."""
    jobs = {e.job for e in TimeEntry.objects.filter(timesheet__in=timesheets).select_related("job")
            .distinct("job_id").order_by("job_id")}
    terms = pay_terms_of_jobs(jobs=list(jobs), moment=week_start) if jobs else {}
    return max((t.cap_minutes for t in terms.values()), default=0)


def held_timesheets(*, timesheets: list[Timesheet], week_start: datetime,
                    now: datetime | None = None) -> dict[int, str]:
    """Of the week's approved unpaid `timesheets`, those to hold: timesheet id -> the reason."""
    now = now or timezone.now()
    contractors = {c.pk: c for c in Contractor.objects.filter(pk__in=[t.contractor_id for t in timesheets])}
    held: dict[int, str] = {}
    by_address: dict[str, list[Timesheet]] = defaultdict(list)
    for timesheet in sorted(timesheets, key=lambda t: t.contractor_id):
        contractor = contractors[timesheet.contractor_id]
        if contractor.link_evidence:
            held[timesheet.pk] = f"contractor #{contractor.pk} is held for review: {contractor.link_evidence}"
        elif contractor.payout_held_until and contractor.payout_held_until > now:
            held[timesheet.pk] = (f"contractor #{contractor.pk} changed the payout method or address; the payout is "
                                  f"held until {contractor.payout_held_until:%Y-%m-%d %H:%M} UTC unless staff "
                                  "release it")
        elif contractor.payout_email_normalized:
            by_address[contractor.payout_email_normalized].append(timesheet)
    paid_by_address: dict[str, list[Statement]] = defaultdict(list)
    if by_address:
        for statement in Statement.objects.filter(timesheet__week_start=week_start).select_related("timesheet"):
            paid_by_address[normalize_payout_address(statement.payout_email)].append(statement)
    for address, group in by_address.items():
        paid = paid_by_address.get(address, [])
        if len(group) + len(paid) < 2:
            continue
        cap = _week_cap_minutes(timesheets=[*group, *(s.timesheet for s in paid)], week_start=week_start)
        total = sum(s.timesheet.work_minutes for s in paid)
        for timesheet in group:
            if total + timesheet.work_minutes > cap:
                held[timesheet.pk] = (f"contractor #{timesheet.contractor_id}: with the other accounts paid to "
                                      f"{address} in {week_name(week_start)} this is past one weekly cap "
                                      f"({cap // 60} h); one person, one cap")
            else:
                total += timesheet.work_minutes
    return held


def held_pay_notes(*, week_start: datetime) -> list[str]:
    """Why each of the week's approved, unpaid timesheets that a pay run skips is held, one line each."""
    waiting = list(Timesheet.objects.filter(week_start=week_start, state=TimesheetState.APPROVED)
                   .exclude(Exists(Statement.objects.filter(timesheet=OuterRef("pk")))))
    return sorted(held_timesheets(timesheets=waiting, week_start=week_start).values())

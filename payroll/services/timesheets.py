"""A timesheet's life: draft -> submitted -> approved or rejected (-> submitted again) -> paid.

Approved and paid weeks are locked: corrections are adjustments in a later week.
"""
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from common.errors import Conflict, DomainError, NotAllowed
from common.roles import RUN_PAYROLL, staff_holding, staff_role_allows
from payroll.models import Timesheet, TimesheetState
from payroll.selectors import review
from payroll.selectors.weeks import WEEK, week_name, week_start_utc
from workforce.models import NotificationKind, User
from workforce.services.notifications import notify, notify_each

S = TimesheetState


def _locked(timesheet: Timesheet) -> Timesheet:
    return Timesheet.objects.select_for_update().get(pk=timesheet.pk)


@transaction.atomic
def timesheet_submit(*, timesheet: Timesheet, actor: User, now: datetime | None = None) -> Timesheet:
    """The contractor hands in their week once it has ended (a rejected week again, once corrected)."""
    now = now or timezone.now()
    timesheet = _locked(timesheet)
    if timesheet.contractor.user_id != actor.pk and not staff_role_allows(actor, RUN_PAYROLL):
        raise NotAllowed(gettext("Not your timesheet."))
    if timesheet.state not in (S.DRAFT, S.REJECTED):
        state = timesheet.get_state_display().lower()
        raise Conflict(gettext("The week %(week)s is already %(state)s.") % {
            "week": week_name(timesheet.week_start), "state": state})
    if timesheet.week_start + WEEK > now:  # a running week can still gain entries: it is handed in once it ended
        ends = timesheet.week_start + WEEK
        raise DomainError("week: " + gettext(
            "%(week)s has not ended yet; submit it from Monday %(day)s 00:00 UTC on (if you do not, it is submitted "
            "for you then).") % {"week": week_name(timesheet.week_start), "day": f"{ends:%Y-%m-%d}"}, field="week")
    timesheet.state, timesheet.submitted_at, timesheet.submitted_by = S.SUBMITTED, now, actor
    timesheet.save(update_fields=["state", "submitted_at", "submitted_by"])
    return timesheet


@transaction.atomic
def timesheet_decide(*, timesheet: Timesheet, approve: bool, actor: User, reason: str = "",
                     now: datetime | None = None) -> Timesheet:
    """A reviewer approves a submitted week (it locks) or rejects it with a reason (it reopens)."""
    if not staff_role_allows(actor, RUN_PAYROLL):
        raise NotAllowed("Only payroll staff review timesheets.")
    timesheet = _locked(timesheet)
    if timesheet.state != S.SUBMITTED:
        raise Conflict(f"The week {week_name(timesheet.week_start)} of this contractor is "
                       f"{timesheet.get_state_display().lower()}, not waiting for review.")
    reason = (reason or "").strip()
    if not approve and not reason:
        raise DomainError("reason: say why the timesheet is rejected, so the contractor can correct it.",
                          field="reason")
    timesheet.state = S.APPROVED if approve else S.REJECTED
    timesheet.decided_at, timesheet.decided_by = now or timezone.now(), actor
    timesheet.rejection_reason = "" if approve else reason[:1000]
    timesheet.save(update_fields=["state", "decided_at", "decided_by", "rejection_reason"])
    notify(contractor=timesheet.contractor, kind=NotificationKind.WEEK_DECIDED, week=week_name(timesheet.week_start),
           approved=approve, reason=timesheet.rejection_reason)
    return timesheet


def close_pay_weeks(*, now: datetime | None = None) -> int:
    """Submit every draft of a week that has ended and tell the reviewers. Safe to run any number of times."""
    now = now or timezone.now()
    with transaction.atomic():
        closing = list(Timesheet.objects.select_for_update(skip_locked=True)
                       .filter(state=S.DRAFT, week_start__lt=week_start_utc(now)).order_by("week_start", "id"))
        for timesheet in closing:
            timesheet.state, timesheet.submitted_at, timesheet.submitted_by = S.SUBMITTED, now, None
        Timesheet.objects.bulk_update(closing, ["state", "submitted_at", "submitted_by"])
    if closing:
        weeks = sorted({week_name(t.week_start) for t in closing})
        reviewers = staff_holding(RUN_PAYROLL).values_list("email", flat=True)
        body = (f"{len(closing)} timesheet(s) of {', '.join(weeks)} were submitted when the week closed and wait "
                f"for review:\n{settings.SITE_URL}/console/payroll/\n\n-- LabelCrew\n")
        send_mass_mail([(f"LabelCrew: {len(closing)} timesheet(s) to review", body, None, [email])
                        for email in reviewers])
    return len(closing)


@transaction.atomic
def timesheets_approve(*, timesheet_ids: list[int], week_start: datetime, actor: User,
                       now: datetime | None = None) -> int:
    """Approve the chosen timesheets of one week, all or none: one that is not a submitted,
    unflagged week of this week leaves every one of them unchanged. A fixed number of queries for any number."""
    if not staff_role_allows(actor, RUN_PAYROLL):
        raise NotAllowed("Only payroll staff review timesheets.")
    wanted = set(timesheet_ids)
    if not wanted:
        raise DomainError("timesheets: choose at least one timesheet.", field="timesheets")
    # Locked up front in one order, so a parallel decision cannot change them between check and approval.
    chosen = list(Timesheet.objects.select_for_update().filter(pk__in=wanted, week_start=week_start)
                  .select_related("contractor__user").order_by("pk"))
    if len(chosen) != len(wanted):
        raise DomainError("timesheets: some of the chosen timesheets are not of this week. Nothing was approved.",
                          field="timesheets")
    for row in review.timesheet_rows(chosen, week_start=week_start):
        timesheet = row.timesheet
        if timesheet.state != S.SUBMITTED:
            raise Conflict(f"{timesheet.contractor}: The week {week_name(timesheet.week_start)} of this contractor "
                           f"is {timesheet.get_state_display().lower()}, not waiting for review. Nothing was approved.",
                           field="timesheets")
        if row.flags:
            raise DomainError(f"{timesheet.contractor}: flagged ({'; '.join(row.flags)}); review it on its own "
                              "page. Nothing was approved.", field="timesheets")
    # What timesheet_decide writes on approval, for all of them in one statement.
    approved = Timesheet.objects.filter(pk__in=wanted).update(state=S.APPROVED, decided_at=now or timezone.now(),
                                                              decided_by=actor, rejection_reason="")
    notify_each(contractors=[t.contractor for t in chosen], kind=NotificationKind.WEEK_DECIDED,
                params={"week": week_name(week_start), "approved": True, "reason": ""})
    return approved


@transaction.atomic
def timesheets_approve_matching(*, week_start: datetime, state: str = "", flagged_only: bool = False,
                                search: str = "", expected: int, actor: User) -> int:
    """Approve every submitted, unflagged timesheet a week page's filter matches, on every page of it, all or none.
    `expected` is the count the reviewer confirmed: if the filter matches another number now, nothing is approved."""
    if not staff_role_allows(actor, RUN_PAYROLL):
        raise NotAllowed("Only payroll staff review timesheets.")
    ids = list(review.approvable_in_bulk(week_start=week_start, state=state, flagged_only=flagged_only,
                                         search=search).values_list("pk", flat=True))
    if len(ids) != expected:
        raise Conflict(f"expected: {len(ids)} submitted, unflagged timesheet(s) match this filter now, not the "
                       f"{expected} you confirmed. Look at the page again. Nothing was approved.", field="expected")
    return timesheets_approve(timesheet_ids=ids, week_start=week_start, actor=actor)

"""Time entries under the weekly cap: work logged by contractors, the dashboard timer, staff adjustments.

The cap holds under concurrency because the check and the insert happen in one transaction
that holds the row lock of each contractor-week (Timesheet) the entry touches; weeks are
locked in date order so two requests never wait on each other crosswise. Accounts linked as one
person (workforce.selectors.linked) share one cap: their timesheets of the week are locked too,
always in (week, contractor id) order.
"""
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from annotations.models import Batch, Job
from annotations.selectors.held_periods import held_periods
from common.errors import CapExceeded, Conflict, DomainError, NotAllowed
from common.roles import RUN_PAYROLL, staff_role_allows
from payroll.models import EntryKind, RunningTimer, TimeEntry, Timesheet, TimesheetState
from payroll.selectors.amounts import minutes_as_hmm
from payroll.selectors.terms import pay_terms_at
from payroll.selectors.weeks import WEEK, week_name, week_start_utc
from workforce.models import Contractor, NotificationKind, User
from workforce.selectors.linked import linked_contractor_ids
from workforce.services.notifications import notify

EDITABLE = (TimesheetState.DRAFT, TimesheetState.REJECTED)
WARN_AT = ((100, "warned_100_at"), (80, "warned_80_at"))
MINUTE = timedelta(minutes=1)
# How a period of holding a batch ended (annotations.selectors.held_periods), in the contractor's words.
ENDED_BY = {"handed in": gettext_lazy("handed in"), "taken back": gettext_lazy("taken back"),
            "reassigned": gettext_lazy("reassigned"), "finished": gettext_lazy("finished")}


def _to_minute(moment: datetime, field: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise DomainError(f"{field}: " + gettext("give a date and time with its timezone."), field=field)
    return moment.replace(second=0, microsecond=0)


def _locked_week(*, contractor: Contractor, week_start: datetime) -> Timesheet:
    """The contractor-week's timesheet, created if missing, locked until the transaction ends."""
    Timesheet.objects.bulk_create([Timesheet(contractor=contractor, week_start=week_start)], ignore_conflicts=True)
    return Timesheet.objects.select_for_update().get(contractor=contractor, week_start=week_start)


def _locked_person_week(*, contractor: Contractor, week_start: datetime, linked: list[int]) -> tuple[Timesheet, int]:
    """The contractor's timesheet of the week and the work minutes its linked accounts logged that week, every one
    of those timesheets locked in contractor id order (the contractor's own among them), so linked accounts
    logging at once never wait on each other crosswise."""
    Timesheet.objects.bulk_create([Timesheet(contractor=contractor, week_start=week_start)], ignore_conflicts=True)
    locked = list(Timesheet.objects.select_for_update().filter(contractor_id__in=linked, week_start=week_start)
                  .order_by("contractor_id"))
    own = next(t for t in locked if t.contractor_id == contractor.pk)
    return own, sum(t.work_minutes for t in locked if t.contractor_id != contractor.pk)


def _check_editable(timesheet: Timesheet, field: str) -> None:
    if timesheet.state not in EDITABLE:
        state = timesheet.get_state_display().lower()
        raise Conflict(f"{field}: " + gettext("the week %(week)s is %(state)s; it can no longer change. Ask staff for "
                                              "an adjustment.") % {"week": week_name(timesheet.week_start),
                                                                    "state": state}, field=field)


def _moment(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _grace() -> timedelta:
    return timedelta(minutes=settings.TIME_ENTRY_GRACE_MINUTES)


def _check_recent(start: datetime, now: datetime) -> None:
    """Contractors log time in the current or the previous pay week; an older week is corrected by staff."""
    earliest = week_start_utc(now) - WEEK
    if start < earliest:
        raise DomainError("start: " + gettext(
            "time can be logged only in this pay week or the previous one, from %(week)s (Monday %(moment)s) on; "
            "for an older week ask staff for an adjustment.") % {"week": week_name(earliest),
                                                                  "moment": _moment(earliest)}, field="start")


def _check_held_then(*, contractor: Contractor, batch: Batch, start: datetime, end: datetime) -> None:
    """The whole span falls in one period during which the contractor held the batch, give or take the grace."""
    periods = held_periods(batch_id=batch.pk, contractor_id=contractor.pk)
    if not periods:
        raise NotAllowed("batch: " + gettext("you can only log time on a batch assigned to you."), field="batch")
    grace = _grace()
    if any(p.start - grace <= start and (p.end is None or end <= p.end + grace) for p in periods):
        return
    words = {"number": batch.number, "minutes": settings.TIME_ENTRY_GRACE_MINUTES}
    if start < periods[0].start - grace:
        raise DomainError("start: " + gettext(
            "this is before you held batch #%(number)s (assigned %(moment)s; up to %(minutes)s minutes either side "
            "are accepted).") % {**words, "moment": _moment(periods[0].start)}, field="start")
    for period in periods:
        if period.start - grace <= start and (period.end is None or start < period.end + grace):
            raise DomainError("end: " + gettext(
                "this is after you held batch #%(number)s (%(ended)s %(moment)s; up to %(minutes)s minutes either "
                "side are accepted); log the time up to then.") % {
                    **words, "ended": ENDED_BY.get(period.ended_by, period.ended_by), "moment": _moment(period.end)},
                field="end")
    last = [p for p in periods if p.start - grace <= start][-1]
    raise DomainError("start: " + gettext(
        "this is after you held batch #%(number)s (%(ended)s %(moment)s; up to %(minutes)s minutes either side are "
        "accepted).") % {**words, "ended": ENDED_BY.get(last.ended_by, last.ended_by), "moment": _moment(last.end)},
        field="start")


def _week_pieces(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The span cut at each Monday 00:00 UTC it crosses."""
    pieces = []
    while start < end:
        boundary = week_start_utc(start) + WEEK
        pieces.append((start, min(end, boundary)))
        start = boundary
    return pieces


def _warn_if_crossed(timesheet: Timesheet, *, cap_minutes: int, now: datetime) -> None:
    """Set the 80 % / 100 % marks the week just reached and email the contractor once for each."""
    for percent, field in WARN_AT:
        if timesheet.work_minutes * 100 >= cap_minutes * percent and getattr(timesheet, field) is None:
            setattr(timesheet, field, now)
            if percent == 100:
                timesheet.warned_80_at = timesheet.warned_80_at or now
            notify(contractor=timesheet.contractor, kind=NotificationKind.CAP, week=week_name(timesheet.week_start),
                   reached=percent >= 100, logged=minutes_as_hmm(timesheet.work_minutes))
            return


@transaction.atomic
def time_entry_create(*, contractor: Contractor, batch: Batch, start: datetime, end: datetime, actor: User,
                      note: str = "", now: datetime | None = None) -> list[TimeEntry]:
    """Log work from start to end (whole minutes) against a batch; split at the week boundary.

    Refused, with the reason, when the span is in the future, empty, over the longest allowed
    entry, starts before the previous pay week, falls outside the time the contractor held the batch
    (TIME_ENTRY_GRACE_MINUTES either side), overlaps another entry, falls in a week that is no longer
    editable, or would take a week past the cap (the error says how many minutes remain). All pieces or none are saved.
    """
    now = now or timezone.now()
    start, end = _to_minute(start, "start"), _to_minute(end, "end")
    if end > now:
        raise DomainError("end: " + gettext("the entry ends in the future; log time once it is worked."), field="end")
    if end <= start:
        raise DomainError("end: " + gettext("must be at least one minute after start."), field="end")
    longest = timedelta(hours=settings.PAYROLL_MAX_ENTRY_HOURS)
    if end - start > longest:
        raise DomainError("end: " + gettext("one entry may span at most %(hours)s hours; log longer work as several "
                                            "entries.") % {"hours": settings.PAYROLL_MAX_ENTRY_HOURS}, field="end")
    note = (note or "").strip()
    if len(note) > 500:
        raise DomainError("note: " + gettext("at most 500 characters."), field="note")
    _check_recent(start, now)
    _check_held_then(contractor=contractor, batch=batch, start=start, end=end)
    pieces = _week_pieces(start, end)
    # One person, one cap: what linked accounts logged in each week counts against this one's cap.
    linked = linked_contractor_ids(contractor)
    locked = [_locked_person_week(contractor=contractor, week_start=week_start_utc(s), linked=linked)
              for s, _ in pieces]
    weeks, linked_minutes = [t for t, _ in locked], [m for _, m in locked]
    for timesheet in weeks:
        _check_editable(timesheet, "start")
    clash = (TimeEntry.objects.filter(contractor=contractor, kind=EntryKind.WORK, start__lt=end, end__gt=start)
             .order_by("start").first())
    if clash:
        raise Conflict("start: " + gettext("overlaps your entry from %(start)s to %(end)s UTC.") % {
            "start": f"{clash.start:%Y-%m-%d %H:%M}", "end": f"{clash.end:%H:%M}"}, field="start")
    job = batch.job
    entries = []
    for (piece_start, piece_end), timesheet, others in zip(pieces, weeks, linked_minutes, strict=True):
        minutes = int((piece_end - piece_start) / MINUTE)
        terms = pay_terms_at(job=job, moment=piece_start)
        if others + timesheet.work_minutes + minutes > terms.cap_minutes:
            raise CapExceeded(remaining_minutes=max(terms.cap_minutes - timesheet.work_minutes - others, 0),
                              week=week_name(timesheet.week_start))
        entries.append(TimeEntry.objects.create(
            timesheet=timesheet, contractor=contractor, kind=EntryKind.WORK, job=job, batch=batch,
            start=piece_start, end=piece_end, minutes=minutes, hourly_rate=terms.hourly_rate, note=note,
            created_by=actor,
        ))
        timesheet.work_minutes += minutes
        _warn_if_crossed(timesheet, cap_minutes=terms.cap_minutes, now=now)
        timesheet.save(update_fields=["work_minutes", "warned_80_at", "warned_100_at"])
    return entries


@transaction.atomic
def time_entry_delete(*, entry: TimeEntry, contractor: Contractor) -> None:
    """A contractor removes one of their own work entries while the week is still editable."""
    if entry.contractor_id != contractor.pk or entry.kind != EntryKind.WORK:
        raise NotAllowed("entry: " + gettext("not one of your time entries."), field="entry")
    timesheet = _locked_week(contractor=contractor, week_start=entry.timesheet.week_start)
    _check_editable(timesheet, "entry")
    TimeEntry.objects.filter(pk=entry.pk).delete()
    timesheet.work_minutes -= entry.minutes
    timesheet.save(update_fields=["work_minutes"])


@transaction.atomic
def adjustment_create(*, contractor: Contractor, job: Job, minutes: int, reason: str, actor: User,
                      corrects_week: datetime | None = None, now: datetime | None = None) -> TimeEntry:
    """Staff add (or take back) paid minutes in the current week, with the reason, e.g. to correct a
    locked week. The rate is the job's rate in the week corrected, so a correction pays what that
    week paid. Adjustments are not work time: they do not count toward the cap. Taking back more
    than the week earns leaves a negative statement that the next pay run carries and offsets."""
    now = now or timezone.now()
    if not staff_role_allows(actor, RUN_PAYROLL):
        raise NotAllowed("Only payroll staff can add adjustments.")
    if not isinstance(minutes, int) or minutes == 0 or abs(minutes) > 60 * 60:
        raise DomainError("minutes: a whole number of minutes, not zero, at most 3600 either way.", field="minutes")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reason: say why the time is adjusted.", field="reason")
    if corrects_week is not None and corrects_week >= week_start_utc(now):
        raise DomainError("corrects_week: a correction is for an earlier week.", field="corrects_week")
    timesheet = _locked_week(contractor=contractor, week_start=week_start_utc(now))
    _check_editable(timesheet, "minutes")
    terms = pay_terms_at(job=job, moment=corrects_week or now)
    return TimeEntry.objects.create(
        timesheet=timesheet, contractor=contractor, kind=EntryKind.ADJUSTMENT, job=job,
        start=now.replace(microsecond=0), minutes=minutes, hourly_rate=terms.hourly_rate, note=reason[:500],
        corrects_week=corrects_week,
        created_by=actor,
    )


def timer_start(*, contractor: Contractor, batch: Batch, now: datetime | None = None) -> RunningTimer:
    now = now or timezone.now()
    periods = held_periods(batch_id=batch.pk, contractor_id=contractor.pk)
    if not periods or periods[-1].end is not None:
        raise NotAllowed("batch: " + gettext("you can only time a batch you hold now."), field="batch")
    with transaction.atomic():
        Contractor.objects.select_for_update().get(pk=contractor.pk)
        if RunningTimer.objects.filter(contractor=contractor).exists():
            raise Conflict("batch: " + gettext("a timer is already running; stop it first."), field="batch")
        return RunningTimer.objects.create(contractor=contractor, batch=batch, started_at=now.replace(microsecond=0))


@dataclass(frozen=True)
class TimerResult:
    entries: list[TimeEntry]
    message: str


def timer_stop(*, contractor: Contractor, now: datetime | None = None) -> TimerResult:
    """Stop the running timer and log its span. It is cut at the longest entry, where the contractor stopped
    holding the batch (after the grace) and at the week's cap; under a minute logs nothing. The timer is gone
    afterwards in every case."""
    now = now or timezone.now()
    with transaction.atomic():
        timer = RunningTimer.objects.select_for_update().filter(contractor=contractor).first()
        if timer is None:
            raise Conflict(gettext("No timer is running."))
        start = timer.started_at
        end = min(now, start + timedelta(hours=settings.PAYROLL_MAX_ENTRY_HOURS))
        message = ""
        if end < now:
            message = gettext("Stopped at the %(hours)s-hour limit of one entry.") % {
                "hours": settings.PAYROLL_MAX_ENTRY_HOURS} + " "
        held = [p for p in held_periods(batch_id=timer.batch_id, contractor_id=contractor.pk)
                if p.start - _grace() <= start and (p.end is None or start < p.end + _grace())]
        if held and held[0].end is not None and end > held[0].end + _grace():
            end = held[0].end + _grace()
            message = gettext("Stopped when the batch was %(ended)s (%(moment)s) and the grace ended.") % {
                "ended": ENDED_BY.get(held[0].ended_by, held[0].ended_by), "moment": _moment(held[0].end)} + " "
        entries: list[TimeEntry] = []
        try:
            if start < week_start_utc(now) - WEEK:
                message = gettext("The timer started before the previous pay week: nothing logged; ask staff for "
                                  "an adjustment.")
            elif not held:
                message = gettext("You no longer held the batch when the timer started: nothing logged.")
            elif _to_minute(end, "end") > _to_minute(start, "start"):
                entries = time_entry_create(contractor=contractor, batch=timer.batch, start=start, end=end,
                                            actor=contractor.user, now=now)
            else:
                message += gettext("Under a minute: nothing logged.")
        except CapExceeded as exc:
            if exc.remaining_minutes <= 0:
                message += str(exc)
            else:
                entries = time_entry_create(contractor=contractor, batch=timer.batch, start=start,
                                            end=_to_minute(start, "start") + exc.remaining_minutes * MINUTE,
                                            actor=contractor.user, now=now)
                message += gettext("Logged up to the weekly cap (%(minutes)s minutes).") % {
                    "minutes": exc.remaining_minutes}
        timer.delete()
    logged = sum(e.minutes for e in entries)
    return TimerResult(entries, message.strip() or gettext("Logged %(hmm)s h.") % {"hmm": minutes_as_hmm(logged)})

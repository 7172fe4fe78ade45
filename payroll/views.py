"""The contractor's hours and pay pages: a week's entries, the timer, the weekly cap, timesheets and statements.

Views parse, authorize and call the payroll services; a refusal is shown next to the field it names
and nothing is saved.
"""
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from common.decorators import contractor_page, contractor_required
from common.errors import DomainError
from common.forms import form_error
from payroll.contractor_weeks import contractor_zone, loggable_batches, statements_of, timer_batches, week_summary
from payroll.forms import TimeEntryForm, TimerStartForm
from payroll.models import Statement, TimeEntry, Timesheet
from payroll.selectors import (
    WEEK,
    entries_of,
    evidence_by_contractor,
    minutes_as_hmm,
    minutes_as_hours,
    seconds_as_hours,
    timesheet_flags,
    totals_by_timesheet,
    week_name,
    week_parse,
    week_start_utc,
)
from payroll.services.entries import EDITABLE, time_entry_create, time_entry_delete, timer_start, timer_stop
from payroll.services.timesheets import timesheet_submit
from workforce.models import Contractor

# The service names the moment it refuses; the page asks for it as a time of day.
FORM_FIELD = {"start": "start_time", "end": "end_time"}
MINUTE = timedelta(minutes=1)


def _week_of(value: str | None, *, now: datetime) -> tuple[datetime, str]:
    """The pay week asked for, or the current one with the reason the request was not understood."""
    if not value:
        return week_start_utc(now), ""
    try:
        return week_parse(value), ""
    except DomainError as exc:
        return week_start_utc(now), exc.message


def _pay_url(week_start: datetime) -> str:
    return f"{reverse('payroll:pay')}?week={week_name(week_start)}"


def _pay_page(request: HttpRequest, contractor: Contractor, *, week_start: datetime,
              entry_form: TimeEntryForm | None = None, timer_form: TimerStartForm | None = None,
              week_error: str = "", submit_error: str = "", refused_entry: int | None = None,
              refused_message: str = "") -> HttpResponse:
    now = timezone.now()
    zone = contractor_zone(contractor)
    summary = week_summary(contractor=contractor, week_start=week_start, now=now)
    timesheet = summary.timesheet
    entries = list(entries_of(timesheet)) if timesheet else []
    totals = totals_by_timesheet([timesheet.pk])[timesheet.pk] if timesheet else None
    evidence = evidence_by_contractor([contractor.pk], week_start=week_start).get(contractor.pk)
    current_week = week_start_utc(now)
    return render(request, "payroll/pay.html", {
        "contractor": contractor, "tzname": zone.key, "week": summary, "week_name": week_name(week_start),
        "week_end": week_start + WEEK, "week_error": week_error,
        "previous_week": week_name(week_start - WEEK),
        "next_week": week_name(week_start + WEEK) if week_start < current_week else "",
        "is_current_week": week_start == current_week,
        "timesheet": timesheet, "totals": totals,
        "editable": timesheet is None or timesheet.state in EDITABLE,
        "can_submit": timesheet is not None and timesheet.state in EDITABLE and week_start <= now,
        "submit_error": submit_error,
        "entries": [{"entry": e, "hmm": minutes_as_hmm(e.minutes)} for e in entries],
        "refused_entry": refused_entry, "refused_message": refused_message,
        "evidence_count": evidence.annotation_count if evidence else 0,
        "evidence_hours": evidence.active_hours if evidence else seconds_as_hours(0),
        "flags": timesheet_flags(minutes=summary.work_minutes, evidence=evidence),
        # A new entry defaults to today, or to the last day of a past week on show.
        "entry_form": entry_form or TimeEntryForm(batches=loggable_batches(contractor), zone=zone, initial={
            "date": min(now, week_start + WEEK - MINUTE).astimezone(zone).date()}),
        "timer_form": timer_form or TimerStartForm(batches=timer_batches(contractor)),
        "statements": [{"statement": s, "week": week_name(s.timesheet.week_start), "hmm": minutes_as_hmm(s.minutes)}
                       for s in statements_of(contractor)],
    })


@require_GET
@contractor_page(staff_home="payroll-console:home")  # staff have no hours of their own
def pay(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    week_start, week_error = _week_of(request.GET.get("week"), now=timezone.now())
    return _pay_page(request, contractor, week_start=week_start, week_error=week_error)


@require_POST
@contractor_required
def entry_create(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    form = TimeEntryForm(request.POST, batches=loggable_batches(contractor), zone=contractor_zone(contractor))
    week_start, _ = _week_of(request.POST.get("week"), now=timezone.now())
    if form.is_valid():
        data = form.cleaned_data
        try:
            entries = time_entry_create(contractor=contractor, batch=data["batch"], start=data["start"],
                                        end=data["end"], note=data["note"], actor=request.user)
        except DomainError as exc:
            form_error(form, exc, fields=FORM_FIELD)
        else:
            logged = minutes_as_hmm(sum(e.minutes for e in entries))
            split = " (split at Monday 00:00 UTC into both weeks)" if len(entries) > 1 else ""
            messages.success(request, f"Logged {logged} h on {data['batch'].job.name}, batch "
                                      f"{data['batch'].number}{split}.")
            return redirect(_pay_url(entries[0].timesheet.week_start))
    return _pay_page(request, contractor, week_start=week_start, entry_form=form)


@require_POST
@contractor_required
def entry_delete(request: HttpRequest, contractor: Contractor, pk: int) -> HttpResponse:
    entry = get_object_or_404(TimeEntry.objects.select_related("timesheet"), pk=pk, contractor=contractor)
    week_start = entry.timesheet.week_start
    try:
        time_entry_delete(entry=entry, contractor=contractor)
    except DomainError as exc:
        return _pay_page(request, contractor, week_start=week_start, refused_entry=entry.pk,
                         refused_message=exc.message)
    messages.success(request, f"Entry of {minutes_as_hmm(entry.minutes)} h removed.")
    return redirect(_pay_url(week_start))


@require_POST
@contractor_required
def timer_start_view(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    form = TimerStartForm(request.POST, batches=timer_batches(contractor))
    now = timezone.now()
    if form.is_valid():
        try:
            timer_start(contractor=contractor, batch=form.cleaned_data["batch"], now=now)
        except DomainError as exc:
            form_error(form, exc, fields=FORM_FIELD)
        else:
            messages.success(request, "Timer started. Stop it when you take a break or finish.")
            return redirect("payroll:pay")
    return _pay_page(request, contractor, week_start=week_start_utc(now), timer_form=form)


@require_POST
@contractor_required
def timer_stop_view(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    try:
        result = timer_stop(contractor=contractor)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("payroll:pay")
    messages.add_message(request, messages.SUCCESS if result.entries else messages.WARNING,
                         f"Timer stopped. {result.message}")
    return redirect(_pay_url(result.entries[0].timesheet.week_start) if result.entries else reverse("payroll:pay"))


@require_POST
@contractor_required
def week_submit(request: HttpRequest, contractor: Contractor, week: str) -> HttpResponse:
    try:
        week_start = week_parse(week)
    except DomainError:
        raise Http404("No such week.") from None
    timesheet = get_object_or_404(Timesheet, contractor=contractor, week_start=week_start)
    try:
        timesheet_submit(timesheet=timesheet, actor=request.user)
    except DomainError as exc:
        return _pay_page(request, contractor, week_start=week_start, submit_error=exc.message)
    messages.success(request, f"Week {week} submitted for review.")
    return redirect(_pay_url(week_start))


@require_GET
@login_required
def statement(request: HttpRequest, pk: int) -> HttpResponse:
    """One statement, for the contractor it pays or for staff; to anyone else it does not exist."""
    statement = get_object_or_404(Statement.objects.select_related("contractor__user", "timesheet", "pay_run"), pk=pk)
    if not request.user.is_staff and statement.contractor.user_id != request.user.pk:
        raise Http404("No such statement.")
    entries = list(entries_of(statement.timesheet))
    by_rate: dict[Decimal, int] = {}
    for entry in entries:
        by_rate[entry.hourly_rate] = by_rate.get(entry.hourly_rate, 0) + entry.minutes
    week_start = statement.timesheet.week_start
    return render(request, "payroll/statement.html", {
        "statement": statement, "contractor": statement.contractor,
        "tzname": contractor_zone(statement.contractor).key,
        "week_name": week_name(week_start), "week_start": week_start, "week_end": week_start + WEEK,
        "entries": [{"entry": e, "hmm": minutes_as_hmm(e.minutes)} for e in entries],
        "rates": [{"rate": rate, "hmm": minutes_as_hmm(minutes), "hours": minutes_as_hours(minutes)}
                  for rate, minutes in sorted(by_rate.items())],
        "hmm": minutes_as_hmm(statement.minutes), "hours": minutes_as_hours(statement.minutes),
    })

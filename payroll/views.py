"""Payroll's pages: the contractor's hours and pay, the staff console (review, adjustments, pay runs, pay terms)
and the file downloads (weekly export, payout files, a statement as CSV).

Views parse, authorize, call a service through common.pages.run_service (a refusal is shown next to the field it
names, or as a message, and nothing is saved) and render what the selectors read.
"""
import tempfile
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotations.models import Job
from common.decorators import (
    contractor_page,
    contractor_required,
    staff_permission_required,
)
from common.errors import DomainError
from common.pages import run_service
from common.roles import RUN_PAYROLL, second_factor_missing, staff_role_allows
from payroll.forms import (
    AdjustmentForm,
    ApproveMatchingForm,
    BulkApproveForm,
    DecisionForm,
    PayRunForm,
    PayTermsForm,
    TimeEntryForm,
    TimerStartForm,
    WeekFilterForm,
)
from payroll.models import PayRun, Statement, TimeEntry, Timesheet, TimesheetState
from payroll.selectors import exports, payouts, review
from payroll.selectors.amounts import minutes_as_hmm, minutes_as_hours, seconds_as_hours
from payroll.selectors.contractor_weeks import (
    loggable_batches,
    statements_of,
    timer_batches,
    week_summary,
)
from payroll.selectors.evidence import evidence_by_contractor, timesheet_flags
from payroll.selectors.held_pay import held_pay_notes
from payroll.selectors.terms import pay_terms_changes, pay_terms_history
from payroll.selectors.timesheets import entries_of, minutes_by_rate, totals_by_timesheet
from payroll.selectors.weeks import WEEK, week_name, week_parse, week_start_utc
from payroll.services.entries import (
    EDITABLE,
    adjustment_create,
    time_entry_create,
    time_entry_delete,
    timer_start,
    timer_stop,
)
from payroll.services.payruns import NOTHING_TO_PAY, pay_run_execute
from payroll.services.terms import pay_terms_change
from payroll.services.timesheets import (
    close_pay_weeks,
    timesheet_decide,
    timesheet_submit,
    timesheets_approve,
    timesheets_approve_matching,
)
from workforce.models import Contractor
from workforce.validation import contractor_zone

# The service names the moment it refuses; the page asks for it as a time of day.
FORM_FIELD = {"start": "start_time", "end": "end_time"}
MINUTE = timedelta(minutes=1)
ROWS_PER_PAGE = 50
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


# --- the contractor's hours and pay -----------------------------------------------------------------

def _week_of(value: str | None, *, now: datetime) -> tuple[datetime, str]:
    """The pay week asked for, or the current one with the reason the request was not understood."""
    if not value:
        return week_start_utc(now), ""
    try:
        return week_parse(value), ""
    except DomainError as exc:  # a query parameter, not a service: the page says why it shows this week
        return week_start_utc(now), _plain(exc)


def _plain(exc: DomainError) -> str:
    """A refusal as the contractor reads it beside what was refused: without the service's "field: " prefix."""
    return exc.message.removeprefix(f"{exc.field}: ") if exc.field else exc.message


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
        # Only forms that can succeed: entries in an open week of the two a contractor may log in, and the
        # submit button once the week has ended (the service refuses a running week).
        "can_log": ((timesheet is None or timesheet.state in EDITABLE)
                    and current_week - WEEK <= week_start <= current_week),
        "week_running": week_start + WEEK > now,
        "can_submit": timesheet is not None and timesheet.state in EDITABLE and week_start + WEEK <= now,
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
    }, status=400 if week_error else 200)  # the page shows the current week and why the asked one was refused


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
        logged = run_service(request, lambda: time_entry_create(
            contractor=contractor, batch=data["batch"], start=data["start"], end=data["end"], note=data["note"],
            actor=request.user), form=form, fields=FORM_FIELD)
        if logged.ok:
            entries = logged.value
            logged_words = {"hmm": minutes_as_hmm(sum(e.minutes for e in entries)), "job": data["batch"].job.name,
                            "number": data["batch"].number}
            if len(entries) > 1:
                logged_text = gettext("Logged %(hmm)s h on %(job)s, batch %(number)s (split at Monday 00:00 UTC "
                                      "into both weeks).")
            else:
                logged_text = gettext("Logged %(hmm)s h on %(job)s, batch %(number)s.")
            messages.success(request, logged_text % logged_words)
            return redirect(_pay_url(entries[0].timesheet.week_start))
    return _pay_page(request, contractor, week_start=week_start, entry_form=form)


@require_POST
@contractor_required
def entry_delete(request: HttpRequest, contractor: Contractor, pk: int) -> HttpResponse:
    entry = get_object_or_404(TimeEntry.objects.select_related("timesheet"), pk=pk, contractor=contractor)
    week_start = entry.timesheet.week_start
    deleted = run_service(request, lambda: time_entry_delete(entry=entry, contractor=contractor), message=False)
    if not deleted.ok:  # the refusal is shown beside the entry
        return _pay_page(request, contractor, week_start=week_start, refused_entry=entry.pk,
                         refused_message=_plain(deleted.error))
    messages.success(request, gettext("Entry of %(hmm)s h removed.") % {"hmm": minutes_as_hmm(entry.minutes)})
    return redirect(_pay_url(week_start))


@require_POST
@contractor_required
def timer_start_view(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    form = TimerStartForm(request.POST, batches=timer_batches(contractor))
    now = timezone.now()
    if form.is_valid():
        started = run_service(request, lambda: timer_start(contractor=contractor, batch=form.cleaned_data["batch"],
                                                           now=now), form=form, fields=FORM_FIELD)
        if started.ok:
            messages.success(request, gettext("Timer started. Stop it when you take a break or finish."))
            return redirect("payroll:pay")
    return _pay_page(request, contractor, week_start=week_start_utc(now), timer_form=form)


@require_POST
@contractor_required
def timer_stop_view(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    stopped = run_service(request, lambda: timer_stop(contractor=contractor))
    if not stopped.ok:
        return redirect("payroll:pay")
    result = stopped.value
    messages.add_message(request, messages.SUCCESS if result.entries else messages.WARNING,
                         gettext("Timer stopped. %(outcome)s") % {"outcome": result.message})
    return redirect(_pay_url(result.entries[0].timesheet.week_start) if result.entries else reverse("payroll:pay"))


@require_POST
@contractor_required
def week_submit(request: HttpRequest, contractor: Contractor, week: str) -> HttpResponse:
    try:
        week_start = week_parse(week)
    except DomainError as exc:  # 2026-W60, 9999-W52, full-width digits: the refusal names the week
        return HttpResponseBadRequest(exc.message, content_type="text/plain; charset=utf-8")
    timesheet = get_object_or_404(Timesheet, contractor=contractor, week_start=week_start)
    submitted = run_service(request, lambda: timesheet_submit(timesheet=timesheet, actor=request.user), message=False)
    if not submitted.ok:  # the refusal is shown beside the submit button
        return _pay_page(request, contractor, week_start=week_start, submit_error=_plain(submitted.error))
    messages.success(request, gettext("Week %(week)s submitted for review.") % {"week": week})
    return redirect(_pay_url(week_start))


def _payroll_staff(user: object) -> bool:
    """Payroll staff with their second factor: the statements of anyone are theirs to read."""
    return staff_role_allows(user, RUN_PAYROLL) and not second_factor_missing(user)


def _visible_statement(request: HttpRequest, pk: int) -> Statement:
    """A statement for the contractor it pays or for staff; to anyone else it does not exist."""
    statement = get_object_or_404(Statement.objects.select_related("contractor__user", "timesheet", "pay_run"), pk=pk)
    if statement.contractor.user_id != request.user.pk and not _payroll_staff(request.user):
        raise Http404("No such statement.")
    return statement


@require_GET
@login_required
def statement(request: HttpRequest, pk: int) -> HttpResponse:
    """One statement, for the contractor it pays or for staff; to anyone else it does not exist."""
    statement = _visible_statement(request, pk)
    entries = list(entries_of(statement.timesheet))
    week_start = statement.timesheet.week_start
    return render(request, "payroll/statement.html", {
        "statement": statement, "contractor": statement.contractor,
        "tzname": contractor_zone(statement.contractor).key,
        "week_name": week_name(week_start), "week_start": week_start, "week_end": week_start + WEEK,
        "entries": [{"entry": e, "hmm": minutes_as_hmm(e.minutes)} for e in entries],
        "rates": [{"rate": rate, "hmm": minutes_as_hmm(minutes), "hours": minutes_as_hours(minutes)}
                  for rate, minutes in minutes_by_rate(entries)],
        "hmm": minutes_as_hmm(statement.minutes), "hours": minutes_as_hours(statement.minutes),
    })


# --- the staff console ------------------------------------------------------------------------------

def _week_url(week_start: datetime, data: Mapping[str, str] | None = None) -> str:
    """The week page, keeping the reviewer's state, flagged, search and sort choices when they are valid."""
    query = {"week": week_name(week_start)}
    data = data or {}
    if data.get("state") in TimesheetState.values:
        query["state"] = data["state"]
    if data.get("flagged") in ("on", "1", "true"):
        query["flagged"] = "on"
    if data.get("q", "").strip():
        query["q"] = data["q"].strip()[:100]
    if data.get("sort") in review.SORTS:
        query["sort"] = data["sort"]
    return f"{reverse('payroll-console:home')}?{urlencode(query)}"


def _last_ended_week() -> datetime:
    """Monday 00:00 UTC of the week that last ended: reviewers usually review it."""
    return week_start_utc(timezone.now()) - WEEK


def _posted_week(request: HttpRequest) -> datetime:
    """The week a console form was posted from; the week that last ended when it is missing or bad."""
    form = WeekFilterForm(request.POST)
    return (form.is_valid() and form.cleaned_data["week"]) or _last_ended_week()


@require_http_methods(["GET"])
@staff_permission_required(RUN_PAYROLL)
def home(request: HttpRequest) -> HttpResponse:
    """The week's timesheets a page at a time, searched, filtered and sorted in SQL, with every state's totals and
    a select-all that approves every submitted, unflagged timesheet the filter matches, on every page."""
    filters = WeekFilterForm(request.GET or None)
    filters.is_valid()
    chosen = getattr(filters, "cleaned_data", {})  # the valid part of the query; unbound: nothing
    week_start = chosen.get("week") or _last_ended_week()
    state, flagged = chosen.get("state") or "", bool(chosen.get("flagged"))
    search, sort = chosen.get("q") or "", chosen.get("sort") or "name"
    found = review.week_timesheets(week_start=week_start, state=state or None, flagged=True if flagged else None,
                                   search=search, sort=sort)
    page = Paginator(found, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    # The week's evidence of every contractor, read once for the page's rows and the select-all count.
    evidence = evidence_by_contractor(None, week_start=week_start)
    rows = review.timesheet_rows(list(page.object_list), week_start=week_start, evidence=evidence)
    totals = review.state_totals(week_start=week_start)
    waiting = next(t for t in totals if t.state == TimesheetState.SUBMITTED)
    matching = review.approvable_count(week_start=week_start, state=state, flagged_only=flagged, search=search,
                                       evidence=evidence)
    keep = {"week": week_name(week_start), "state": state, "flagged": "on" if flagged else "", "q": search}
    return render(request, "payroll/console/home.html", {
        "filters": filters, "week": week_name(week_start), "week_start": week_start, "week_end": week_start + WEEK,
        "prev_week": week_name(week_start - WEEK), "next_week": week_name(week_start + WEEK),
        "state": state, "states": TimesheetState.choices, "flagged": flagged, "q": search, "sort": sort,
        "sort_links": {key: urlencode({**{k: v for k, v in keep.items() if v},
                                       "sort": f"-{key}" if sort == key else key})
                       for key in ("name", "hours", "amount", "state")},
        "totals": totals, "waiting": waiting, "currency": settings.PAYROLL_CURRENCY,
        "week_total": review.StateTotal("", "All", sum(t.timesheets for t in totals), sum(t.minutes for t in totals),
                                        sum((t.amount for t in totals), Decimal("0.00"))),
        "page": page, "rows": rows, "matching": matching,
        "bulk_approvable": any(r.approvable_in_bulk for r in rows),
        "pay_runs": review.pay_runs_of_week(week_start=week_start),
        "pay_run_form": PayRunForm(initial={"week": week_name(week_start)}),
    }, status=400 if "week" in filters.errors else 200)  # the form names the refused week; last week is shown


def _decide(request: HttpRequest, timesheet: Timesheet, form: DecisionForm) -> bool:
    """Apply a valid decision form to the timesheet; refusals go onto the form."""
    if not form.is_valid():
        return False
    approve = form.cleaned_data["decision"] == "approve"
    decided = run_service(request, lambda: timesheet_decide(timesheet=timesheet, approve=approve, actor=request.user,
                                                            reason=form.cleaned_data["reason"]), form=form)
    if decided.ok:
        messages.success(request, f"{timesheet.contractor}, {week_name(timesheet.week_start)}: "
                                  f"{'approved' if approve else 'sent back with the reason'}.")
    return decided.ok


@require_POST
@staff_permission_required(RUN_PAYROLL)
def timesheet_decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject from a row of the week page; any refusal is shown above the table."""
    timesheet = get_object_or_404(Timesheet.objects.select_related("contractor__user"), pk=pk)
    form = DecisionForm(request.POST)
    if not _decide(request, timesheet, form):
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"{timesheet.contractor}: {error}")
    return redirect(_week_url(timesheet.week_start, request.POST))


@require_POST
@staff_permission_required(RUN_PAYROLL)
def bulk_approve(request: HttpRequest) -> HttpResponse:
    form = BulkApproveForm(request.POST)
    week_start = _posted_week(request)
    if not form.is_valid():
        messages.error(request, "Choose the timesheets to approve.")
        return redirect(_week_url(week_start, request.POST))
    approved = run_service(request, lambda: timesheets_approve(
        timesheet_ids=form.cleaned_data["timesheets"], week_start=form.cleaned_data["week"], actor=request.user))
    if approved.ok:
        messages.success(request, f"Approved {approved.value} timesheet(s) of {week_name(week_start)}.")
    return redirect(_week_url(week_start, request.POST))


@require_POST
@staff_permission_required(RUN_PAYROLL)
def approve_matching(request: HttpRequest) -> HttpResponse:
    """Select-all: approve every submitted, unflagged timesheet the posted filter matches, across its pages, if it
    still matches as many as the reviewer confirmed."""
    form = ApproveMatchingForm(request.POST)
    week_start = _posted_week(request)
    if not form.is_valid():
        messages.error(request, " ".join(f"{name}: {error}" for name, errors in form.errors.items()
                                         for error in errors))
        return redirect(_week_url(week_start, request.POST))
    data = form.cleaned_data
    approved = run_service(request, lambda: timesheets_approve_matching(
        week_start=data["week"], state=data["state"], flagged_only=data["flagged"], search=data["q"],
        expected=data["expected"], actor=request.user))
    if approved.ok:
        messages.success(request, f"Approved {approved.value} timesheet(s) of {week_name(week_start)}: every "
                                  "submitted, unflagged one matching the filter.")
    return redirect(_week_url(week_start, request.POST))


@require_POST
@staff_permission_required(RUN_PAYROLL)
def close_weeks(request: HttpRequest) -> HttpResponse:
    """What the Monday beat task does, now: submit the drafts of every ended week and tell reviewers."""
    closed = close_pay_weeks()
    if closed:
        messages.success(request, f"Submitted {closed} draft timesheet(s) of ended weeks; reviewers were emailed.")
    else:
        messages.info(request, "No draft timesheet of an ended week was left open.")
    return redirect(_week_url(_posted_week(request), request.POST))


@require_POST
@staff_permission_required(RUN_PAYROLL)
def pay_run_create(request: HttpRequest) -> HttpResponse:
    form = PayRunForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(f"{name}: {error}" for name, errors in form.errors.items()
                                         for error in errors))
        return redirect(_week_url(_posted_week(request)))
    week_start = form.cleaned_data["week"]
    executed = run_service(request, lambda: pay_run_execute(week_start=week_start, actor=request.user,
                                                            minimum_payout=form.cleaned_data["minimum_payout"]))
    if not executed.ok:
        return redirect(_week_url(week_start))
    run = executed.value
    for note in held_pay_notes(week_start=week_start):
        messages.warning(request, f"Not paid: {note}.")
    if run is None:
        messages.info(request, NOTHING_TO_PAY)
        return redirect(_week_url(week_start))
    messages.success(request, f"Pay run {run.pk} for {week_name(week_start)} made {run.statements.count()} "
                              "statement(s).")
    return redirect("payroll-console:pay-run", pk=run.pk)


@require_http_methods(["GET", "POST"])
@staff_permission_required(RUN_PAYROLL)
def timesheet_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One contractor-week: entries, evidence, flags, audit; decide on it or add an adjustment."""
    timesheet = get_object_or_404(Timesheet.objects.select_related("contractor__user", "submitted_by", "decided_by"),
                                  pk=pk)
    this_week = week_start_utc(timezone.now())
    lines = list(entries_of(timesheet))
    jobs = {e.job for e in lines}
    # Both forms have a reason: the decision's inputs get their own ids.
    decision = DecisionForm(request.POST if "decision" in request.POST else None, auto_id="decision-%s")
    adjustment = AdjustmentForm(request.POST if "minutes" in request.POST else None, initial={
        "corrects_week": week_name(timesheet.week_start) if timesheet.week_start < this_week else "",
        "job": next(iter(jobs)) if len(jobs) == 1 else None,
    })
    if decision.is_bound and _decide(request, timesheet, decision):
        return redirect("payroll-console:timesheet", pk=pk)
    if adjustment.is_bound and adjustment.is_valid():
        data = adjustment.cleaned_data
        added = run_service(request, lambda: adjustment_create(
            contractor=timesheet.contractor, job=data["job"], minutes=data["minutes"], reason=data["reason"],
            actor=request.user, corrects_week=data["corrects_week"]), form=adjustment)
        if added.ok:
            entry = added.value
            messages.success(request, f"Adjustment of {entry.minutes:+d} minutes added to "
                                      f"{week_name(entry.timesheet.week_start)} for {timesheet.contractor}.")
            return redirect("payroll-console:timesheet", pk=entry.timesheet_id)
    return render(request, "payroll/console/timesheet.html", {
        "timesheet": timesheet, "row": review.timesheet_row(timesheet),
        "entries": [(e, minutes_as_hmm(e.minutes), week_name(e.corrects_week) if e.corrects_week else "")
                    for e in lines],
        "week": week_name(timesheet.week_start), "week_end": timesheet.week_start + WEEK,
        "tz": timesheet.contractor.timezone or "UTC", "statement": getattr(timesheet, "statement", None),
        "decision": decision, "adjustment": adjustment, "this_week": week_name(this_week),
        "currency": settings.PAYROLL_CURRENCY,
    })


@require_http_methods(["GET"])
@staff_permission_required(RUN_PAYROLL)
def pay_run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(PayRun.objects.select_related("created_by"), pk=pk)
    q = request.GET.get("q", "").strip()[:100]
    summary = review.pay_run_summary(run)
    # The totals are the whole run's; the table shows a page of its statements, those matching `q` when given.
    page = Paginator(review.pay_run_statements(run, search=q), ROWS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "payroll/console/pay_run.html", {
        "summary": summary, "run": run, "week": week_name(run.week_start), "page": page, "q": q,
        "lines": [(s, minutes_as_hmm(s.minutes), minutes_as_hours(s.minutes)) for s in page.object_list],
        "in_no_file": list(payouts.statements_in_no_file(pay_run=run)),
    })


@require_http_methods(["GET", "POST"])
@staff_permission_required(RUN_PAYROLL)
def terms_change(request: HttpRequest, job_pk: int) -> HttpResponse:
    """Schedule a job's new rate and cap; the job page shows the form, errors come back here."""
    job = get_object_or_404(Job, pk=job_pk)
    history = pay_terms_history(job=job)
    form = PayTermsForm(request.POST) if request.method == "POST" else PayTermsForm.following(history[-1])
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        changed = run_service(request, lambda: pay_terms_change(
            job=job, effective_from=data["effective_from"], hourly_rate=data["hourly_rate"],
            weekly_cap_hours=data["weekly_cap_hours"], reason=data["reason"], actor=request.user),
            form=form, fields=PayTermsForm.SERVICE_FIELDS)
        if changed.ok:
            change = changed.value
            messages.success(request, f"{job}: {history[-1].currency} {change.hourly_rate}/h, cap "
                                      f"{change.weekly_cap_hours} h from {change.effective_from:%Y-%m-%d %H:%M} UTC.")
            return redirect("portal:console-job", pk=job.pk)
    return render(request, "payroll/console/terms.html", {
        "job": job, "form": form, "history": history, "currency": history[-1].currency,
        "changes": pay_terms_changes(job=job),
    })


# --- file downloads ---------------------------------------------------------------------------------

def _csv_download(lines: Iterator[str], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def timesheet_export_response(week_start: datetime, fmt: str, *, bom: bool = False, states: list[str] | None = None,
                              entries: bool = False) -> HttpResponse:
    """The week's export as a download (the console page and the API): CSV streamed as it is read; XLSX built in
    a temporary file first (a zip cannot be streamed before it is complete), which the response closes and so
    deletes. Only the timesheets in `states` when given; a state that does not exist raises DomainError before
    anything is read."""
    filename = f"timesheets-{week_name(week_start)}.{fmt}"
    exports.export_scope(week_start, states=states)  # refuses a bad state before the response starts streaming
    if fmt == "csv":
        return _csv_download(exports.csv_lines(week_start, bom=bom, states=states), filename)
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    exports.xlsx_write(week_start, spool, states=states, entries=entries)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=filename, content_type=exports.XLSX_CONTENT_TYPE)


@require_GET
@staff_permission_required(RUN_PAYROLL)
def timesheet_export(request: HttpRequest, week: str, fmt: str) -> HttpResponse:
    """?state= (repeated) keeps only those timesheet states; ?entries=1 adds the XLSX sheet of every entry."""
    if fmt not in exports.FORMATS:
        raise Http404("Export as csv or xlsx.")
    try:
        return timesheet_export_response(week_parse(week), fmt, bom=request.GET.get("bom") == "1",
                                         states=request.GET.getlist("state"), entries=request.GET.get("entries") == "1")
    except DomainError as exc:  # a file link, not a page: the refusal is the plain-text answer
        return HttpResponseBadRequest(exc.message, content_type="text/plain; charset=utf-8")


@require_GET
@staff_permission_required(RUN_PAYROLL)
def payout_file(request: HttpRequest, pk: int, service: str) -> StreamingHttpResponse:
    if service not in payouts.PAYOUT_FILES:
        raise Http404("Payout files exist for paypal and wise.")
    pay_run = get_object_or_404(PayRun, pk=pk)
    return _csv_download(payouts.payout_csv_lines(pay_run=pay_run, method=service),
                         f"{service}-{week_name(pay_run.week_start)}-pay-run-{pay_run.pk}.csv")


@require_GET
@login_required
def statement_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """A statement as CSV for its contractor or staff; anyone else is told it does not exist."""
    statement = _visible_statement(request, pk)
    return _csv_download(exports.statement_csv_lines(statement),
                         f"statement-{week_name(statement.timesheet.week_start)}-{statement.pk}.csv")

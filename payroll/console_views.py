"""Staff payroll pages: review a week's timesheets, adjust, run the pay run, change a job's pay terms."""
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from annotations.models import Job
from common.decorators import staff_required
from common.errors import DomainError
from payroll import payouts, review
from payroll.console_forms import (
    AdjustmentForm,
    BulkApproveForm,
    DecisionForm,
    PayRunForm,
    PayTermsForm,
    WeekFilterForm,
)
from payroll.models import PayRun, Timesheet, TimesheetState
from payroll.selectors import (
    WEEK,
    entries_of,
    minutes_as_hmm,
    minutes_as_hours,
    pay_terms_history,
    week_name,
    week_start_utc,
)
from payroll.services import entries, payruns, terms, timesheets

NOTHING_TO_PAY = "Nothing to pay: no approved timesheet of the week is waiting for payment."
ROWS_PER_PAGE = 100


def _week_url(week_start: datetime, data: Mapping[str, str] | None = None) -> str:
    """The week page, keeping the reviewer's state and flagged filters when they are valid."""
    query = {"week": week_name(week_start)}
    data = data or {}
    if data.get("state") in TimesheetState.values:
        query["state"] = data["state"]
    if data.get("flagged") in ("on", "1", "true"):
        query["flagged"] = "on"
    return f"{reverse('payroll-console:home')}?{urlencode(query)}"


def _last_ended_week() -> datetime:
    """Monday 00:00 UTC of the week that last ended: reviewers usually review it."""
    return week_start_utc(timezone.now()) - WEEK


def _posted_week(request: HttpRequest) -> datetime:
    """The week a console form was posted from; the week that last ended when it is missing or bad."""
    form = WeekFilterForm(request.POST)
    return (form.is_valid() and form.cleaned_data["week"]) or _last_ended_week()


@require_http_methods(["GET"])
@staff_required
def home(request: HttpRequest) -> HttpResponse:
    filters = WeekFilterForm(request.GET or None)
    filters.is_valid()
    chosen = getattr(filters, "cleaned_data", {})  # the valid part of the query; unbound: nothing
    week_start = chosen.get("week") or _last_ended_week()
    state, flagged = chosen.get("state") or "", bool(chosen.get("flagged"))
    rows = review.week_rows(week_start=week_start, state=state or None, flagged_only=flagged)
    page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "payroll/console/home.html", {
        "filters": filters, "week": week_name(week_start), "week_start": week_start, "week_end": week_start + WEEK,
        "prev_week": week_name(week_start - WEEK), "next_week": week_name(week_start + WEEK),
        "state": state, "states": TimesheetState.choices, "flagged": flagged,
        "counts": review.state_counts(week_start=week_start), "page": page,
        "bulk_approvable": any(r.approvable_in_bulk for r in page),
        "pay_runs": review.pay_runs_of_week(week_start=week_start),
        "pay_run_form": PayRunForm(initial={"week": week_name(week_start)}),
    })


def _decide(request: HttpRequest, timesheet: Timesheet, form: DecisionForm) -> bool:
    """Apply a valid decision form to the timesheet; refusals go onto the form."""
    if not form.is_valid():
        return False
    approve = form.cleaned_data["decision"] == "approve"
    try:
        timesheets.timesheet_decide(timesheet=timesheet, approve=approve, actor=request.user,
                                    reason=form.cleaned_data["reason"])
    except DomainError as exc:
        form.add_domain_error(exc)
        return False
    messages.success(request, f"{timesheet.contractor}, {week_name(timesheet.week_start)}: "
                              f"{'approved' if approve else 'sent back with the reason'}.")
    return True


@require_POST
@staff_required
def timesheet_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject from a row of the week page; any refusal is shown above the table."""
    timesheet = get_object_or_404(Timesheet.objects.select_related("contractor__user"), pk=pk)
    form = DecisionForm(request.POST)
    if not _decide(request, timesheet, form):
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"{timesheet.contractor}: {error}")
    return redirect(_week_url(timesheet.week_start, request.POST))


@require_POST
@staff_required
def bulk_approve(request: HttpRequest) -> HttpResponse:
    form = BulkApproveForm(request.POST)
    week_start = _posted_week(request)
    if not form.is_valid():
        messages.error(request, "Choose the timesheets to approve.")
        return redirect(_week_url(week_start, request.POST))
    try:
        approved = timesheets.timesheets_approve(timesheet_ids=form.cleaned_data["timesheets"],
                                             week_start=form.cleaned_data["week"], actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Approved {approved} timesheet(s) of {week_name(week_start)}.")
    return redirect(_week_url(week_start, request.POST))


@require_POST
@staff_required
def close_weeks(request: HttpRequest) -> HttpResponse:
    """What the Monday beat task does, now: submit the drafts of every ended week and tell reviewers."""
    closed = timesheets.close_pay_weeks()
    if closed:
        messages.success(request, f"Submitted {closed} draft timesheet(s) of ended weeks; reviewers were emailed.")
    else:
        messages.info(request, "No draft timesheet of an ended week was left open.")
    return redirect(_week_url(_posted_week(request), request.POST))


@require_POST
@staff_required
def pay_run_create(request: HttpRequest) -> HttpResponse:
    form = PayRunForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(f"{name}: {error}" for name, errors in form.errors.items()
                                         for error in errors))
        return redirect(_week_url(_posted_week(request)))
    week_start = form.cleaned_data["week"]
    try:
        run = payruns.pay_run_execute(week_start=week_start, actor=request.user,
                                      minimum_payout=form.cleaned_data["minimum_payout"])
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(_week_url(week_start))
    if run is None:
        messages.info(request, NOTHING_TO_PAY)
        return redirect(_week_url(week_start))
    messages.success(request, f"Pay run {run.pk} for {week_name(week_start)} made {run.statements.count()} "
                              "statement(s).")
    return redirect("payroll-console:pay-run", pk=run.pk)


@require_http_methods(["GET", "POST"])
@staff_required
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
        try:
            entry = entries.adjustment_create(contractor=timesheet.contractor, job=data["job"],
                                              minutes=data["minutes"], reason=data["reason"], actor=request.user,
                                              corrects_week=data["corrects_week"])
        except DomainError as exc:
            adjustment.add_domain_error(exc)
        else:
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
@staff_required
def pay_run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(PayRun.objects.select_related("created_by"), pk=pk)
    summary = review.pay_run_summary(run)
    return render(request, "payroll/console/pay_run.html", {
        "summary": summary, "run": run, "week": week_name(run.week_start),
        "lines": [(s, minutes_as_hmm(s.minutes), minutes_as_hours(s.minutes)) for s in summary.statements],
        "in_no_file": list(payouts.statements_in_no_file(pay_run=run)),
    })


@require_http_methods(["GET", "POST"])
@staff_required
def terms_change(request: HttpRequest, job_pk: int) -> HttpResponse:
    """Schedule a job's new rate and cap; the job page shows the form, errors come back here."""
    job = get_object_or_404(Job, pk=job_pk)
    history = pay_terms_history(job=job)
    form = PayTermsForm(request.POST) if request.method == "POST" else PayTermsForm.following(history[-1])
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            change = terms.pay_terms_change(job=job, effective_from=data["effective_from"],
                                            hourly_rate=data["hourly_rate"],
                                            weekly_cap_hours=data["weekly_cap_hours"], reason=data["reason"],
                                            actor=request.user)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, f"{job}: {job.currency} {change.hourly_rate}/h, cap {change.weekly_cap_hours} h "
                                      f"from {change.effective_from:%Y-%m-%d %H:%M} UTC.")
            return redirect("portal:console-job", pk=job.pk)
    return render(request, "payroll/console/terms.html", {
        "job": job, "form": form, "history": history,
        "changes": job.pay_terms_changes.select_related("created_by").order_by("effective_from"),
    })

"""Workforce pages: the contractor's profile, agreements and privacy; staff's applicant queue and agreements."""
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.i18n import set_language

from common.decorators import contractor_required, staff_permission_required
from common.http import client_ip
from common.pages import run_service
from common.roles import DECIDE_APPLICANTS
from workforce.forms import (
    AgreementAcceptForm,
    AgreementPublishForm,
    AnnouncementForm,
    ApplicantFilterForm,
    NotificationEmailsForm,
    ProfileForm,
    StaffDecisionForm,
    TaxDeclarationForm,
)
from workforce.middleware import remember_language
from workforce.models import Agreement, Contractor, Notification, OnboardingState
from workforce.selectors.agreements import current_agreements, pending_agreements
from workforce.selectors.applicants import applicant_list, counts_by_country, counts_by_state
from workforce.selectors.notifications import notification_list, unread_count
from workforce.selectors.profile import tax_declaration_latest
from workforce.services.agreements import agreement_publish, agreements_accept
from workforce.services.decisions import contractor_start_working, contractors_decide
from workforce.services.notifications import (
    OPTIONAL_KINDS,
    announcement_audience,
    announcement_send,
    notification_emails_set,
    notification_mark_read,
)
from workforce.services.privacy import contractor_data_export, contractor_delete
from workforce.services.profile import contractor_ui_language_set, payout_release, profile_submit

# --- contractor -----------------------------------------------------------------------

@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Django's set_language (the language cookie, then back to `next`); a signed-in person's choice is also kept
    in the session, and a contractor's on the profile, so it wins over the browser's and reaches the emails."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        remember_language(request, language)
        contractor = Contractor.objects.filter(user=request.user).first()
        if contractor is not None:
            contractor_ui_language_set(contractor=contractor, language=language)
    return response


@require_http_methods(["GET", "POST"])
@contractor_required
def profile(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    initial = {
        "legal_name": contractor.legal_name, "display_name": contractor.display_name,
        "country": contractor.country.code if contractor.country else "", "timezone": contractor.timezone,
        "languages": contractor.languages, "hours_available_per_week": contractor.hours_available_per_week,
        "payout_method": contractor.payout_method, "payout_email": contractor.payout_email,
        "date_of_birth": contractor.date_of_birth,
    }
    declaration = tax_declaration_latest(contractor)
    form = ProfileForm(request.POST or None, initial=initial, prefix="profile")
    tax_form = TaxDeclarationForm(request.POST or None, prefix="tax", initial={
        "tax_legal_name": contractor.legal_name, "country_of_residence": initial["country"]})
    if request.method == "POST":
        wants_tax = declaration is None or request.POST.get("tax-redeclare") == "on"
        if form.is_valid() and (not wants_tax or tax_form.is_valid()):
            tax = tax_form.cleaned_data if wants_tax else None
            if run_service(request, lambda: profile_submit(contractor=contractor, profile=form.cleaned_data, tax=tax,
                                                           ip_address=client_ip(request)),
                           form=(form, tax_form)).ok:
                messages.success(request, _("Profile saved."))
                return redirect("portal:dashboard")
    return render(request, "workforce/profile.html", {
        "form": form, "tax_form": tax_form, "declaration": declaration, "contractor": contractor,
        "emails_form": _emails_form(contractor)})


def _emails_form(contractor: Contractor, data: object = None) -> NotificationEmailsForm:
    on = [str(kind) for kind in OPTIONAL_KINDS if kind not in contractor.emails_off]
    return NotificationEmailsForm(data, initial={"emails_on": on}, prefix="emails")


@require_POST
@contractor_required
def notification_emails(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    form = _emails_form(contractor, request.POST)
    if form.is_valid() and run_service(request, lambda: notification_emails_set(
            contractor=contractor, emails_on=form.cleaned_data["emails_on"])).ok:
        messages.success(request, _("Email settings saved."))
    return redirect("workforce:profile")


@require_GET
@contractor_required
def notifications(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    return render(request, "workforce/notifications.html", {
        "contractor": contractor, "notices": notification_list(contractor, limit=200),
        "unread": unread_count(contractor)})


@require_POST
@contractor_required
def notification_read(request: HttpRequest, contractor: Contractor, notification_id: int | None = None) -> HttpResponse:
    """Mark one notification (the contractor's own: another's is 404) or all of them read, then go back."""
    notice = None
    if notification_id is not None:
        notice = get_object_or_404(Notification, pk=notification_id, contractor=contractor)
    notification_mark_read(contractor=contractor, notification=notice)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = ""
    return redirect(back or "workforce:notifications")


@require_http_methods(["GET", "POST"])
@contractor_required
def agreements(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    pending = pending_agreements(contractor)
    form = AgreementAcceptForm(request.POST or None, pending=pending)
    if request.method == "POST" and form.is_valid() and run_service(request, lambda: agreements_accept(
            contractor=contractor, agreement_ids=form.cleaned_data["agreements"],
            ip_address=client_ip(request), user_agent=request.headers.get("user-agent", ""),
    ), form=form).ok:
        messages.success(request, _("Thank you: your acceptance is recorded."))
        return redirect("portal:dashboard")
    return render(request, "workforce/agreements.html", {
        "form": form, "pending": pending, "current": current_agreements(),
        "accepted": contractor.acceptances.select_related("agreement").order_by("-accepted_at"),
    })


@require_POST
@contractor_required
def start_working(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    if run_service(request, lambda: contractor_start_working(contractor=contractor)).ok:
        messages.success(request, _("You are active: the batches staff give you will appear here."))
    return redirect("portal:dashboard")


@require_http_methods(["GET", "POST"])
@contractor_required
def privacy(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    if request.method == "POST":
        if request.POST.get("confirm") != "DELETE":
            messages.error(request, _("Type DELETE in capital letters to confirm."))
            return redirect("workforce:privacy")
        contractor_delete(contractor=contractor)
        logout(request)
        messages.success(request, _("Your account is closed and your personal data is removed."))
        return redirect("portal:job")
    return render(request, "workforce/privacy.html", {"contractor": contractor})


@require_GET
@contractor_required
def data_export(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    data = contractor_data_export(contractor=contractor)
    response = HttpResponse(json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="labelcrew-my-data.json"'
    return response


# --- staff ----------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@staff_permission_required(DECIDE_APPLICANTS)
def applicants(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        decision = StaffDecisionForm(request.POST)
        ids = [int(i) for i in request.POST.getlist("contractors") if i.isdigit()]
        if not ids:
            messages.error(request, "Choose at least one contractor.")
        elif decision.is_valid():
            data = decision.cleaned_data
            outcome = run_service(request, lambda: contractors_decide(
                contractor_ids=ids, action=data["action"], actor=request.user, reason=data["reason"]))
            if outcome.ok:
                messages.success(request, f"{data['action'].capitalize()}: {outcome.value} contractor(s).")
        else:
            messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in decision.errors.items()))
        return redirect(request.get_full_path())
    filters = ApplicantFilterForm(request.GET or None)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    rows = applicant_list(**{k: v for k, v in criteria.items() if v not in (None, "")})
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "workforce/staff/applicants.html", {
        "filters": filters, "page": page, "decision": StaffDecisionForm(),
        "by_state": counts_by_state(), "by_country": counts_by_country()[:15],
        "states": OnboardingState,
    })


@require_POST
@staff_permission_required(DECIDE_APPLICANTS)
def payout_release_view(request: HttpRequest, pk: int) -> HttpResponse:
    contractor = get_object_or_404(Contractor, pk=pk)
    if run_service(request, lambda: payout_release(contractor=contractor, actor=request.user)).ok:
        messages.success(request, f"{contractor}: payout released; the next pay run pays them.")
    return redirect("portal:staff-applicant", pk=pk)


@require_http_methods(["GET", "POST"])
@staff_permission_required(DECIDE_APPLICANTS)
def staff_announcement(request: HttpRequest) -> HttpResponse:
    """Send a message to the active contractors, or to those in the chosen states and countries."""
    form = AnnouncementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        outcome = run_service(request, lambda: announcement_send(
            actor=request.user, text=data["text"], countries=data["countries"], states=data["states"]), form=form)
        if outcome.ok:
            messages.success(request, f"Sent to {outcome.value} contractor(s).")
            return redirect("workforce:staff-announcement")
    return render(request, "workforce/staff/announcement.html", {
        "form": form, "active": announcement_audience().count()})


@require_http_methods(["GET", "POST"])
@staff_permission_required(DECIDE_APPLICANTS)
def staff_agreements(request: HttpRequest) -> HttpResponse:
    form = AgreementPublishForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = run_service(request, lambda: agreement_publish(actor=request.user, **form.cleaned_data), form=form)
        if outcome.ok:
            messages.success(request, f"Published {outcome.value}. Contractors must accept it before new batches.")
            return redirect("workforce:staff-agreements")
    return render(request, "workforce/staff/agreements.html", {
        "form": form, "agreements": Agreement.objects.order_by("kind", "-version")})


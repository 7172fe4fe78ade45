"""Server-rendered pages: the public job page, the contractor's own pages and the staff review queue."""
import json
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotations.defects import DEFECT_CLASSES
from annotations.models import LabelStudioAccount
from annotations.sample_job import example_crop
from annotations.selectors import contractor_batches, qualification_round, quality_rollups
from annotations.services.accounts import label_studio_password
from common.decorators import contractor_page, contractor_required, staff_required
from common.errors import DomainError
from common.forms import form_error
from common.http import client_ip
from payroll.selectors.contractor_weeks import contractor_zone, statements_of, week_summary
from payroll.selectors.weeks import week_name, week_start_utc
from workforce import selectors
from workforce.forms import (
    AgreementAcceptForm,
    AgreementPublishForm,
    ApplicantFilterForm,
    ProfileForm,
    StaffDecisionForm,
    TaxDeclarationForm,
)
from workforce.models import Agreement, Contractor, OnboardingState
from workforce.services.agreements import agreement_publish, agreements_accept
from workforce.services.decisions import contractor_decide, contractor_start_working, contractors_decide
from workforce.services.privacy import contractor_data_export, contractor_delete
from workforce.services.profile import profile_submit

View = Callable[..., HttpResponse]


# --- public ---------------------------------------------------------------------------

@require_GET
def job_page(request: HttpRequest) -> HttpResponse:
    manifest = settings.SAMPLE_JOB_DIR / "manifest.json"
    return render(request, "workforce/job.html", {
        "rate": settings.DEFAULT_HOURLY_RATE_USD, "weekly_cap_hours": settings.DEFAULT_WEEKLY_CAP_HOURS,
        "defect_classes": DEFECT_CLASSES, "has_examples": manifest.is_file(),
    })


@require_GET
@cache_control(public=True, max_age=3600)
def defect_example(request: HttpRequest, class_key: str) -> HttpResponse:
    key = f"defect-example:{class_key}:{settings.SAMPLE_JOB_DIR}"
    jpeg = cache.get(key)
    if jpeg is None:
        jpeg = example_crop(sample_dir=settings.SAMPLE_JOB_DIR, class_key=class_key)
        if jpeg is None:
            raise Http404("No example of this defect class.")
        cache.set(key, jpeg, 3600)
    return HttpResponse(jpeg, content_type="image/jpeg")


# --- contractor -----------------------------------------------------------------------

@require_GET
@contractor_page(staff_home="workforce:staff-applicants")  # where everyone lands after signing in
def dashboard(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    account = LabelStudioAccount.objects.filter(contractor=contractor, active=True).first()
    now = timezone.now()
    last_statement = statements_of(contractor).first()
    quality = quality_rollups([contractor.pk])[contractor.pk]
    return render(request, "workforce/dashboard.html", {
        "contractor": contractor, "batches": contractor_batches(contractor=contractor),
        "label_studio_account": account, "label_studio_url": settings.LABEL_STUDIO_URL,
        "next_step": selectors.next_step(contractor),
        "missing": selectors.profile_missing(contractor),
        "pending_agreements": selectors.pending_agreements(contractor),
        "weekly_cap_hours": settings.DEFAULT_WEEKLY_CAP_HOURS,
        "rate": settings.DEFAULT_HOURLY_RATE_USD,
        "week": week_summary(contractor=contractor, week_start=week_start_utc(now), now=now),
        "tzname": contractor_zone(contractor).key,
        "last_statement": last_statement,
        "quality": quality,
        "qualification": qualification_round(contractor_id=contractor.pk),
        "quality_per_class": sorted(quality.per_class.items(), key=lambda item: (item[1], item[0])),
        "last_statement_week": week_name(last_statement.timesheet.week_start) if last_statement else "",
    })


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
    declaration = contractor.tax_declarations.first()
    form = ProfileForm(request.POST or None, initial=initial, prefix="profile")
    tax_form = TaxDeclarationForm(request.POST or None, prefix="tax", initial={
        "tax_legal_name": contractor.legal_name, "country_of_residence": initial["country"]})
    if request.method == "POST":
        wants_tax = declaration is None or request.POST.get("tax-redeclare") == "on"
        if form.is_valid() and (not wants_tax or tax_form.is_valid()):
            tax = tax_form.cleaned_data if wants_tax else None
            try:
                profile_submit(contractor=contractor, profile=form.cleaned_data, tax=tax,
                                        ip_address=client_ip(request))
            except DomainError as exc:
                form_error(tax_form if exc.field in tax_form.fields else form, exc)
            else:
                messages.success(request, "Profile saved.")
                return redirect("workforce:dashboard")
    return render(request, "workforce/profile.html", {
        "form": form, "tax_form": tax_form, "declaration": declaration, "contractor": contractor})


@require_http_methods(["GET", "POST"])
@contractor_required
def agreements(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    pending = selectors.pending_agreements(contractor)
    form = AgreementAcceptForm(request.POST or None, pending=pending)
    if request.method == "POST" and form.is_valid():
        try:
            agreements_accept(
                contractor=contractor, agreement_ids=form.cleaned_data["agreements"],
                ip_address=client_ip(request), user_agent=request.headers.get("user-agent", ""),
            )
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, "Thank you: your acceptance is recorded.")
            return redirect("workforce:dashboard")
    return render(request, "workforce/agreements.html", {
        "form": form, "pending": pending, "current": selectors.current_agreements(),
        "accepted": contractor.acceptances.select_related("agreement").order_by("-accepted_at"),
    })


@require_POST
@contractor_required
def start_working(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    try:
        contractor_start_working(contractor=contractor)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "You are active: batches assigned to you will appear here.")
    return redirect("workforce:dashboard")


@require_http_methods(["GET", "POST"])
@contractor_required
def privacy(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    if request.method == "POST":
        if request.POST.get("confirm") != "DELETE":
            messages.error(request, "Type DELETE in capitals to confirm.")
            return redirect("workforce:privacy")
        contractor_delete(contractor=contractor)
        logout(request)
        messages.success(request, "Your account is closed and your personal data removed.")
        return redirect("workforce:job")
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
@staff_required
def applicants(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        decision = StaffDecisionForm(request.POST)
        ids = [int(i) for i in request.POST.getlist("contractors") if i.isdigit()]
        if not ids:
            messages.error(request, "Choose at least one contractor.")
        elif decision.is_valid():
            try:
                n = contractors_decide(contractor_ids=ids, action=decision.cleaned_data["action"],
                                                actor=request.user, reason=decision.cleaned_data["reason"])
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"{decision.cleaned_data['action'].capitalize()}: {n} contractor(s).")
        else:
            messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in decision.errors.items()))
        return redirect(request.get_full_path())
    filters = ApplicantFilterForm(request.GET or None)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    rows = selectors.applicant_list(**{k: v for k, v in criteria.items() if v not in (None, "")})
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "workforce/staff/applicants.html", {
        "filters": filters, "page": page, "decision": StaffDecisionForm(),
        "by_state": selectors.counts_by_state(), "by_country": selectors.counts_by_country()[:15],
        "states": OnboardingState,
    })


@require_http_methods(["GET", "POST"])
@staff_required
def applicant_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contractor = get_object_or_404(Contractor.objects.select_related("user"), pk=pk)
    form = StaffDecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contractor_decide(contractor=contractor, action=form.cleaned_data["action"],
                                       actor=request.user, reason=form.cleaned_data["reason"],
                                       qualification_score=form.cleaned_data["qualification_score"])
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"{contractor}: now {contractor.get_state_display().lower()}.")
            return redirect("workforce:staff-applicant", pk=pk)
    return render(request, "workforce/staff/applicant.html", {
        "contractor": contractor, "form": form,
        "transitions": contractor.transitions.select_related("actor").order_by("-created_at"),
        "declaration": contractor.tax_declarations.first(),
        "missing": selectors.profile_missing(contractor),
        "qualification": qualification_round(contractor_id=contractor.pk),
        "label_studio_url": settings.LABEL_STUDIO_URL,
    })


@require_http_methods(["GET", "POST"])
@staff_required
def staff_agreements(request: HttpRequest) -> HttpResponse:
    form = AgreementPublishForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            agreement = agreement_publish(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form_error(form, exc)
        else:
            messages.success(request, f"Published {agreement}. Contractors must accept it before new batches.")
            return redirect("workforce:staff-agreements")
    return render(request, "workforce/staff/agreements.html", {
        "form": form, "agreements": Agreement.objects.order_by("kind", "-version")})



@require_POST
@contractor_required
def label_studio_password_view(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    """The contractor's Label Studio password, shown on request on a page no cache keeps."""
    account = get_object_or_404(LabelStudioAccount, contractor=contractor, active=True)
    response = render(request, "workforce/label_studio_password.html", {
        "account": account, "password": label_studio_password(account=account),
        "label_studio_url": settings.LABEL_STUDIO_URL})
    response["Cache-Control"] = "no-store"
    return response

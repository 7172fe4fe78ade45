"""Pages that read from several apps: job page, dashboard, Label Studio password, applicant page, console job pages."""
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotations.defects import DEFECT_CLASSES
from annotations.forms import GoldImportForm, JobCreateForm, QualificationForm
from annotations.models import ImportRun, Job
from annotations.selectors.accounts import label_studio_account_active
from annotations.selectors.agreement import SHOWN, job_agreements
from annotations.selectors.batch_work import contractor_work_batches
from annotations.selectors.batches import batch_state_counts, contractor_batches, job_batches
from annotations.selectors.deliveries import job_deliveries
from annotations.selectors.jobs import job_photos_per_day, job_progress, job_with_progress
from annotations.selectors.qualification import qualification_round
from annotations.selectors.quality import quality_rollups
from annotations.services import client_import, jobs, publishing
from annotations.services.accounts import label_studio_password
from common.charts import bar_chart
from common.decorators import contractor_page, contractor_required, staff_permission_required
from common.errors import DomainError
from common.pages import run_service
from common.roles import DECIDE_APPLICANTS, OPERATE_JOBS
from payroll.forms import PayTermsForm
from payroll.selectors.contractor_weeks import statements_of, week_summary
from payroll.selectors.job_hours import job_hours_per_day
from payroll.selectors.terms import pay_terms_default, pay_terms_history
from payroll.selectors.weeks import week_name, week_start_utc
from portal.forms import ForecastForm
from portal.selectors.examples import defect_close_up, has_examples
from portal.selectors.forecast import job_forecast
from workforce.forms import StaffDecisionForm
from workforce.models import Contractor
from workforce.selectors.agreements import pending_agreements
from workforce.selectors.applicants import contractor_transitions
from workforce.selectors.linked import link_evidence
from workforce.selectors.profile import profile_missing, tax_declaration_latest
from workforce.selectors.standing import next_step
from workforce.services.decisions import contractor_decide
from workforce.validation import contractor_zone

CHART_DAYS = 30  # the job page's charts cover this many days

# The job-creation service names the photos' source "image_source" or "images"; the form calls it "source_path".
SOURCE_FIELDS = {"image_source": "source_path", "images": "source_path"}


# --- public ---------------------------------------------------------------------------

@require_GET
def job_page(request: HttpRequest) -> HttpResponse:
    terms = pay_terms_default()
    return render(request, "portal/job.html", {
        "rate": terms.hourly_rate, "weekly_cap_hours": terms.weekly_cap_hours,
        "defect_classes": DEFECT_CLASSES, "has_examples": has_examples(),
    })


@require_GET
@cache_control(public=True, max_age=3600)
def defect_example(request: HttpRequest, class_key: str) -> HttpResponse:
    key = f"defect-example:{class_key}:{settings.SAMPLE_JOB_DIR}"
    jpeg = cache.get(key)
    if jpeg is None:
        jpeg = defect_close_up(class_key)
        if jpeg is None:
            raise Http404("No example of this defect class.")
        cache.set(key, jpeg, 3600)
    return HttpResponse(jpeg, content_type="image/jpeg")


# --- contractor -----------------------------------------------------------------------

@require_GET
@contractor_page(staff_home="workforce:staff-applicants")  # where everyone lands after signing in
def dashboard(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    now = timezone.now()
    last_statement = statements_of(contractor).first()
    quality = quality_rollups([contractor.pk])[contractor.pk]
    terms = pay_terms_default()
    return render(request, "portal/dashboard.html", {
        "contractor": contractor, "batches": contractor_batches(contractor=contractor),
        "work_batches": contractor_work_batches(contractor=contractor),
        "label_studio_account": label_studio_account_active(contractor),
        "label_studio_url": settings.LABEL_STUDIO_PUBLIC_URL,
        "next_step": next_step(contractor),
        "missing": profile_missing(contractor),
        "pending_agreements": pending_agreements(contractor),
        "weekly_cap_hours": terms.weekly_cap_hours, "rate": terms.hourly_rate,
        "week": week_summary(contractor=contractor, week_start=week_start_utc(now), now=now),
        "tzname": contractor_zone(contractor).key,
        "last_statement": last_statement,
        "quality": quality,
        "qualification": qualification_round(contractor_id=contractor.pk),
        "quality_per_class": sorted(quality.per_class.items(), key=lambda item: (item[1], item[0])),
        "last_statement_week": week_name(last_statement.timesheet.week_start) if last_statement else "",
    })


@require_POST
@contractor_required
def label_studio_password_view(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    """The contractor's Label Studio password, shown on request on a page no cache keeps."""
    account = label_studio_account_active(contractor)
    if account is None:
        raise Http404("No Label Studio account.")
    response = render(request, "portal/label_studio_password.html", {
        "account": account, "password": label_studio_password(account=account),
        "label_studio_url": settings.LABEL_STUDIO_PUBLIC_URL})
    response["Cache-Control"] = "no-store"
    return response


# --- staff ----------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@staff_permission_required(DECIDE_APPLICANTS)
def applicant_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contractor = get_object_or_404(Contractor.objects.select_related("user"), pk=pk)
    qualification = qualification_round(contractor_id=contractor.pk)
    # Approving with photos of the round unscored asks for a tick first (the form's check; see its docstring).
    unscored = max(qualification.tasks - qualification.scored, 0) if qualification else 0
    form = StaffDecisionForm(request.POST or None, unscored=unscored,
                             photos=qualification.tasks if qualification else 0)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if run_service(request, lambda: contractor_decide(
                contractor=contractor, action=data["action"], actor=request.user, reason=data["reason"],
                qualification_score=data["qualification_score"]), form=form).ok:
            messages.success(request, f"{contractor}: now {contractor.get_state_display().lower()}.")
            return redirect("portal:staff-applicant", pk=pk)
    return render(request, "portal/staff/applicant.html", {
        "contractor": contractor, "form": form,
        "transitions": contractor_transitions(contractor),
        "declaration": tax_declaration_latest(contractor),
        "missing": profile_missing(contractor),
        "linked": link_evidence(contractor),
        "payout_changes": contractor.payout_changes.select_related("released_by")[:20],
        "qualification": qualification,
        "label_studio_url": settings.LABEL_STUDIO_PUBLIC_URL,
    })


def _job_with_batches(*, request: HttpRequest, data: dict) -> tuple[Job, int, list]:
    """Create the job from the form's photo source and cut its batches."""
    path = Path(data["source_path"])
    specs = jobs.specs_from_manifest(path) if data["source_kind"] == "manifest" else jobs.specs_from_folder(path)
    job, added = jobs.job_create(
        name=data["name"], client=data["client"], instructions=data["instructions"], specs=specs,
        image_source=str(path), actor=request.user, batch_size=data["batch_size"],
        gold_rate=data["gold_rate"], hourly_rate=data["hourly_rate"],
        weekly_cap_hours=data["weekly_cap_hours"], quality_threshold=data["quality_threshold"],
        classes=data["classes"], annotators_per_photo=data["annotators_per_photo"] or 1,
    )
    return job, added, jobs.batches_cut(job=job)


def _job_from_zip(*, request: HttpRequest, data: dict) -> ImportRun:
    """Keep the uploaded photos (and pre-annotations) and queue the making of the job from them."""
    def kept(upload: UploadedFile, limit: int) -> str:
        return client_import.import_upload_store(job=None, name=upload.name, chunks=upload.chunks(), max_bytes=limit)

    photos = kept(data["photos_zip"], settings.PHOTOS_UPLOAD_MAX_BYTES)
    later = ""
    try:
        later = kept(data["preannotations"], settings.GOLD_IMPORT_MAX_BYTES) if data["preannotations"] else ""
        return client_import.job_from_zip_enqueue(
            archive_token=photos, actor=request.user, preannotations_token=later,
            preannotations_format=data["preannotations_format"], name=data["name"], client=data["client"],
            instructions=data["instructions"], batch_size=data["batch_size"], gold_rate=data["gold_rate"],
            quality_threshold=data["quality_threshold"], hourly_rate=data["hourly_rate"],
            weekly_cap_hours=data["weekly_cap_hours"], classes=data["classes"],
            annotators_per_photo=data["annotators_per_photo"] or 1)
    except DomainError:  # refused: nothing of it is kept
        for token in (photos, later):
            client_import.import_upload_discard(job=None, token=token)
        raise


@require_http_methods(["GET", "POST"])
@staff_permission_required(OPERATE_JOBS)
def job_create(request: HttpRequest) -> HttpResponse:
    form = JobCreateForm(request.POST or None, request.FILES or None,
                         initial={"source_path": str(settings.SAMPLE_JOB_DIR / "manifest.json")})
    if request.method == "POST" and form.is_valid() and form.cleaned_data["source_kind"] == "zip":
        queued = run_service(request, lambda: _job_from_zip(request=request, data=form.cleaned_data), form=form,
                             fields={"file": "photos_zip"})
        if queued.ok:
            messages.success(request, f"Making the job from {queued.value.file_name} in the background: every "
                                      "photo is checked first, and one bad photo refuses them all.")
            return redirect("console:import-run", pk=queued.value.pk)
    elif request.method == "POST" and form.is_valid():
        outcome = run_service(request, lambda: _job_with_batches(request=request, data=form.cleaned_data),
                              form=form, fields=SOURCE_FIELDS)
        if outcome.ok:
            job, added, made = outcome.value
            queued = publishing.job_publish_enqueue(job=job)
            messages.success(request, f"{job}: {added} new photo(s), {len(made)} new batch(es); publishing "
                                      f"{queued} batch(es) to Label Studio in the background.")
            return redirect("portal:console-job", pk=job.pk)
    return render(request, "portal/console/job_form.html", {"form": form})


@require_GET
@staff_permission_required(OPERATE_JOBS)
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = job_with_progress(pk)
    if job is None:
        raise Http404("No such job.")
    state = request.GET.get("state", "")
    page = Paginator(job_batches(job=job, state=state), 100).get_page(request.GET.get("page"))
    terms_history = pay_terms_history(job=job)
    states = batch_state_counts(job=job)
    what_if = ForecastForm(request.GET if "annotators_per_photo" in request.GET else None)
    asked = what_if.cleaned_data if what_if.is_bound and what_if.is_valid() else {}
    now = timezone.now()
    charts = [
        bar_chart([(f"{day:%Y-%m-%d}", n) for day, n in job_photos_per_day(job, now=now, days=CHART_DAYS)],
                  title="Photos per day", label_heading="Day (UTC)", value_heading="Annotations submitted",
                  description=f"Annotations submitted on this job each day of the last {CHART_DAYS} days."),
        bar_chart([(f"{day:%Y-%m-%d}", h) for day, h in job_hours_per_day(job, now=now, days=CHART_DAYS)],
                  title="Hours per day", label_heading="Day (UTC)", value_heading="Hours",
                  description=f"Hours logged on this job's batches each day of the last {CHART_DAYS} days."),
    ]
    return render(request, "portal/console/job.html", {
        "progress": job_progress(job), "charts": charts,
        "forecast": job_forecast(job=job, now=timezone.now()),
        "agreements": list(job_agreements(job)[:SHOWN]) if job.annotators_per_photo > 1 else None,
        "what_if": what_if, "forecast_if": job_forecast(
            job=job, now=timezone.now(), extra_contractors=asked.get("extra_contractors") or 0,
            annotators_per_photo=asked.get("annotators_per_photo") or 1) if asked else None,
        "job": job, "page": page, "states": states, "states_present": [s for s in states if s[2]], "state": state,
        "label_studio_url": settings.LABEL_STUDIO_PUBLIC_URL,
        "terms_history": terms_history, "terms_form": PayTermsForm.following(terms_history[-1]),
        "gold_form": GoldImportForm(),
        "qualification_form": QualificationForm(initial={"qualification_tasks": job.qualification_tasks}),
        "deliveries": job_deliveries(job),
    })

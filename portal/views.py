"""Pages that read from several apps: job page, dashboard, Label Studio password, applicant page, console job pages."""
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotations.forms import GoldImportForm, JobCreateForm, JobExamplesForm, JobListingForm, QualificationForm
from annotations.models import ImportRun, Job
from annotations.selectors.accounts import label_studio_account_active
from annotations.selectors.agreement import SHOWN, job_agreements
from annotations.selectors.batch_work import contractor_work_batches
from annotations.selectors.batches import batch_state_counts, contractor_batches, job_batches
from annotations.selectors.deliveries import job_deliveries
from annotations.selectors.gold_examples import classes_with_examples
from annotations.selectors.jobs import job_photos_per_day, job_progress, job_with_progress
from annotations.selectors.listings import listed_job, listed_jobs
from annotations.selectors.qualification import qualification_round
from annotations.selectors.quality import quality_rollups
from annotations.services import client_import, jobs, listings, publishing
from annotations.services.accounts import label_studio_password
from common.charts import bar_chart
from common.decorators import contractor_page, contractor_required, staff_permission_required
from common.errors import DomainError
from common.pages import run_service
from common.roles import DECIDE_APPLICANTS, OPERATE_JOBS
from payroll.forms import PayTermsForm
from payroll.selectors.contractor_weeks import statements_of, week_summary
from payroll.selectors.job_hours import job_hours_per_day
from payroll.selectors.terms import pay_terms_at, pay_terms_default, pay_terms_history
from payroll.selectors.weeks import week_name, week_start_utc
from portal.forms import ForecastForm
from portal.selectors.examples import job_close_up
from portal.selectors.forecast import job_forecast
from portal.selectors.listings import job_listings
from portal.structured_data import job_posting, json_ld
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

# The job page's batches a page at a time (50 like the payroll week: 41 vs 50 ms at 100, in-process).
BATCHES_PER_PAGE = 50


# --- public ---------------------------------------------------------------------------

JOBS_PER_PAGE = 20


@require_GET
def job_page(request: HttpRequest) -> HttpResponse:
    """The site's front door, the job page's address before jobs had their own: the one open job's page, else the
    list of open jobs (a redirect that follows the listings, so it is never kept by a cache)."""
    open_jobs = list(listed_jobs().values_list("pk", flat=True)[:2])
    if len(open_jobs) == 1:
        return redirect("portal:job-listing", pk=open_jobs[0])
    return redirect("portal:jobs")


@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(listed_jobs(), JOBS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "portal/jobs.html", {
        "page": page, "listings": job_listings(list(page.object_list), now=timezone.now())})


@require_GET
def job_listing(request: HttpRequest, pk: int) -> HttpResponse:
    job = listed_job(pk)
    if job is None:  # closed, or never listed: its name stays unsaid
        return render(request, "portal/job_closed.html", status=404)
    listing = job_listings([job], now=timezone.now())[0]
    with_examples = classes_with_examples(job)
    page_url = request.build_absolute_uri(reverse("portal:job-listing", args=[job.pk]))
    description = render_to_string("portal/_job_work.html", request=request)
    return render(request, "portal/job.html", {
        "listing": listing, "with_examples": with_examples,
        "json_ld": json_ld(job_posting(listing=listing, url=page_url, description=description)),
    })


@require_GET
@cache_control(public=True, max_age=3600)
def job_example(request: HttpRequest, pk: int, class_key: str) -> HttpResponse:
    """A close-up of one of an open job's classes, cut from a gold photo staff made public (never hidden gold)."""
    job = listed_job(pk)
    jpeg = job_close_up(job=job, class_key=class_key) if job is not None else None
    if jpeg is None:
        raise Http404("No example of this defect class.")
    return HttpResponse(jpeg, content_type="image/jpeg")


@require_GET
def defect_example(request: HttpRequest, class_key: str) -> HttpResponse:
    """The close-up's address before jobs had their own: the newest open job's close-up of the class."""
    job = listed_jobs().filter(label_classes__contains=[{"key": class_key}]).first()
    if job is None:
        raise Http404("No open job has this defect class.")
    return redirect("portal:job-example", pk=job.pk, class_key=class_key)


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
        listed=data["listed"], guideline_languages=data["guideline_languages"] or None,
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
            annotators_per_photo=data["annotators_per_photo"] or 1, listed=data["listed"],
            guideline_languages=data["guideline_languages"] or None)
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


@require_http_methods(["GET", "POST"])
@staff_permission_required(OPERATE_JOBS)
def job_listing_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The job's public listing: open or closed, its guidelines' languages, and the gold photos made public for its
    close-ups. Its rate and cap are the job's pay terms (changed from the job page)."""
    job = get_object_or_404(Job, pk=pk)
    posted = request.POST.get("form") if request.method == "POST" else None
    listing_form = JobListingForm(request.POST if posted == "listing" else None,
                                  initial={"listed": job.listed, "guideline_languages": job.guideline_languages})
    examples_form = JobExamplesForm(request.POST if posted == "examples" else None)
    if posted == "listing" and listing_form.is_valid():
        data = listing_form.cleaned_data
        if run_service(request, lambda: listings.job_listing_update(
                job=job, listed=data["listed"], guideline_languages=data["guideline_languages"],
                actor=request.user), form=listing_form).ok:
            messages.success(request, f"{job}: {'listed' if data['listed'] else 'not listed'}, guidelines in "
                                      f"{', '.join(data['guideline_languages'])}.")
            return redirect("portal:console-job-listing", pk=job.pk)
    elif posted == "examples" and examples_form.is_valid():
        made = run_service(request, lambda: listings.job_examples_publish(
            job=job, task_keys=examples_form.cleaned_data["task_keys"], actor=request.user), form=examples_form)
        if made.ok:
            messages.success(request, f"{job}: {len(made.value)} public example photo(s).")
            return redirect("portal:console-job-listing", pk=job.pk)
    response = render(request, "portal/console/job_listing.html", {
        "job": job, "listing_form": listing_form, "examples_form": examples_form,
        "examples": job.tasks.filter(public_example=True).order_by("key").values_list("key", flat=True),
        "terms": pay_terms_at(job=job, moment=timezone.now()),
    })
    if posted:  # reached only when the form was refused
        response.status_code = 400
    return response


@require_GET
@staff_permission_required(OPERATE_JOBS)
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = job_with_progress(pk)
    if job is None:
        raise Http404("No such job.")
    state = request.GET.get("state", "")
    page = Paginator(job_batches(job=job, state=state), BATCHES_PER_PAGE).get_page(request.GET.get("page"))
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

"""The staff console (jobs and their progress, batches, the review queue, quality) and contractors' quality page."""
from collections.abc import Iterator
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotations import evidence, selectors
from annotations.forms import GoldImportForm, JobCreateForm, QualificationForm, ReviewForm
from annotations.models import Annotation, Batch, BatchState, Job, QualityScore, SyncState
from annotations.services import assignment, gold_masks, jobs, qualification, review
from annotations.tasks import open_qualification_round, publish_batch, rescore_job
from common.csv_stream import csv_lines
from common.decorators import contractor_required, staff_required
from common.errors import DomainError
from payroll.forms import PayTermsForm
from payroll.selectors.terms import pay_terms_history
from workforce.models import Contractor


def _publish_unpublished(job: Job) -> int:
    ids = list(job.batches.filter(published_at__isnull=True).values_list("pk", flat=True))
    for batch_id in ids:
        publish_batch.delay(batch_id)
    return len(ids)


@require_GET
@staff_required
def console_home(request: HttpRequest) -> HttpResponse:
    return render(request, "annotations/console.html", {
        "jobs": selectors.jobs_with_progress(), "sync": SyncState.objects.first(),
        "pending_reviews": selectors.review_queue().count(),
    })


@require_http_methods(["GET", "POST"])
@staff_required
def job_create(request: HttpRequest) -> HttpResponse:
    form = JobCreateForm(request.POST or None,
                         initial={"source_path": str(settings.SAMPLE_JOB_DIR / "manifest.json")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        path = Path(data["source_path"])
        try:
            specs = (jobs.specs_from_manifest(path) if data["source_kind"] == "manifest"
                     else jobs.specs_from_folder(path))
            job, added = jobs.job_create(
                name=data["name"], client=data["client"], instructions=data["instructions"], specs=specs,
                image_source=str(path), actor=request.user, batch_size=data["batch_size"],
                gold_rate=data["gold_rate"], hourly_rate=data["hourly_rate"],
                weekly_cap_hours=data["weekly_cap_hours"], quality_threshold=data["quality_threshold"],
                classes=data["classes"],
            )
            made = jobs.batches_cut(job=job)
        except DomainError as exc:
            form.add_error("source_path" if exc.field in ("image_source", "images") else None, exc.message)
        else:
            queued = _publish_unpublished(job)
            messages.success(request, f"{job}: {added} new photo(s), {len(made)} new batch(es); publishing "
                                      f"{queued} batch(es) to Label Studio in the background.")
            return redirect("console:job", pk=job.pk)
    return render(request, "annotations/job_form.html", {"form": form})


@require_GET
@staff_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(selectors.jobs_with_progress(), pk=pk)
    batches = job.batches.select_related("assigned_to__user").order_by("number")
    state = request.GET.get("state", "")
    if state in BatchState.values:
        batches = batches.filter(state=state)
    page = Paginator(batches, 100).get_page(request.GET.get("page"))
    terms_history = pay_terms_history(job=job)
    return render(request, "annotations/job.html", {
        "job": job, "page": page, "states": BatchState.choices, "state": state,
        "label_studio_url": settings.LABEL_STUDIO_URL,
        "terms_history": terms_history, "terms_form": PayTermsForm.following(terms_history[-1]),
        "gold_form": GoldImportForm(),
        "qualification_form": QualificationForm(initial={"qualification_tasks": job.qualification_tasks}),
    })


def _valid_or_said(request: HttpRequest, form: forms.Form, what: str) -> bool:
    """True if the small form posted from the job page is valid; else each error becomes a message."""
    if form.is_valid():
        return True
    for errors in form.errors.values():
        messages.error(request, f"{what}: {' '.join(errors)}")
    return False


@require_POST
@staff_required
def job_gold_import(request: HttpRequest, pk: int) -> HttpResponse:
    """New gold for the job's photos from a Label Studio export or a ZIP of PNG masks; what scored on the
    old gold is re-scored."""
    job = get_object_or_404(Job, pk=pk)
    form = GoldImportForm(request.POST, request.FILES)
    if not _valid_or_said(request, form, "Gold import"):
        return redirect("console:job", pk=pk)
    upload = form.cleaned_data["export"]
    try:
        updated = gold_masks.gold_import_file(job=job, content=upload.read(), name=upload.name, actor=request.user)
    except DomainError as exc:
        messages.error(request, f"Gold import refused, nothing changed: {exc.message}")
    else:
        messages.success(request, f"Gold imported: {updated} photo(s) got a new gold version; the annotations "
                                  "scored on the old one are re-scored in the background.")
    return redirect("console:job", pk=pk)


@require_POST
@staff_required
def job_rescore(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(Job, pk=pk)
    rescore_job.delay(job.pk)
    messages.success(request, "Scoring every annotation on the job's gold photos in the background "
                              "(those already scored on the current gold are kept).")
    return redirect("console:job", pk=pk)


@require_POST
@staff_required
def job_qualification(request: HttpRequest, pk: int) -> HttpResponse:
    """How many of the job's gold photos each new applicant labels to qualify (0 stops the round here)."""
    job = get_object_or_404(Job, pk=pk)
    form = QualificationForm(request.POST)
    if not _valid_or_said(request, form, "Qualification round"):
        return redirect("console:job", pk=pk)
    try:
        job = qualification.job_qualification_set(job=job, tasks=form.cleaned_data["qualification_tasks"])
    except DomainError as exc:
        messages.error(request, f"Qualification round unchanged: {exc.message}")
    else:
        messages.success(request, f"New applicants now qualify on {job.qualification_tasks} gold photo(s) of this "
                                  "job." if job.qualification_tasks else "This job no longer runs a qualification "
                                  "round.")
    return redirect("console:job", pk=pk)


@require_POST
@staff_required
def qualification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Open an applicant's qualification round now (one made late, e.g. before any job ran a round)."""
    contractor = get_object_or_404(Contractor, pk=pk)
    try:
        batch = qualification.qualification_round_open(contractor=contractor, actor=request.user)
    except DomainError as exc:
        messages.error(request, f"No qualification round opened: {exc.message}")
    else:
        open_qualification_round.delay(contractor.pk)  # the account, then publishing (idempotent)
        messages.success(request, f"Qualification round of {contractor}: {batch.job}, batch #{batch.number}; "
                                  "publishing it to Label Studio in the background.")
    return redirect("workforce:staff-applicant", pk=pk)


@require_POST
@staff_required
def job_publish(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(Job, pk=pk)
    queued = _publish_unpublished(job)
    messages.success(request, f"Publishing {queued} batch(es) to Label Studio in the background.")
    return redirect("console:job", pk=pk)


@require_GET
@staff_required
def job_progress_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    job = get_object_or_404(Job, pk=pk)
    header = ["batch", "batch_state", "contractor_email", "task_key", "hidden_gold", "label_studio_task_id",
              "annotations"]

    def rows() -> Iterator[list[object]]:
        yield header
        for bt in selectors.progress_rows(job=job).iterator(chunk_size=2000):
            holder = bt.batch.assigned_to.user.email if bt.batch.assigned_to else ""
            yield [bt.batch.number, bt.batch.state, holder, bt.task.key, bt.is_gold, bt.ls_task_id or "",
                   bt.n_annotations]

    response = StreamingHttpResponse(csv_lines(rows()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="job-{job.pk}-progress.csv"'
    return response


def _labels(results: list[dict]) -> list[str]:
    return sorted({label for r in results for label in r.get("value", {}).get("brushlabels", [])})


@require_GET
@staff_required
def review_queue(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.review_queue(), 50).get_page(request.GET.get("page"))
    return render(request, "annotations/review_queue.html", {"page": page})


@require_http_methods(["GET", "POST"])
@staff_required
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    annotation = get_object_or_404(
        Annotation.objects.select_related("batch_task__batch__job", "batch_task__task", "contractor__user"), pk=pk)
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        decision, comment = form.cleaned_data["decision"], form.cleaned_data["comment"]
        try:
            if decision == "accept":
                review.annotation_accept(annotation=annotation, reviewer=request.user, comment=comment)
            elif decision == "rework":
                review.annotation_rework(annotation=annotation, reviewer=request.user, comment=comment)
            else:
                review.annotation_promote_to_gold(annotation=annotation, reviewer=request.user)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Annotation {annotation.ls_annotation_id}: {decision} recorded.")
            return redirect("console:review-queue")
    task = annotation.batch_task.task
    return render(request, "annotations/review.html", {
        "annotation": annotation, "form": form, "task": task,
        "labels": _labels(annotation.result),
        "prediction_labels": _labels((task.prediction or {}).get("result", [])),
        "reviews": annotation.reviews.select_related("reviewer"),
        "label_studio_url": settings.LABEL_STUDIO_URL,
        "scores": list(selectors.annotation_scores(annotation=annotation)),
    })


@require_GET
@staff_required
def capacity(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(Job, pk=pk)
    return render(request, "annotations/capacity.html", {
        "job": job, "rows": selectors.capacity_board(job),
        "open_batches": job.batches.filter(state=BatchState.OPEN, published_at__isnull=False).order_by("number"),
    })


@require_POST
@staff_required
def auto_assign(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(Job, pk=pk)
    try:
        events = assignment.batches_auto_assign(job=job, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Auto-assigned {len(events)} batch(es).")
    return redirect("console:capacity", pk=pk)


def _posted_id(request: HttpRequest, name: str) -> int:
    """The id posted in `name`, or 0 (matches nothing) when it is missing or not a number."""
    value = request.POST.get(name, "")
    return int(value) if value.isdigit() else 0


@require_POST
@staff_required
def batch_assign(request: HttpRequest) -> HttpResponse:
    batch = get_object_or_404(Batch.objects.select_related("job"), pk=_posted_id(request, "batch"))
    contractor = Contractor.objects.filter(pk=_posted_id(request, "contractor")).first()
    if contractor is None:
        messages.error(request, "contractor: choose a contractor.")
    else:
        try:
            assignment.batch_assign(batch=batch, contractor=contractor, actor=request.user,
                                    reason=request.POST.get("reason", "")[:500])
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Batch #{batch.number} assigned to {contractor}.")
    return redirect("console:capacity", pk=batch.job_id)


@require_http_methods(["GET", "POST"])
@staff_required
def stale(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        batch = get_object_or_404(Batch, pk=_posted_id(request, "batch"))
        try:
            assignment.batch_reclaim(batch=batch, actor=request.user,
                                     reason=request.POST.get("reason", "")[:500] or "reclaimed from the console")
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Batch #{batch.number} reclaimed and offered again; partial work is kept.")
        return redirect("console:stale")
    return render(request, "annotations/stale.html", {"rows": selectors.stale_batches(now=timezone.now())})


@require_GET
@staff_required
def review_overlay(request: HttpRequest, pk: int, against: str) -> HttpResponse:
    annotation = get_object_or_404(Annotation.objects.select_related("batch_task__task"), pk=pk)
    try:
        jpeg = evidence.annotation_overlay(annotation=annotation, against=against)
    except DomainError as exc:
        raise Http404(exc.message) from None
    return HttpResponse(jpeg, content_type="image/jpeg")


# --- quality ---------------------------------------------------------------------------

@require_GET
@contractor_required
def my_quality(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    """The contractor's rolling score, weakest classes, and each scored gold task with its overlay."""
    rollup = selectors.quality_rollups([contractor.pk])[contractor.pk]
    return render(request, "annotations/my_quality.html", {
        "contractor": contractor, "rollup": rollup,
        "per_class": sorted(rollup.per_class.items(), key=lambda item: (item[1], item[0])),
        "rows": selectors.contractor_scores(contractor_id=contractor.pk),
        "pause_below": settings.QUALITY_PAUSE_BELOW, "window": settings.QUALITY_ROLLING_WINDOW,
    })


@require_GET
def quality_overlay(request: HttpRequest, pk: int) -> HttpResponse:
    """A score's overlay JPEG: for the contractor whose annotation it is, and for staff; 404 for anyone else."""
    if not request.user.is_authenticated:
        raise Http404
    score = get_object_or_404(QualityScore.objects.select_related("annotation__contractor"), pk=pk)
    contractor = score.annotation.contractor
    if not (request.user.is_staff or (contractor is not None and contractor.user_id == request.user.pk)):
        raise Http404
    path = (settings.VAR_DIR / score.overlay_path).resolve() if score.overlay_path else None
    if path is None or not path.is_relative_to(settings.VAR_DIR.resolve()) or not path.is_file():
        raise Http404("This score has no overlay image.")
    return FileResponse(path.open("rb"), content_type="image/jpeg")


@require_GET
@staff_required
def quality_console(request: HttpRequest) -> HttpResponse:
    """Every labelling contractor's rolling score, per-class weaknesses and rubber stamps, weakest first."""
    return render(request, "annotations/quality.html", {
        "board": selectors.quality_board(), "pause_below": settings.QUALITY_PAUSE_BELOW,
        "window": settings.QUALITY_ROLLING_WINDOW,
    })


@require_GET
@staff_required
def quality_contractor(request: HttpRequest, pk: int) -> HttpResponse:
    contractor = get_object_or_404(Contractor.objects.select_related("user"), pk=pk)
    rollup = selectors.quality_rollups([contractor.pk])[contractor.pk]
    return render(request, "annotations/quality_contractor.html", {
        "contractor": contractor, "rollup": rollup,
        "per_class": sorted(rollup.per_class.items(), key=lambda item: (item[1], item[0])),
        "rows": selectors.contractor_scores(contractor_id=contractor.pk, limit=50),
    })

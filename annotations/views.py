"""The staff console (jobs and their progress, batches, the review queue, quality, deliveries), contractors' quality
page, the client's signed delivery link and the Label Studio gateway's decision and sign-in.

Views parse, authorize, read through the selectors and call the services (through common.pages.run_service,
which shows a refusal as a form error or a message); they queue no Celery work themselves.
"""
import hmac
import zipfile
from collections.abc import Callable, Iterator

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext, ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotations import gateway
from annotations.forms import (
    CategoryMapForm,
    DeliveryForm,
    GoldImportForm,
    PreannotationUploadForm,
    QualificationForm,
    ReviewForm,
    ReviewQueueFilterForm,
    StaleFilterForm,
)
from annotations.labelstudio import SESSION_COOKIE, WEBHOOK_SECRET_HEADER, LabelStudioUnavailable
from annotations.models import (
    Batch,
    Delivery,
    DeliveryState,
    ImportFormat,
    ImportKind,
    ImportRun,
    Job,
    PhotoAgreement,
    SyncState,
)
from annotations.selectors.batches import open_published_batches, stale_batches, stale_rows
from annotations.selectors.capacity import capacity_board, crew_hours
from annotations.selectors.deliveries import delivery_by_token, delivery_file, delivery_link_token
from annotations.selectors.evidence import annotation_overlay
from annotations.selectors.gateway import contractor_holding
from annotations.selectors.imports import coco_awaited, import_run_progress
from annotations.selectors.jobs import job_progress, job_with_progress, jobs_with_progress, progress_rows
from annotations.selectors.quality import (
    annotation_scores,
    contractor_quality_per_week,
    contractor_scores,
    overlay_file,
    quality_board,
    quality_board_rows,
    quality_rollups,
    scores_with_contractor,
)
from annotations.selectors.review import annotation_reviews, annotations_for_review, result_labels
from annotations.selectors.review import review_queue as pending_reviews
from annotations.services import (
    agreement,
    assignment,
    client_import,
    gold_masks,
    publishing,
    qualification,
    review,
    scoring_queue,
)
from annotations.services.accounts import label_studio_session_open
from annotations.services.delivery import delivery_start
from annotations.services.hand_in import batch_hand_in
from annotations.services.sync import webhook_handle
from common.charts import Chart, bar_chart, line_chart, shown
from common.csv_stream import csv_lines
from common.decorators import (
    contractor_required,
    signed_in_contractor,
    staff_permission_required,
)
from common.errors import DomainError
from common.json_input import JSONInputError, json_loads_bounded
from common.pages import run_service
from common.roles import ANY_STAFF_ROLE, OPERATE_JOBS, REVIEW_WORK, staff_role_allows
from workforce.models import Contractor

# The capacity board's orders beside its own (the board's order): key -> (label, sort key of a row).
CAPACITY_ORDERS = {
    "remaining": ("Most hours remaining", lambda r: (-r.remaining, r.name)),
    "weakest": ("Weakest quality first", lambda r: (r.quality is not None, r.quality or 0, r.name)),
    "open": ("Fewest open batches", lambda r: (r.open_batches, r.name)),
    "name": ("Name", lambda r: (r.name.casefold(), r.contractor_id)),
}
BOARD_PAGE = 50  # rows of the capacity and quality boards and of stale work per page
ASSIGN_CHOICES = 25  # open batches offered in each capacity row's select (the lowest numbers first)


@require_GET
@staff_permission_required(ANY_STAFF_ROLE)
def console_home(request: HttpRequest) -> HttpResponse:
    return render(request, "annotations/console.html", {
        "jobs": jobs_with_progress(), "sync": SyncState.objects.first(),
        "pending_reviews": pending_reviews().count(),
    })


def _valid_or_said(request: HttpRequest, form: forms.Form, what: str) -> bool:
    """True if the small form posted from the job page is valid; else each error becomes a message."""
    if form.is_valid():
        return True
    for errors in form.errors.values():
        messages.error(request, f"{what}: {' '.join(errors)}")
    return False


@require_POST
@staff_permission_required(REVIEW_WORK)
def job_gold_import(request: HttpRequest, pk: int) -> HttpResponse:
    """New gold for the job's photos from a Label Studio export or a ZIP of PNG masks; what scored on the
    old gold is re-scored."""
    job = get_object_or_404(Job, pk=pk)
    form = GoldImportForm(request.POST, request.FILES)
    if not _valid_or_said(request, form, "Gold import"):
        return redirect("portal:console-job", pk=pk)
    upload = form.cleaned_data["export"]
    done = run_service(request, lambda: gold_masks.gold_import_file(
        job=job, content=upload.read(), name=upload.name, actor=request.user),
        refused="Gold import refused, nothing changed: ")
    if done.ok:
        messages.success(request, f"Gold imported: {done.value} photo(s) got a new gold version; the annotations "
                                  "scored on the old one are re-scored in the background.")
    return redirect("portal:console-job", pk=pk)


IMPORT_REFUSED = "Import refused, nothing changed: "


def _import_queued(request: HttpRequest, job: Job, token: str, *, fmt: str, kind: str,
                   category_map: dict[int, str] | None, form: forms.Form | None = None) -> bool:
    """Queue the import of the upload kept under `token`; says so, or why not (on `form` when given)."""
    done = run_service(request, lambda: client_import.preannotations_import(
        job=job, upload_path=client_import.import_upload_path(job=job, token=token), fmt=fmt,
        category_map=category_map, actor=request.user, kind=kind), form=form, refused=IMPORT_REFUSED)
    if done.ok:
        messages.success(request, f"Importing {done.value.file_name} in the background: every photo is checked "
                                  "before anything is written; the progress is below.")
    return done.ok


@require_POST
@staff_permission_required(OPERATE_JOBS)
def job_import(request: HttpRequest, pk: int) -> HttpResponse:
    """A client's pre-annotations (or gold) uploaded from the job page: queued at once, or, for COCO, kept while
    the operator maps its categories to defect classes."""
    job = get_object_or_404(Job, pk=pk)
    form = PreannotationUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        for name, errors in form.errors.items():
            messages.error(request, f"Pre-annotation import: {form.fields[name].label or name}: {' '.join(errors)}")
        return redirect("portal:console-job", pk=pk)
    data, upload = form.cleaned_data, form.cleaned_data["file"]
    stored = run_service(request, lambda: client_import.import_upload_store(job=job, name=upload.name,
                                                                            chunks=upload.chunks()),
                         refused=IMPORT_REFUSED)
    if not stored.ok:
        return redirect("portal:console-job", pk=pk)
    if data["format"] != ImportFormat.COCO:
        _import_queued(request, job, stored.value, fmt=data["format"], kind=data["kind"], category_map=None)
        return redirect("portal:console-job", pk=pk)
    categories = run_service(request, lambda: client_import.import_upload_categories(job=job, token=stored.value),
                             refused=IMPORT_REFUSED)
    if not categories.ok:
        return redirect("portal:console-job", pk=pk)
    mapping = CategoryMapForm(initial={"token": stored.value, "kind": data["kind"]}, categories=categories.value,
                              classes=job.label_classes)
    return render(request, "annotations/import_categories.html", {"job": job, "form": mapping,
                                                                   "file_name": upload.name})


@require_http_methods(["GET", "POST"])
@staff_permission_required(OPERATE_JOBS)
def job_import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """The operator's COCO category -> defect class mapping: the kept upload is queued for import. GET shows the
    mapping of the COCO file a job made from a ZIP of photos was given (its batches wait for it)."""
    job = get_object_or_404(Job, pk=pk)
    token = request.POST.get("token", "") if request.method == "POST" else coco_awaited(job)
    if not token:
        messages.info(request, "No COCO file of this job is waiting for its categories.")
        return redirect("portal:console-job", pk=pk)
    categories = run_service(request, lambda: client_import.import_upload_categories(job=job, token=token),
                             refused=IMPORT_REFUSED)
    if not categories.ok:
        return redirect("portal:console-job", pk=pk)
    if request.method == "GET":
        form = CategoryMapForm(initial={"token": token, "kind": ImportKind.PREDICTIONS},
                               categories=categories.value, classes=job.label_classes)
        return render(request, "annotations/import_categories.html", {
            "job": job, "form": form, "file_name": client_import.import_upload_path(job=job, token=token).name})
    form = CategoryMapForm(request.POST, categories=categories.value, classes=job.label_classes)
    if form.is_valid() and _import_queued(request, job, token, fmt=ImportFormat.COCO, kind=form.cleaned_data["kind"],
                                          category_map=form.category_map(), form=form):
        return redirect("portal:console-job", pk=pk)
    return render(request, "annotations/import_categories.html", {
        "job": job, "form": form, "file_name": client_import.import_upload_path(job=job, token=token).name})


@require_GET
@staff_permission_required(OPERATE_JOBS)
def import_run_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One import run and its progress; a new job's run links to the job once it is made."""
    run = get_object_or_404(ImportRun, pk=pk)
    return render(request, "annotations/import_run.html", {
        "run": run, "coco_awaited": bool(run.job and run.kind == ImportKind.PHOTOS and coco_awaited(run.job))})


@require_GET
@staff_permission_required(OPERATE_JOBS)
def import_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """An import run's state and counters, polled by the job page's progress bars."""
    return JsonResponse(import_run_progress(get_object_or_404(ImportRun, pk=pk)))


@require_GET
@staff_permission_required(OPERATE_JOBS)
def job_progress_json(request: HttpRequest, pk: int) -> JsonResponse:
    """The job page's progress bars and its background work's (publishing, scoring, imports, deliveries), which
    the page's one poller reads while anything runs."""
    job = job_with_progress(pk)
    if job is None:
        raise Http404("No such job.")
    return JsonResponse(job_progress(job))


@require_POST
@staff_permission_required(REVIEW_WORK)
def job_rescore(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(Job, pk=pk)
    scoring_queue.job_rescore_enqueue(job=job)
    messages.success(request, "Scoring every annotation on the job's gold photos in the background "
                              "(those already scored on the current gold are kept).")
    return redirect("portal:console-job", pk=pk)


@require_POST
@staff_permission_required(OPERATE_JOBS)
def job_qualification(request: HttpRequest, pk: int) -> HttpResponse:
    """How many of the job's gold photos each new applicant labels to qualify (0 stops the round here)."""
    job = get_object_or_404(Job, pk=pk)
    form = QualificationForm(request.POST)
    if not _valid_or_said(request, form, "Qualification round"):
        return redirect("portal:console-job", pk=pk)
    done = run_service(request, lambda: qualification.job_qualification_set(
        job=job, tasks=form.cleaned_data["qualification_tasks"]), refused="Qualification round unchanged: ")
    if done.ok:
        job = done.value
        messages.success(request, f"New applicants now qualify on {job.qualification_tasks} gold photo(s) of this "
                                  "job." if job.qualification_tasks else "This job no longer runs a qualification "
                                  "round.")
    return redirect("portal:console-job", pk=pk)


@require_POST
@staff_permission_required(OPERATE_JOBS)
def qualification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Open an applicant's qualification round now (one made late, e.g. before any job ran a round)."""
    contractor = get_object_or_404(Contractor, pk=pk)
    done = run_service(request, lambda: qualification.qualification_round_start(
        contractor=contractor, actor=request.user), refused="No qualification round opened: ")
    if done.ok:
        batch = done.value
        messages.success(request, f"Qualification round of {contractor}: {batch.job}, batch #{batch.number}; "
                                  "publishing it to Label Studio in the background.")
    return redirect("portal:staff-applicant", pk=pk)


@require_POST
@staff_permission_required(OPERATE_JOBS)
def job_publish(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(Job, pk=pk)
    queued = publishing.job_publish_enqueue(job=job)
    messages.success(request, f"Publishing {queued} batch(es) to Label Studio in the background.")
    return redirect("portal:console-job", pk=pk)


@require_GET
@staff_permission_required(OPERATE_JOBS)
def job_progress_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    job = get_object_or_404(Job, pk=pk)
    header = ["batch", "batch_state", "contractor_email", "task_key", "hidden_gold", "label_studio_task_id",
              "annotations"]

    def rows() -> Iterator[list[object]]:
        yield header
        for bt in progress_rows(job=job).iterator(chunk_size=2000):
            holder = bt.batch.assigned_to.user.email if bt.batch.assigned_to else ""
            yield [bt.batch.number, bt.batch.state, holder, bt.task.key, bt.is_gold, bt.ls_task_id or "",
                   bt.n_annotations]

    response = StreamingHttpResponse(csv_lines(rows()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="job-{job.pk}-progress.csv"'
    return response


@require_GET
@staff_permission_required(REVIEW_WORK)
def review_queue(request: HttpRequest) -> HttpResponse:
    filters = ReviewQueueFilterForm(request.GET)
    page = Paginator(pending_reviews(**filters.criteria()), 50).get_page(request.GET.get("page"))
    return render(request, "annotations/review_queue.html", {"page": page, "filters": filters})


@require_http_methods(["GET", "POST"])
@staff_permission_required(REVIEW_WORK)
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    annotation = get_object_or_404(annotations_for_review(), pk=pk)
    task = annotation.batch_task.task
    form = ReviewForm(request.POST or None, merged=PhotoAgreement.objects.filter(task=task).exists())
    if request.method == "POST" and form.is_valid():
        decision, comment = form.cleaned_data["decision"], form.cleaned_data["comment"]
        decide = {
            "accept": lambda: review.annotation_accept(annotation=annotation, reviewer=request.user, comment=comment),
            "rework": lambda: review.annotation_rework(annotation=annotation, reviewer=request.user, comment=comment),
            "merge": lambda: agreement.photo_merged_accept(task=task, reviewer=request.user),
        }.get(decision, lambda: review.annotation_promote_to_gold(annotation=annotation, reviewer=request.user))
        if run_service(request, decide, form=form).ok:
            messages.success(request, f"Annotation {annotation.ls_annotation_id}: {decision} recorded.")
            return redirect("console:review-queue")
    return render(request, "annotations/review.html", {
        "annotation": annotation, "form": form, "task": task,
        "labels": result_labels(annotation.result),
        "prediction_labels": result_labels((task.prediction or {}).get("result", [])),
        "reviews": annotation_reviews(annotation=annotation),
        "label_studio_url": settings.LABEL_STUDIO_PUBLIC_URL,
        "scores": list(annotation_scores(annotation=annotation)),
    })


@require_GET
@staff_permission_required(OPERATE_JOBS)
def capacity(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(Job, pk=pk)
    q, receiving = request.GET.get("q", "").strip()[:100], request.GET.get("receiving") == "on"
    board = capacity_board(job)
    rows = [r for r in board if (not q or q.casefold() in r.name.casefold())
            and (not receiving or r.can_receive)]
    order = request.GET.get("order", "")
    if order in CAPACITY_ORDERS:
        rows.sort(key=CAPACITY_ORDERS[order][1])
    open_batches = open_published_batches(job_id=job.pk)
    crew = crew_hours(board)
    hours_chart = bar_chart(
        crew.buckets, title="Hours this week against the cap", label_heading="Hours logged this week",
        value_heading="Contractors",
        description=f"{crew.contractors} active contractors logged {shown(crew.logged)} of their "
                    f"{shown(crew.capacity)} capped hours this week (cap {shown(crew.cap)} h each); each bar counts "
                    "the contractors whose hours fall in its range.")
    offered = open_batches[:ASSIGN_CHOICES]
    return render(request, "annotations/capacity.html", {
        "job": job, "page": Paginator(rows, BOARD_PAGE).get_page(request.GET.get("page")), "q": q,
        "receiving": receiving, "open_batches": offered, "more_open": len(open_batches),
        # The same options in every row's select: rendered once, not once per row.
        "batch_options": format_html_join("", '<option value="{}">#{}</option>', offered),
        "order": order, "orders": [(key, label) for key, (label, _) in CAPACITY_ORDERS.items()],
        "hours_chart": hours_chart,
    })


@require_POST
@staff_permission_required(OPERATE_JOBS)
def auto_assign(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(Job, pk=pk)
    done = run_service(request, lambda: assignment.batches_auto_assign(job=job, actor=request.user))
    if done.ok:
        messages.success(request, f"Auto-assigned {len(done.value)} batch(es).")
    return redirect("console:capacity", pk=pk)


def _posted_id(request: HttpRequest, name: str) -> int:
    """The id posted in `name`, or 0 (matches nothing) when it is missing or not a number."""
    value = request.POST.get(name, "")
    return int(value) if value.isdigit() else 0


@require_POST
@staff_permission_required(OPERATE_JOBS)
def batch_assign(request: HttpRequest) -> HttpResponse:
    batch = get_object_or_404(Batch.objects.select_related("job"), pk=_posted_id(request, "batch"))
    contractor = Contractor.objects.filter(pk=_posted_id(request, "contractor")).first()
    if contractor is None:
        messages.error(request, "contractor: choose a contractor.")
    elif run_service(request, lambda: assignment.batch_assign(
            batch=batch, contractor=contractor, actor=request.user, reason=request.POST.get("reason", "")[:500])).ok:
        messages.success(request, f"Batch #{batch.number} assigned to {contractor}.")
    return redirect("console:capacity", pk=batch.job_id)


@require_http_methods(["GET", "POST"])
@staff_permission_required(OPERATE_JOBS)
def stale(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        batch = get_object_or_404(Batch, pk=_posted_id(request, "batch"))
        reason = request.POST.get("reason", "")[:500] or "reclaimed from the console"
        if run_service(request, lambda: assignment.batch_reclaim(batch=batch, actor=request.user, reason=reason)).ok:
            messages.success(request, f"Batch #{batch.number} reclaimed and offered again; partial work is kept.")
        return redirect("console:stale")
    filters = StaleFilterForm(request.GET)
    now = timezone.now()
    page = Paginator(stale_batches(now=now, **filters.criteria()), BOARD_PAGE).get_page(request.GET.get("page"))
    page.object_list = stale_rows(page.object_list, now=now)
    return render(request, "annotations/stale.html", {"page": page, "filters": filters})


@require_GET
@staff_permission_required(REVIEW_WORK)
def review_overlay(request: HttpRequest, pk: int, against: str) -> HttpResponse:
    annotation = get_object_or_404(annotations_for_review(), pk=pk)
    try:
        jpeg = annotation_overlay(annotation=annotation, against=against)
    except DomainError as exc:  # not a page refusal: an image that cannot be made is not found
        raise Http404(exc.message) from None
    return HttpResponse(jpeg, content_type="image/jpeg")


# --- the contractor's batches -----------------------------------------------------------

@require_POST
@contractor_required
def hand_in(request: HttpRequest, contractor: Contractor, pk: int) -> HttpResponse:
    """The dashboard's "Hand in": another contractor's batch is not found, not refused, so ids reveal nothing."""
    batch = get_object_or_404(Batch, pk=pk, assigned_to=contractor)
    if run_service(request, lambda: batch_hand_in(batch=batch, contractor=contractor)).ok:
        messages.success(request, gettext("%(job)s, batch %(number)s: handed in for review.") % {
            "job": batch.job.name, "number": batch.number})
    return redirect("portal:dashboard")


@require_GET
@contractor_required
def my_annotation_overlay(request: HttpRequest, contractor: Contractor, pk: int) -> HttpResponse:
    """The contractor's own annotation drawn against the photo's pre-annotation (404 for anyone else's)."""
    annotation = get_object_or_404(annotations_for_review(), pk=pk, contractor=contractor, deleted=False)
    try:
        jpeg = annotation_overlay(annotation=annotation, against="prediction")
    except DomainError as exc:
        raise Http404(exc.message) from None
    return HttpResponse(jpeg, content_type="image/jpeg")


# --- quality ---------------------------------------------------------------------------

def _quality_chart(contractor: Contractor) -> Chart:
    """The contractor's mean score on gold week by week, against the score below which work pauses."""
    weeks = contractor_quality_per_week(contractor_id=contractor.pk, now=timezone.now())
    return line_chart([(f"{start:%Y-%m-%d}", mean) for start, mean in weeks],
                      title=gettext("Quality on gold, week by week"),
                      label_heading=gettext("Week from (UTC)"), value_heading=gettext("Mean score"),
                      reference=settings.QUALITY_PAUSE_BELOW, reference_label=gettext("pause below"),
                      description=ngettext(
                          "Mean score on gold photos each week of the last week (1 is a perfect match); a week "
                          "without scored photos has no point.",
                          "Mean score on gold photos each week of the last %(weeks)s weeks (1 is a perfect match); a "
                          "week without scored photos has no point.", len(weeks)) % {"weeks": len(weeks)})


@require_GET
@contractor_required
def my_quality(request: HttpRequest, contractor: Contractor) -> HttpResponse:
    """The contractor's rolling score, weakest classes, and each scored gold task with its overlay."""
    rollup = quality_rollups([contractor.pk])[contractor.pk]
    return render(request, "annotations/my_quality.html", {
        "contractor": contractor, "rollup": rollup,
        "per_class": sorted(rollup.per_class.items(), key=lambda item: (item[1], item[0])),
        "rows": contractor_scores(contractor_id=contractor.pk),
        "pause_below": settings.QUALITY_PAUSE_BELOW, "window": settings.QUALITY_ROLLING_WINDOW,
        "quality_chart": _quality_chart(contractor),
    })


@require_GET
def quality_overlay(request: HttpRequest, pk: int) -> HttpResponse:
    """A score's overlay JPEG: for the contractor whose annotation it is, and for staff who review; 404 for anyone
    else."""
    if not request.user.is_authenticated:
        raise Http404
    score = get_object_or_404(scores_with_contractor(), pk=pk)
    contractor = score.annotation.contractor
    if not (staff_role_allows(request.user, REVIEW_WORK)
            or (contractor is not None and contractor.user_id == request.user.pk)):
        raise Http404
    path = overlay_file(score)
    if path is None:
        raise Http404("This score has no overlay image.")
    return FileResponse(path.open("rb"), content_type="image/jpeg")


@require_GET
@staff_permission_required(REVIEW_WORK)
def quality_console(request: HttpRequest) -> HttpResponse:
    """Every labelling contractor's rolling score, per-class weaknesses and rubber stamps, weakest first, a page of
    BOARD_PAGE at a time, optionally only those whose email or name holds `q`."""
    q = request.GET.get("q", "").strip()[:100]
    page = Paginator(quality_board(search=q), BOARD_PAGE).get_page(request.GET.get("page"))
    page.object_list = quality_board_rows(page)  # (contractor, rollup) of the page's rows only
    return render(request, "annotations/quality.html", {
        "page": page, "q": q, "pause_below": settings.QUALITY_PAUSE_BELOW,
        "window": settings.QUALITY_ROLLING_WINDOW,
    })


@require_GET
@staff_permission_required(REVIEW_WORK)
def quality_contractor(request: HttpRequest, pk: int) -> HttpResponse:
    contractor = get_object_or_404(Contractor.objects.select_related("user"), pk=pk)
    rollup = quality_rollups([contractor.pk])[contractor.pk]
    return render(request, "annotations/quality_contractor.html", {
        "contractor": contractor, "rollup": rollup,
        "per_class": sorted(rollup.per_class.items(), key=lambda item: (item[1], item[0])),
        "rows": contractor_scores(contractor_id=contractor.pk, limit=50),
        "quality_chart": _quality_chart(contractor),
    })


# --- delivery to the client ---------------------------------------------------------------------

@require_POST
@staff_permission_required(OPERATE_JOBS)
def job_deliver(request: HttpRequest, pk: int) -> HttpResponse:
    """Start a delivery of the job's accepted masks (of those there are, when "partial" is ticked)."""
    job = get_object_or_404(Job, pk=pk)
    form = DeliveryForm(request.POST)
    partial = form.is_valid() and form.cleaned_data["partial"]
    done = run_service(request, lambda: delivery_start(job=job, actor=request.user, partial=partial),
                       refused="Not delivered: ")
    if done.ok:
        messages.success(request, f"Delivery {done.value.number}: writing {done.value.photos_total} photo(s) in the "
                                  "background.")
    return redirect("portal:console-job", pk=pk)


def _delivery_page(request: HttpRequest, found: Delivery, *, urls: dict[str, str], client_link: str = "",
                   thumbnail: Callable[[int], str]) -> HttpResponse:
    report = found.report
    photos = [{**photo, "src": thumbnail(index)} for index, photo in enumerate(report.get("photos", []))]
    return render(request, "annotations/delivery_report.html", {
        "delivery": found, "report": report, "photos": photos, "urls": urls, "client_link": client_link,
        "link_days": settings.DELIVERY_LINK_DAYS,
        "classes": [(label, figures) for label, figures in report["quality_on_gold"]["per_class"].items()],
    })


def _delivery_zip(found: Delivery) -> FileResponse:
    path = delivery_file(found)
    if path is None:
        raise Http404("This delivery has no file.")
    return FileResponse(path.open("rb"), as_attachment=True, content_type="application/zip",
                        filename=f"{found.report['delivery']['folder']}.zip")


def _delivery_report_json(found: Delivery) -> JsonResponse:
    if found.state != DeliveryState.DONE:
        raise Http404("This delivery is not finished.")
    response = JsonResponse(found.report, json_dumps_params={"indent": 1})
    response["Content-Disposition"] = f'attachment; filename="{found.report["delivery"]["folder"]}-report.json"'
    return response


def _delivery_thumbnail(found: Delivery, index: int) -> HttpResponse:
    path = delivery_file(found)
    photos = found.report.get("photos", [])
    if path is None or index >= len(photos):
        raise Http404("No such thumbnail.")
    with zipfile.ZipFile(path) as archive:
        try:
            jpeg = archive.read(f"{found.report['delivery']['folder']}/{photos[index]['thumbnail']}")
        except KeyError:
            raise Http404("This photo has no thumbnail.") from None
    return HttpResponse(jpeg, content_type="image/jpeg")


def _staff_delivery(pk: int) -> Delivery:
    return get_object_or_404(Delivery.objects.select_related("job"), pk=pk)


@require_GET
@staff_permission_required(OPERATE_JOBS)
def delivery_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The delivery's report, its files, and the signed link to copy for the client."""
    found = _staff_delivery(pk)
    if found.state != DeliveryState.DONE:
        messages.info(request, f"Delivery {found.number} is {found.get_state_display().lower()}.")
        return redirect("portal:console-job", pk=found.job_id)
    token = delivery_link_token(found)
    return _delivery_page(
        request, found, urls={"zip": reverse("console:delivery-zip", args=[pk]),
                              "json": reverse("console:delivery-report-json", args=[pk])},
        client_link=request.build_absolute_uri(reverse("annotations:client-delivery", args=[token])),
        thumbnail=lambda index: reverse("console:delivery-thumbnail", args=[pk, index]))


@require_GET
@staff_permission_required(OPERATE_JOBS)
def delivery_zip(request: HttpRequest, pk: int) -> FileResponse:
    return _delivery_zip(_staff_delivery(pk))


@require_GET
@staff_permission_required(OPERATE_JOBS)
def delivery_report_json(request: HttpRequest, pk: int) -> JsonResponse:
    return _delivery_report_json(_staff_delivery(pk))


@require_GET
@staff_permission_required(OPERATE_JOBS)
def delivery_thumbnail(request: HttpRequest, pk: int, index: int) -> HttpResponse:
    return _delivery_thumbnail(_staff_delivery(pk), index)


def _by_link(request: HttpRequest, token: str, serve: Callable[[Delivery], HttpResponse]) -> HttpResponse:
    """What a client's signed link serves; an expired or altered link gets a page saying so (410 or 404)."""
    try:
        found = delivery_by_token(token)
    except DomainError as exc:
        return render(request, "annotations/delivery_link_refused.html", {"message": exc.message},
                      status=exc.status)
    response = serve(found)
    response["Cache-Control"] = "private, no-store"  # the link is the key: keep it out of shared caches
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def client_delivery(request: HttpRequest, token: str) -> HttpResponse:
    """The delivery's report for the client, without login: the signed link is the permission."""
    return _by_link(request, token, lambda found: _delivery_page(
        request, found, urls={"zip": reverse("annotations:client-delivery-zip", args=[token]),
                              "json": reverse("annotations:client-delivery-report-json", args=[token])},
        thumbnail=lambda index: reverse("annotations:client-delivery-thumbnail", args=[token, index])))


@require_GET
def client_delivery_zip(request: HttpRequest, token: str) -> HttpResponse:
    return _by_link(request, token, _delivery_zip)


@require_GET
def client_delivery_report_json(request: HttpRequest, token: str) -> HttpResponse:
    return _by_link(request, token, _delivery_report_json)


@require_GET
def client_delivery_thumbnail(request: HttpRequest, token: str, index: int) -> HttpResponse:
    return _by_link(request, token, lambda found: _delivery_thumbnail(found, index))


# --- Label Studio's webhooks ----------------------------------------------------------------------------
# Label Studio cannot send a CSRF token; the shared secret header authenticates it instead.
@csrf_exempt
@require_POST
def label_studio_webhook(request: HttpRequest) -> JsonResponse:
    expected = getattr(settings, "LABEL_STUDIO_WEBHOOK_SECRET", "")
    given = request.headers.get(WEBHOOK_SECRET_HEADER, "")
    # No secret configured means no webhook is trusted: never accept an unsigned call.
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return JsonResponse({"detail": "Missing or wrong webhook secret."}, status=403)
    try:
        body = json_loads_bounded(request.body, what="webhook body")
    except JSONInputError as exc:
        return JsonResponse({"detail": exc.message}, status=exc.status)
    if not isinstance(body, dict) or not isinstance(body.get("action"), str):
        return JsonResponse({"detail": "The body must be a JSON object with an action."}, status=400)
    try:
        webhook_handle(action=body["action"], payload=body)
    except DomainError as exc:
        return JsonResponse({"detail": exc.message}, status=exc.status)
    return JsonResponse({"ok": True})


# --- the Label Studio gateway (scripts/gateway) --------------------------------------------------------------

GATEWAY_HEADER = "X-LabelCrew-Gateway"


@csrf_exempt  # nginx's sub-request: it carries no body, and answers only decide; nothing is written
def gateway_decide(request: HttpRequest) -> HttpResponse:
    """nginx's auth_request: 204 lets the request through to Label Studio, 401 sends the browser to
    X-LabelCrew-Location, 403 refuses it; X-LabelCrew-Reason says why in words."""
    secret = settings.GATEWAY_SECRET
    if not secret or not hmac.compare_digest(request.headers.get(GATEWAY_HEADER, ""), secret):
        return HttpResponse("Only the gateway asks here (X-LabelCrew-Gateway is missing or wrong).\n", status=403,
                            content_type="text/plain")
    uri = request.headers.get("X-Original-URI", "")
    if not uri.startswith("/"):
        return HttpResponse("X-Original-URI (the path asked of Label Studio) is missing.\n", status=400,
                            content_type="text/plain")
    decision = gateway.decide(
        asker=gateway.asker_of(request), method=request.headers.get("X-Original-Method", "GET"), uri=uri,
        authorization=request.headers.get("Authorization", ""), ls_session=request.COOKIES.get(SESSION_COOKIE, ""))
    response = HttpResponse(status=decision.status)
    # A refusal here is an answer, not an error: keep Django from logging a warning for each one (it skips a
    # response marked as logged).
    response._has_been_logged = True
    response["X-LabelCrew-Reason"] = decision.reason
    if decision.location:
        response["X-LabelCrew-Location"] = decision.location
    return response


@require_GET
def label_studio_sign_in(request: HttpRequest) -> HttpResponse:
    """Signs the contractor in to Label Studio as their own user, without its password, and sends them on to `next`
    (a path in Label Studio). Served through the gateway (/_labelcrew/sign-in), so the Label Studio session cookie it
    sets belongs to the gateway's host."""
    next_path = request.GET.get("next", "/")
    if not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
        return HttpResponse("`next` must be a path in Label Studio, such as /projects/3/data/.\n", status=400,
                            content_type="text/plain")
    if not request.user.is_authenticated:
        return redirect(f"{settings.SITE_URL}{reverse('account_login')}?next={reverse('portal:dashboard')}")
    contractor = signed_in_contractor(request.user)
    if contractor is None:
        return HttpResponse("Staff sign in to Label Studio with its admin login.\n", status=403,
                            content_type="text/plain")
    holding = contractor_holding(contractor_id=contractor.pk)
    if not holding.allowed:
        return HttpResponse(f"Label Studio is closed to you: {holding.why}.\n", status=403, content_type="text/plain")
    try:
        ls_session = label_studio_session_open(contractor=contractor)
    except DomainError as exc:
        return HttpResponse(f"{exc.message}\n", status=exc.status, content_type="text/plain")
    except LabelStudioUnavailable as exc:
        return HttpResponse(f"{exc}\n", status=503, content_type="text/plain")
    response = redirect(next_path)
    response.set_cookie(SESSION_COOKIE, ls_session, httponly=True, samesite="Lax", secure=request.is_secure())
    return response

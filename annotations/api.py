"""REST API of the annotations app: quality scores under /api/v1/quality/ (a contractor's own, and staff's board,
detail and re-score), and the staff console's actions under /api/v1/console/ (jobs and their progress, batches,
assignment and reclaim, review decisions, the capacity board, deliveries)."""
from decimal import ROUND_HALF_UP

from django.conf import settings
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.models import (
    Annotation,
    Batch,
    BatchKind,
    BatchState,
    Delivery,
    DeliveryState,
    Job,
    PhotoAgreement,
    ScoreState,
)
from annotations.selectors.batches import (
    batch_state_counts,
    batch_task_counts,
    job_batches,
    stale_batches,
    stale_rows,
)
from annotations.selectors.capacity import CapacityRow, capacity_board
from annotations.selectors.deliveries import delivery_link_token, job_deliveries
from annotations.selectors.jobs import job_with_progress, jobs_with_progress
from annotations.selectors.quality import (
    QualityRollup,
    ScoreRow,
    annotation_scores,
    contractor_scores,
    quality_board,
    quality_board_rows,
    quality_rollups,
)
from annotations.selectors.review import annotation_reviews, annotations_for_review, result_labels
from annotations.selectors.review import review_queue as pending_reviews
from annotations.services import agreement, assignment, publishing, review
from annotations.services.delivery import delivery_start
from annotations.services.review import COMMENT_MAX_LENGTH
from annotations.services.scoring_queue import job_rescore_enqueue
from common.api import own_contractor
from common.permissions import staff_permission
from common.roles import OPERATE_JOBS, REVIEW_WORK
from common.validators import validate_printable
from workforce.models import Contractor

MAX_LIMIT = 200
LIMIT_PARAMETER = OpenApiParameter("limit", int, description=f"Newest scores to list (1 to {MAX_LIMIT}, default 20).")


class RollupOutputSerializer(serializers.Serializer):
    score = serializers.FloatField(allow_null=True, help_text="Mean macro IoU over the window; null before the "
                                                              "first scored gold photo.")
    scored_photos = serializers.IntegerField(source="n", help_text="Scored gold photos in the window.")
    window = serializers.SerializerMethodField(help_text="The most recent scored gold photos the score covers.")
    per_class = serializers.DictField(child=serializers.FloatField(), help_text="Defect class -> mean IoU.")
    weakest_class = serializers.CharField(allow_null=True)
    rubber_stamps = serializers.IntegerField(help_text="Photos in the window where a wrong pre-annotation was "
                                                       "submitted unchanged.")
    pause_below = serializers.SerializerMethodField(help_text="An active contractor under this score is paused.")

    def get_window(self, rollup: QualityRollup) -> int:
        return settings.QUALITY_ROLLING_WINDOW

    def get_pause_below(self, rollup: QualityRollup) -> float:
        return settings.QUALITY_PAUSE_BELOW


class ScoreOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="score.pk")
    annotation = serializers.IntegerField(source="score.annotation_id")
    photo = serializers.CharField(source="score.annotation.batch_task.task.key")
    batch = serializers.IntegerField(source="score.annotation.batch_task.batch.number")
    batch_kind = serializers.CharField(source="score.annotation.batch_task.batch.kind",
                                       help_text="work, or qualification (the applicant's round).")
    gold_version = serializers.IntegerField(source="score.gold.version")
    state = serializers.CharField(source="score.state", help_text="scored, or error (then `error` says why).")
    error = serializers.CharField(source="score.error")
    scored_at = serializers.DateTimeField(source="score.scored_at")
    overall_iou = serializers.FloatField(source="score.overall_iou", allow_null=True)
    macro_iou = serializers.FloatField(source="score.macro_iou", allow_null=True,
                                       help_text="Null when neither gold nor the answer has a defect.")
    macro_dice = serializers.FloatField(source="score.macro_dice", allow_null=True)
    macro_boundary_f1 = serializers.FloatField(source="score.macro_boundary_f1", allow_null=True)
    instance_f1 = serializers.FloatField(source="score.instance_f1", allow_null=True)
    defects_missed = serializers.IntegerField(source="missed")
    defects_spurious = serializers.IntegerField(source="spurious")
    classes = serializers.DictField(source="score.per_class", help_text="Defect class -> IoU, Dice, precision, "
                                    "recall, boundary F1, pixel counts and instances (missed and spurious "
                                    "defects with their bounding boxes [x, y, w, h] and areas).")
    rubber_stamp = serializers.BooleanField(source="score.rubber_stamp")
    rubber_stamp_detail = serializers.CharField(source="score.rubber_stamp_detail")
    overlay_url = serializers.SerializerMethodField(help_text="JPEG: green agrees with gold, red marks what gold "
                                                              "does not, blue misses what gold marks.")

    def get_overlay_url(self, row: ScoreRow) -> str | None:
        if not row.score.overlay_path:
            return None
        return self.context["request"].build_absolute_uri(reverse("annotations:quality-overlay", args=[row.score.pk]))


class QualityOutputSerializer(serializers.Serializer):
    contractor = serializers.IntegerField(source="contractor.pk")
    rolling = RollupOutputSerializer(source="rollup")
    scores = ScoreOutputSerializer(many=True, source="rows")


class BoardRowOutputSerializer(serializers.Serializer):
    contractor = serializers.IntegerField(source="contractor.pk")
    email = serializers.EmailField(source="contractor.user.email")
    display_name = serializers.CharField(source="contractor.display_name")
    state = serializers.CharField(source="contractor.state")
    rolling = RollupOutputSerializer(source="rollup")


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", "20")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise serializers.ValidationError({"limit": [f"A whole number from 1 to {MAX_LIMIT}, not {raw!r}."]})
    return int(raw)


def _quality_of(request: Request, contractor: Contractor) -> Response:
    data = {"contractor": contractor,
            "rollup": quality_rollups([contractor.pk])[contractor.pk],
            "rows": contractor_scores(contractor_id=contractor.pk, limit=_limit(request))}
    return Response(QualityOutputSerializer(data, context={"request": request}).data)


class MyQualityApi(APIView):
    """The signed-in contractor's rolling quality on hidden gold photos and their newest scores."""

    @extend_schema(parameters=[LIMIT_PARAMETER], responses=QualityOutputSerializer)
    def get(self, request: Request) -> Response:
        return _quality_of(request, own_contractor(request, staff_use="/api/v1/quality/contractors/"))


class ContractorQualityApi(APIView):
    """Staff: one contractor's rolling quality and newest scores."""

    permission_classes = [staff_permission(REVIEW_WORK)]

    @extend_schema(parameters=[LIMIT_PARAMETER], responses=QualityOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return _quality_of(request, get_object_or_404(Contractor, pk=pk))


class JobRescoreApi(APIView):
    """Staff: score every annotation on the job's gold photos again in the background (scores already made on
    the current gold are kept)."""

    permission_classes = [staff_permission(REVIEW_WORK)]
    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "JobRescore"

        job = serializers.IntegerField()
        queued = serializers.BooleanField()

    @extend_schema(request=None, responses={202: OutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        job = get_object_or_404(Job, pk=pk)
        job_rescore_enqueue(job=job)
        return Response(self.OutputSerializer({"job": job.pk, "queued": True}).data, status=status.HTTP_202_ACCEPTED)


# --- the staff console's actions, under /api/v1/console/ -------------------------------------------------------
# Each endpoint reads through the selector and acts through the service its console page uses, so a refusal here
# is the page's refusal, answered as a 4xx naming the field (common.api.exception_handler).

REVIEW_DECISIONS = [("accept", "Accept"), ("rework", "Send back for rework (say what to fix in `comment`)"),
                    ("promote", "Promote to gold (accepted only)"),
                    ("merge", "Accept the merged mask of the photo's annotators (photos with several only)")]
RECLAIMED = "reclaimed from the console"  # the console's reason when none is given


class ConsolePage(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _valid(serializer_class: type[serializers.Serializer], data: object) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _text(max_length: int, **kwargs: object) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, validators=[validate_printable], trim_whitespace=True,
                                 **kwargs)


def _hours(**kwargs: object) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=10, decimal_places=2, rounding=ROUND_HALF_UP, **kwargs)


class ConsoleListSchema(AutoSchema):
    """A console list's query parameters in the schema: its FilterSerializer's fields, declared once here."""

    def get_override_parameters(self) -> list:
        return [*super().get_override_parameters(), self.view.FilterSerializer]


class ConsoleListApi(generics.ListAPIView):
    """A staff list read through a selector, a page at a time, its query checked by FilterSerializer."""

    schema = ConsoleListSchema()
    pagination_class = ConsolePage
    filter_backends: list = []
    FilterSerializer: type[serializers.Serializer] = serializers.Serializer

    def filters(self) -> dict:
        return _valid(self.FilterSerializer, self.request.query_params)


# --- jobs ---

class ProgressOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ConsoleJobProgress"

    photos = serializers.IntegerField(source="n_tasks")
    gold = serializers.IntegerField(source="n_gold", help_text="Photos with gold.")
    batches = serializers.IntegerField(source="n_batches")
    annotated = serializers.IntegerField(source="n_annotated", help_text="Photos with a live annotation.")
    reviewed = serializers.IntegerField(source="n_reviewed", help_text="Photos with an annotation accepted or sent "
                                                                       "back.")
    accepted = serializers.IntegerField(source="n_accepted", help_text="Photos with an accepted annotation.")


class JobOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ConsoleJob"

    id = serializers.IntegerField()
    name = serializers.CharField()
    client = serializers.CharField()
    created_at = serializers.DateTimeField()
    batch_size = serializers.IntegerField()
    gold_rate = serializers.DecimalField(max_digits=4, decimal_places=3)
    quality_threshold = serializers.DecimalField(max_digits=4, decimal_places=3)
    annotators_per_photo = serializers.IntegerField()
    max_open_batches = serializers.IntegerField()
    listed = serializers.BooleanField(help_text="Open for applications on the public job list (/jobs/).")
    guideline_languages = serializers.ListField(child=serializers.CharField(),
                                                help_text="Language codes the job's guidelines are written in.")
    progress = ProgressOutputSerializer(source="*")


class JobDetailOutputSerializer(JobOutputSerializer):
    class Meta:
        ref_name = "ConsoleJobDetail"

    batches_by_state = serializers.DictField(child=serializers.IntegerField(), help_text="Batch state -> how many "
                                            "of the job's batches are in it (handed_in, in_review, done, ...).")


class JobListApi(ConsoleListApi):
    """Staff: the jobs, newest first, each with its progress counts; `search` keeps those whose name or client
    holds it."""

    permission_classes = [staff_permission(OPERATE_JOBS)]
    serializer_class = JobOutputSerializer
    queryset = Job.objects.none()

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ConsoleJobFilter"

        search = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                       help_text="Part of the job's name or client.")


    def get_queryset(self) -> QuerySet[Job]:
        search = self.filters().get("search", "").strip()
        jobs = jobs_with_progress()
        return jobs.filter(Q(name__icontains=search) | Q(client__icontains=search)) if search else jobs


class JobDetailApi(APIView):
    """Staff: one job with its progress (the job page's counts) and its batches per state."""

    permission_classes = [staff_permission(OPERATE_JOBS)]

    @extend_schema(responses=JobDetailOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        job = job_with_progress(pk)
        if job is None:
            raise NotFound("No such job.")
        job.batches_by_state = {state: n for state, _, n in batch_state_counts(job=job)}
        return Response(JobDetailOutputSerializer(job).data)


class QueuedOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ConsoleJobPublish"

    job = serializers.IntegerField()
    queued = serializers.IntegerField(help_text="Batches queued for publishing to Label Studio.")


class JobPublishApi(APIView):
    """Staff: publish the job's unpublished batches to Label Studio in the background."""

    permission_classes = [staff_permission(OPERATE_JOBS)]

    @extend_schema(request=None, responses={202: QueuedOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        job = get_object_or_404(Job, pk=pk)
        queued = publishing.job_publish_enqueue(job=job)
        return Response(QueuedOutputSerializer({"job": job.pk, "queued": queued}).data,
                        status=status.HTTP_202_ACCEPTED)


class AssignedOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ConsoleAssigned"

    batch = serializers.IntegerField(source="batch_id")
    number = serializers.IntegerField(source="batch.number")
    contractor = serializers.IntegerField(source="contractor_id")


class JobAutoAssignApi(APIView):
    """Staff: fill the contractors who can receive work with the job's open published batches (as the capacity
    board's "Auto-assign")."""

    permission_classes = [staff_permission(OPERATE_JOBS)]
    class AutoAssignOutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ConsoleAutoAssign"

        assigned = AssignedOutputSerializer(many=True)

    @extend_schema(request=None, responses=AutoAssignOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        job = get_object_or_404(Job, pk=pk)
        events = assignment.batches_auto_assign(job=job, actor=request.user)
        return Response(self.AutoAssignOutputSerializer({"assigned": events}).data)


class CapacityRowOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ConsoleCapacityRow"

    contractor = serializers.IntegerField(source="contractor_id")
    name = serializers.CharField()
    can_receive = serializers.BooleanField(help_text="Whether auto-assign would give them a batch of this job.")
    why_not = serializers.CharField(help_text="Why not, when can_receive is false.")
    agreements_accepted = serializers.BooleanField()
    quality = serializers.DecimalField(max_digits=6, decimal_places=4, allow_null=True, rounding=ROUND_HALF_UP,
                                       help_text="Rolling score on gold, else the qualification score.")
    cap_hours = _hours(source="cap")
    logged_hours = _hours(source="logged", help_text="Logged this week.")
    reserved_hours = _hours(source="reserved", help_text="Estimated for the batches they hold.")
    remaining_hours = _hours(source="remaining")
    hours_per_task = serializers.DecimalField(max_digits=10, decimal_places=4, rounding=ROUND_HALF_UP)
    open_batches = serializers.IntegerField(help_text="Batches of this job they hold and have not handed in.")


class JobCapacityApi(ConsoleListApi):
    """Staff: the job's capacity board, as auto-assign ranks it (best quality, then most hours left)."""

    permission_classes = [staff_permission(OPERATE_JOBS)]
    serializer_class = CapacityRowOutputSerializer
    queryset = Job.objects.none()  # the path's job, for the schema; the rows come from capacity_board

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ConsoleCapacityFilter"

        search = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                       help_text="Part of the contractor's name.")
        receiving = serializers.BooleanField(required=False, default=False,
                                             help_text="Only those who can receive a batch of the job now.")


    def get_queryset(self) -> list[CapacityRow]:
        job = get_object_or_404(Job, pk=self.kwargs["pk"])
        filters = self.filters()
        q = filters.get("search", "").strip().casefold()
        return [row for row in capacity_board(job) if (not q or q in row.name.casefold())
                and (not filters["receiving"] or row.can_receive)]


# --- batches ---

class BatchOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ConsoleBatch"

    id = serializers.IntegerField()
    job = serializers.IntegerField(source="job_id")
    number = serializers.IntegerField()
    kind = serializers.CharField()
    state = serializers.CharField()
    tasks = serializers.IntegerField(source="n_tasks", help_text="Photos, hidden gold included.")
    contractor = serializers.IntegerField(source="assigned_to_id", allow_null=True)
    contractor_email = serializers.EmailField(source="assigned_to.user.email", allow_null=True, default=None)
    published_at = serializers.DateTimeField(allow_null=True)
    assigned_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    deadline_at = serializers.DateTimeField(allow_null=True)


class AssignmentEventOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ConsoleAssignmentEvent"

    action = serializers.CharField()
    contractor = serializers.IntegerField(source="contractor_id")
    actor = serializers.EmailField(source="actor.email", allow_null=True, default=None)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class BatchDetailOutputSerializer(BatchOutputSerializer):
    class Meta:
        ref_name = "ConsoleBatchDetail"

    history = AssignmentEventOutputSerializer(many=True, help_text="Assignments, reassignments and reclaims, oldest "
                                                                   "first.")


def _with_task_counts(batches: list[Batch]) -> list[Batch]:
    counts = batch_task_counts(b.pk for b in batches)
    for batch in batches:
        batch.n_tasks = counts.get(batch.pk, 0)
    return batches


def _batch_answer(pk: int) -> Response:
    batch = get_object_or_404(Batch.objects.select_related("assigned_to__user"), pk=pk)
    _with_task_counts([batch])
    batch.history = list(batch.assignment_events.select_related("actor").order_by("created_at", "id"))
    return Response(BatchDetailOutputSerializer(batch).data)


class BatchListApi(ConsoleListApi):
    """Staff: batches by job and number, with their holders, filtered by job, state, kind and holder."""

    permission_classes = [staff_permission(OPERATE_JOBS)]
    serializer_class = BatchOutputSerializer
    queryset = Batch.objects.none()

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ConsoleBatchFilter"

        job = serializers.IntegerField(min_value=1, required=False)
        state = serializers.ChoiceField(choices=BatchState.choices, required=False)
        kind = serializers.ChoiceField(choices=BatchKind.choices, required=False)
        contractor = serializers.IntegerField(min_value=1, required=False, help_text="Held by this contractor.")


    def get_queryset(self) -> QuerySet[Batch]:
        filters = self.filters()
        if "job" in filters:  # the job page's list
            batches = job_batches(job=get_object_or_404(Job, pk=filters["job"]), state=filters.get("state", ""))
        else:
            batches = Batch.objects.select_related("assigned_to__user").order_by("-job_id", "number")
            batches = batches.filter(state=filters["state"]) if "state" in filters else batches
        if "kind" in filters:
            batches = batches.filter(kind=filters["kind"])
        return batches.filter(assigned_to_id=filters["contractor"]) if "contractor" in filters else batches

    def paginate_queryset(self, queryset: QuerySet[Batch]) -> list[Batch] | None:
        page = super().paginate_queryset(queryset)
        return None if page is None else _with_task_counts(page)


class BatchDetailApi(APIView):
    """Staff: one batch, its holder and its assignment history."""

    permission_classes = [staff_permission(OPERATE_JOBS)]

    @extend_schema(responses=BatchDetailOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return _batch_answer(pk)


class BatchAssignApi(APIView):
    """Staff: give an open, published batch to a contractor by hand; refused, naming the field, when they may not
    take it (not active, an agreement to accept, too many open batches, no hours for it, its gold seen before)."""

    permission_classes = [staff_permission(OPERATE_JOBS)]
    class AssignInputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ConsoleAssignInput"

        contractor = serializers.IntegerField(min_value=1)
        reason = _text(500, required=False, allow_blank=True, default="", help_text="Kept in the history.")

    @extend_schema(request=AssignInputSerializer, responses=BatchDetailOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        batch = get_object_or_404(Batch.objects.select_related("job"), pk=pk)
        data = _valid(self.AssignInputSerializer, request.data)
        contractor = Contractor.objects.filter(pk=data["contractor"]).first()
        if contractor is None:
            raise serializers.ValidationError({"contractor": ["No such contractor."]})
        assignment.batch_assign(batch=batch, contractor=contractor, actor=request.user, reason=data["reason"])
        return _batch_answer(pk)


class BatchReclaimApi(APIView):
    """Staff: take an assigned or in-progress batch back and offer it again; partial work is kept."""

    permission_classes = [staff_permission(OPERATE_JOBS)]
    class ReclaimInputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ConsoleReclaimInput"

        reason = _text(500, required=False, allow_blank=True, default="",
                       help_text=f"Kept in the history; \"{RECLAIMED}\" when none is given.")

    @extend_schema(request=ReclaimInputSerializer, responses=BatchDetailOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        batch = get_object_or_404(Batch, pk=pk)
        reason = _valid(self.ReclaimInputSerializer, request.data)["reason"] or RECLAIMED
        assignment.batch_reclaim(batch=batch, actor=request.user, reason=reason)
        return _batch_answer(pk)


class StaleOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ConsoleStaleBatch"

    batch = BatchOutputSerializer()
    reason = serializers.CharField(help_text="The rule it broke.")


class StaleFilter(serializers.Serializer):
    job = serializers.IntegerField(min_value=1, required=False, default=None, help_text="Only this job's batches.")
    search = serializers.CharField(max_length=100, required=False, default="", allow_blank=True,
                                   help_text="Part of the holder's email or name.")


class StaleListApi(ConsoleListApi):
    """Staff: held batches the periodic reclaim would take back now (the stale page), with the rule each broke."""

    permission_classes = [staff_permission(OPERATE_JOBS)]
    serializer_class = StaleOutputSerializer
    FilterSerializer = StaleFilter
    queryset = Batch.objects.none()


    def get_queryset(self) -> QuerySet[Batch]:
        chosen = self.filters()
        self.now = timezone.now()
        return stale_batches(now=self.now, job_id=chosen["job"], search=chosen["search"].strip())

    def paginate_queryset(self, queryset: QuerySet[Batch]) -> list[dict] | None:
        page = super().paginate_queryset(queryset)
        if page is None:
            return None
        return [{"batch": batch, "reason": reason}
                for batch, reason in stale_rows(_with_task_counts(list(page)), now=self.now)]


# --- review ---

class GoldScoreOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ConsoleGoldScore"

    id = serializers.IntegerField()
    gold_version = serializers.IntegerField(source="gold.version", allow_null=True, default=None)
    state = serializers.CharField()
    macro_iou = serializers.FloatField(allow_null=True, help_text="Null when neither gold nor the answer has a "
                                                                  "defect.")
    rubber_stamp = serializers.BooleanField()
    scored_at = serializers.DateTimeField()


def _flags(annotation: Annotation) -> list[str]:
    """The review queue's flags of an annotation, in its words."""
    latest = (getattr(annotation, "gold_scores", None) or [None])[0]
    edits = getattr(annotation, "edits", None)
    return [*(["not the batch holder"] if annotation.unassigned_work else []), *annotation.problems,
            *(["pre-annotation submitted unchanged"] if edits is not None and edits.unchanged else []),
            *(["pre-annotation submitted unchanged on gold"] if latest is not None and latest.rubber_stamp else [])]


class ReviewRowOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ConsoleReviewRow"

    id = serializers.IntegerField()
    ls_annotation_id = serializers.IntegerField()
    job = serializers.IntegerField(source="batch_task.batch.job_id")
    job_name = serializers.CharField(source="batch_task.batch.job.name")
    batch = serializers.IntegerField(source="batch_task.batch_id")
    batch_number = serializers.IntegerField(source="batch_task.batch.number")
    photo = serializers.CharField(source="batch_task.task.key")
    contractor = serializers.IntegerField(source="contractor_id", allow_null=True)
    contractor_email = serializers.EmailField(source="contractor.user.email", allow_null=True, default=None)
    review_state = serializers.CharField()
    made_at = serializers.DateTimeField(source="ls_created_at", allow_null=True)
    gold_score = serializers.SerializerMethodField(help_text="The newest score on gold (hidden gold photos only).")
    flags = serializers.SerializerMethodField()

    @extend_schema_field(GoldScoreOutputSerializer(allow_null=True))
    def get_gold_score(self, annotation: Annotation) -> dict | None:
        latest = (getattr(annotation, "gold_scores", None) or [None])[0]
        return None if latest is None else GoldScoreOutputSerializer(latest).data

    def get_flags(self, annotation: Annotation) -> list[str]:
        return _flags(annotation)


class ReviewDecisionOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ConsoleReviewDecision"

    decision = serializers.CharField()
    comment = serializers.CharField()
    reviewer = serializers.EmailField(source="reviewer.email")
    created_at = serializers.DateTimeField()


class ReviewDetailOutputSerializer(ReviewRowOutputSerializer):
    class Meta:
        ref_name = "ConsoleReviewDetail"

    labels = serializers.ListField(child=serializers.CharField(), help_text="Classes the annotation paints.")
    prediction_labels = serializers.ListField(child=serializers.CharField(),
                                              help_text="Classes the photo's pre-annotation paints.")
    decisions = serializers.ListField(child=serializers.ChoiceField(choices=REVIEW_DECISIONS),
                                      help_text="Decisions that may be posted (merge only on a photo with several "
                                                "annotators).")
    reviews = ReviewDecisionOutputSerializer(many=True, source="reviews_taken", help_text="Decisions taken on it "
                                                                                        "so far.")
    scores = GoldScoreOutputSerializer(many=True, source="all_scores", help_text="Its scores (scored or failed), "
                                                                                 "against the newest gold first.")


def _mergeable(annotation: Annotation) -> bool:
    return PhotoAgreement.objects.filter(task=annotation.batch_task.task).exists()


def _review_answer(pk: int) -> Response:
    annotation = get_object_or_404(annotations_for_review(), pk=pk)
    annotation.labels = result_labels(annotation.result)
    annotation.prediction_labels = result_labels((annotation.batch_task.task.prediction or {}).get("result", []))
    annotation.decisions = [value for value, _ in REVIEW_DECISIONS if value != "merge" or _mergeable(annotation)]
    annotation.reviews_taken = list(annotation_reviews(annotation=annotation))
    annotation.all_scores = list(annotation_scores(annotation=annotation))
    annotation.gold_scores = [s for s in annotation.all_scores if s.state == ScoreState.SCORED]
    return Response(ReviewDetailOutputSerializer(annotation).data)


class ReviewQueueApi(ConsoleListApi):
    """Staff: live annotations waiting for a decision, oldest first, with the score on gold and the flags."""

    permission_classes = [staff_permission(REVIEW_WORK)]
    serializer_class = ReviewRowOutputSerializer
    queryset = Annotation.objects.none()

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ConsoleReviewFilter"

        job = serializers.IntegerField(min_value=1, required=False)
        contractor = serializers.IntegerField(min_value=1, required=False)


    def get_queryset(self) -> QuerySet[Annotation]:
        filters = self.filters()
        queue = pending_reviews(job_id=filters.get("job"))
        return queue.filter(contractor_id=filters["contractor"]) if "contractor" in filters else queue


class ReviewDetailApi(APIView):
    """Staff: one submission, what it paints against its pre-annotation, its scores and the decisions so far."""

    permission_classes = [staff_permission(REVIEW_WORK)]

    @extend_schema(responses=ReviewDetailOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return _review_answer(pk)


class ReviewDecideApi(APIView):
    """Staff: decide on a submission, as the review page does; a refusal names the field (a rework needs a
    comment, a batch still held is not reviewed, promote needs an accepted annotation)."""

    permission_classes = [staff_permission(REVIEW_WORK)]
    class DecisionInputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ConsoleReviewDecisionInput"

        decision = serializers.ChoiceField(choices=REVIEW_DECISIONS)
        comment = _text(COMMENT_MAX_LENGTH, required=False, allow_blank=True, default="",
                        help_text="Required for rework: what to fix; the contractor reads it.")

    @extend_schema(request=DecisionInputSerializer, responses=ReviewDetailOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        annotation = get_object_or_404(annotations_for_review(), pk=pk)
        data = _valid(self.DecisionInputSerializer, request.data)
        decision, comment, task = data["decision"], data["comment"], annotation.batch_task.task
        if decision == "merge" and not _mergeable(annotation):
            raise serializers.ValidationError({"decision": ["This photo has one annotator: there is no merged mask "
                                                            "to accept."]})
        if decision == "accept":
            review.annotation_accept(annotation=annotation, reviewer=request.user, comment=comment)
        elif decision == "rework":
            review.annotation_rework(annotation=annotation, reviewer=request.user, comment=comment)
        elif decision == "merge":
            agreement.photo_merged_accept(task=task, reviewer=request.user)
        else:
            review.annotation_promote_to_gold(annotation=annotation, reviewer=request.user)
        return _review_answer(pk)


# --- deliveries ---

class DeliveryOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "ConsoleDelivery"

    id = serializers.IntegerField()
    job = serializers.IntegerField(source="job_id")
    number = serializers.IntegerField()
    state = serializers.ChoiceField(choices=DeliveryState.choices)
    partial = serializers.BooleanField()
    photos_total = serializers.IntegerField()
    photos_written = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class DeliveryDetailOutputSerializer(DeliveryOutputSerializer):
    class Meta:
        ref_name = "ConsoleDeliveryDetail"

    missing_keys = serializers.ListField(child=serializers.CharField(), help_text="Photos a partial one left out.")
    error = serializers.CharField()
    zip_size = serializers.IntegerField(allow_null=True)
    zip_sha256 = serializers.CharField()
    report = serializers.DictField(help_text="The delivery's report (quality on gold, review counts, cost, "
                                             "photos) once done; {} before.")
    zip_url = serializers.SerializerMethodField()
    client_link = serializers.SerializerMethodField(help_text="The signed link for the client (no login), once "
                                                              "done.")

    def _done(self, delivery: Delivery) -> bool:
        return delivery.state == DeliveryState.DONE

    def get_zip_url(self, delivery: Delivery) -> str | None:
        return (self.context["request"].build_absolute_uri(reverse("console:delivery-zip", args=[delivery.pk]))
                if self._done(delivery) else None)

    def get_client_link(self, delivery: Delivery) -> str | None:
        if not self._done(delivery):
            return None
        token = delivery_link_token(delivery)
        return self.context["request"].build_absolute_uri(reverse("annotations:client-delivery", args=[token]))


class JobDeliveriesApi(APIView):
    """Staff: the job's deliveries, newest first (GET); start a delivery of its accepted masks (POST), refused
    while one is being written, or while a photo has no accepted mask unless `partial`."""

    permission_classes = [staff_permission(OPERATE_JOBS)]
    class DeliveriesOutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ConsoleJobDeliveries"

        photos = serializers.IntegerField()
        accepted = serializers.IntegerField(help_text="Photos with an accepted mask to deliver.")
        busy = serializers.BooleanField(help_text="A delivery is queued or being written.")
        deliveries = DeliveryOutputSerializer(many=True)

    class DeliverInputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ConsoleDeliverInput"

        partial = serializers.BooleanField(required=False, default=False,
                                           help_text="Deliver the photos that have an accepted mask, naming the "
                                                     "others in the report.")

    @extend_schema(responses=DeliveriesOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(self.DeliveriesOutputSerializer(job_deliveries(get_object_or_404(Job, pk=pk))).data)

    @extend_schema(request=DeliverInputSerializer, responses={202: DeliveryDetailOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        job = get_object_or_404(Job, pk=pk)
        partial = _valid(self.DeliverInputSerializer, request.data)["partial"]
        started = delivery_start(job=job, actor=request.user, partial=partial)
        return Response(DeliveryDetailOutputSerializer(started, context={"request": request}).data,
                        status=status.HTTP_202_ACCEPTED)


class DeliveryDetailApi(APIView):
    """Staff: a delivery's state, counters and, once done, its report, file and the client's signed link."""

    permission_classes = [staff_permission(OPERATE_JOBS)]

    @extend_schema(responses=DeliveryDetailOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        found = get_object_or_404(Delivery, pk=pk)
        return Response(DeliveryDetailOutputSerializer(found, context={"request": request}).data)


class QualityBoardFilter(serializers.Serializer):
    search = serializers.CharField(max_length=100, required=False, default="", allow_blank=True,
                                   help_text="Part of the contractor's email or name.")


class QualityBoardApi(ConsoleListApi):
    """Staff: every labelling contractor's rolling quality, weakest first (not yet scored last), a page at a time."""

    permission_classes = [staff_permission(REVIEW_WORK)]
    serializer_class = BoardRowOutputSerializer
    FilterSerializer = QualityBoardFilter
    queryset = Contractor.objects.none()


    def get_queryset(self) -> QuerySet[Contractor]:
        return quality_board(search=self.filters()["search"].strip())

    def paginate_queryset(self, queryset: QuerySet[Contractor]) -> list[dict]:
        return [{"contractor": contractor, "rollup": rollup}
                for contractor, rollup in quality_board_rows(super().paginate_queryset(queryset))]

"""REST API of quality scores under /api/v1/quality/: a contractor's own, and staff's board, detail and re-score."""
from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.models import Job
from annotations.selectors.quality import QualityRollup, ScoreRow, contractor_scores, quality_board, quality_rollups
from annotations.services.scoring_queue import job_rescore_enqueue
from common.api import own_contractor
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


class QualityBoardApi(APIView):
    """Staff: every labelling contractor's rolling quality, weakest first (not yet scored last)."""

    permission_classes = [IsAdminUser]

    @extend_schema(responses=BoardRowOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        board = [{"contractor": contractor, "rollup": rollup} for contractor, rollup in quality_board()]
        return Response(BoardRowOutputSerializer(board, many=True).data)


class ContractorQualityApi(APIView):
    """Staff: one contractor's rolling quality and newest scores."""

    permission_classes = [IsAdminUser]

    @extend_schema(parameters=[LIMIT_PARAMETER], responses=QualityOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return _quality_of(request, get_object_or_404(Contractor, pk=pk))


class JobRescoreApi(APIView):
    """Staff: score every annotation on the job's gold photos again in the background (scores already made on
    the current gold are kept)."""

    permission_classes = [IsAdminUser]

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

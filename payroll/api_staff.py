"""REST API of staff's payroll work, under /api/v1/payroll/: review weeks, adjust, run pay runs, change pay terms."""
from datetime import datetime
from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.models import Job
from common.errors import DomainError
from payroll import review
from payroll.api import StatementOutputSerializer
from payroll.export_views import TimesheetExportApi
from payroll.models import PayRun, Timesheet, TimesheetState
from payroll.selectors import entries_of, pay_terms_history, week_name, week_parse
from payroll.services import entries, payruns, terms, timesheets
from workforce.models import Contractor

NOTHING_TO_PAY = "Nothing to pay: no approved timesheet of the week is waiting for payment."


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-W\d{2}$", "example": "2026-W48"})
class IsoWeekField(serializers.Field):
    """An ISO week written like 2026-W48, read as its Monday 00:00 UTC."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "ISO week, e.g. 2026-W48.")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> datetime:
        if not isinstance(data, str):
            raise serializers.ValidationError("Write the ISO week as text, e.g. 2026-W48.")
        try:
            return week_parse(data[:32], field=self.field_name)
        except DomainError as exc:
            raise serializers.ValidationError(exc.message.removeprefix(f"{self.field_name}: ")) from None

    def to_representation(self, value: datetime) -> str:
        return week_name(value)


# --- output ---------------------------------------------------------------------------------

class ContractorBriefSerializer(serializers.Serializer):
    class Meta:
        ref_name = "PayrollStaffContractor"

    id = serializers.IntegerField(source="pk")
    name = serializers.SerializerMethodField()
    email = serializers.EmailField(source="user.email")
    country = serializers.CharField(source="country.code", help_text="ISO 3166 code; empty when not given.")
    timezone = serializers.CharField()
    payout_method = serializers.CharField()

    def get_name(self, contractor: Contractor) -> str:
        return contractor.display_name or contractor.legal_name


class TimesheetRowSerializer(serializers.Serializer):
    """A contractor-week with its hours, pay, Label Studio evidence and flags."""

    class Meta:
        ref_name = "PayrollStaffTimesheetRow"

    id = serializers.IntegerField(source="timesheet.pk")
    contractor = ContractorBriefSerializer(source="timesheet.contractor")
    week = serializers.SerializerMethodField()
    week_start = serializers.DateTimeField(source="timesheet.week_start")
    # Plain text in the schema: an enum named "state" would collide with the contractor's onboarding state.
    state = serializers.CharField(source="timesheet.state", help_text=f"One of {', '.join(TimesheetState.values)}.")
    work_minutes = serializers.IntegerField(source="totals.work_minutes")
    adjustment_minutes = serializers.IntegerField(source="totals.adjustment_minutes")
    hours = serializers.DecimalField(max_digits=8, decimal_places=2, help_text="Work and adjustments, 2 places.")
    hmm = serializers.CharField(help_text="The same as h:mm.")
    hourly_rates = serializers.ListField(source="rates", child=serializers.DecimalField(max_digits=8,
                                                                                         decimal_places=2))
    earned = serializers.DecimalField(source="totals.earned", max_digits=10, decimal_places=2,
                                      help_text="Rounded half-up to cents, as a statement would pay it.")
    annotation_count = serializers.IntegerField(source="evidence.annotation_count")
    active_hours = serializers.DecimalField(max_digits=8, decimal_places=2,
                                            help_text="Sum of Label Studio's lead_time, in hours.")
    flags = serializers.ListField(child=serializers.CharField())
    submitted_at = serializers.DateTimeField(source="timesheet.submitted_at", allow_null=True)
    decided_at = serializers.DateTimeField(source="timesheet.decided_at", allow_null=True)

    def get_week(self, row: review.TimesheetRow) -> str:
        return week_name(row.timesheet.week_start)


class EntrySerializer(serializers.Serializer):
    class Meta:
        ref_name = "PayrollStaffTimeEntry"

    id = serializers.IntegerField()
    kind = serializers.CharField()
    job = serializers.IntegerField(source="job_id")
    batch = serializers.IntegerField(source="batch_id", allow_null=True)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(allow_null=True)
    minutes = serializers.IntegerField(help_text="Signed for adjustments.")
    hourly_rate = serializers.DecimalField(max_digits=8, decimal_places=2)
    note = serializers.CharField()
    corrects_week = serializers.SerializerMethodField()
    created_by = serializers.EmailField(source="created_by.email")
    created_at = serializers.DateTimeField()

    def get_corrects_week(self, entry: Any) -> str | None:
        return week_name(entry.corrects_week) if entry.corrects_week else None


class TimesheetDetailSerializer(TimesheetRowSerializer):
    class Meta:
        ref_name = "PayrollStaffTimesheet"

    submitted_by = serializers.EmailField(source="timesheet.submitted_by.email", allow_null=True,
                                          help_text="Null when the week was closed automatically.")
    decided_by = serializers.EmailField(source="timesheet.decided_by.email", allow_null=True)
    rejection_reason = serializers.CharField(source="timesheet.rejection_reason")
    entries = serializers.SerializerMethodField()

    @extend_schema_field(EntrySerializer(many=True))
    def get_entries(self, row: review.TimesheetRow) -> list[dict[str, Any]]:
        return EntrySerializer(entries_of(row.timesheet), many=True).data


class StatementSerializer(StatementOutputSerializer):
    """A statement as its contractor sees it, and whose it is."""

    class Meta:
        ref_name = "PayrollStaffStatement"

    contractor = serializers.IntegerField(source="contractor_id")
    contractor_email = serializers.EmailField(source="contractor.user.email")
    timesheet = serializers.IntegerField(source="timesheet_id")


class PayoutTotalSerializer(serializers.Serializer):
    class Meta:
        ref_name = "PayrollStaffPayoutTotal"

    method = serializers.CharField()
    statements = serializers.IntegerField()
    payable = serializers.DecimalField(max_digits=12, decimal_places=2)


class PayRunSerializer(serializers.Serializer):
    class Meta:
        ref_name = "PayrollStaffPayRun"

    id = serializers.IntegerField(source="run.pk")
    week = serializers.SerializerMethodField()
    week_start = serializers.DateTimeField(source="run.week_start")
    minimum_payout = serializers.DecimalField(source="run.minimum_payout", max_digits=8, decimal_places=2)
    created_by = serializers.EmailField(source="run.created_by.email")
    created_at = serializers.DateTimeField(source="run.created_at")
    earned = serializers.DecimalField(max_digits=12, decimal_places=2)
    carried_in = serializers.DecimalField(max_digits=12, decimal_places=2)
    payable = serializers.DecimalField(max_digits=12, decimal_places=2)
    carried_out = serializers.DecimalField(max_digits=12, decimal_places=2)
    by_method = PayoutTotalSerializer(many=True)
    statements = StatementSerializer(many=True)

    def get_week(self, summary: review.PayRunSummary) -> str:
        return week_name(summary.run.week_start)


class PayTermsSerializer(serializers.Serializer):
    class Meta:
        ref_name = "PayrollStaffPayTerms"

    effective_from = serializers.DateTimeField(allow_null=True, help_text="Null: the job's own terms, from its start.")
    hourly_rate = serializers.DecimalField(max_digits=8, decimal_places=2)
    weekly_cap_hours = serializers.DecimalField(max_digits=5, decimal_places=2)
    currency = serializers.CharField()


class DetailSerializer(serializers.Serializer):
    class Meta:
        ref_name = "PayrollStaffDetail"

    detail = serializers.CharField()


def _timesheet(pk: int) -> Timesheet:
    return get_object_or_404(Timesheet.objects.select_related("contractor__user", "submitted_by", "decided_by"),
                             pk=pk)


def _timesheet_answer(timesheet: Timesheet, *, status_code: int = status.HTTP_200_OK) -> Response:
    timesheet = _timesheet(timesheet.pk)  # read afresh, with the people of its audit trail
    return Response(TimesheetDetailSerializer(review.timesheet_row(timesheet)).data, status=status_code)


# --- views ----------------------------------------------------------------------------------

class WeekTimesheetsApi(generics.ListAPIView):
    """The week's timesheets in contractor order, with hours, pay, evidence and flags."""

    permission_classes = [IsAdminUser]
    queryset = Timesheet.objects.none()  # the model, for the schema; the rows come from payroll.review
    serializer_class = TimesheetRowSerializer
    filter_backends: list = []

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PayrollStaffWeekFilter"

        state = serializers.ChoiceField(choices=TimesheetState.choices, required=False)
        flagged = serializers.BooleanField(required=False, default=False, help_text="Only flagged timesheets.")

    @extend_schema(parameters=[FilterSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> list[review.TimesheetRow]:
        week_start = week_parse(self.kwargs["week"])
        filters = self.FilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return review.week_rows(week_start=week_start, state=filters.validated_data.get("state"),
                                flagged_only=filters.validated_data["flagged"])


class TimesheetDetailApi(APIView):
    """One timesheet: totals, evidence, flags, its audit trail and every entry."""

    permission_classes = [IsAdminUser]

    @extend_schema(responses=TimesheetDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return _timesheet_answer(_timesheet(pk))


class TimesheetApproveApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(request=None, responses=TimesheetDetailSerializer)
    def post(self, request: Request, pk: int) -> Response:
        timesheet = timesheets.timesheet_decide(timesheet=_timesheet(pk), approve=True, actor=request.user)
        return _timesheet_answer(timesheet)


class TimesheetRejectApi(APIView):
    permission_classes = [IsAdminUser]

    class RejectInputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PayrollStaffRejectInput"

        reason = serializers.CharField(max_length=1000, help_text="The contractor reads it to correct the week.")

    @extend_schema(request=RejectInputSerializer, responses=TimesheetDetailSerializer)
    def post(self, request: Request, pk: int) -> Response:
        timesheet = _timesheet(pk)
        serializer = self.RejectInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        timesheet = timesheets.timesheet_decide(timesheet=timesheet, approve=False, actor=request.user,
                                                reason=serializer.validated_data["reason"])
        return _timesheet_answer(timesheet)


class AdjustmentCreateApi(APIView):
    """Add (or take back) paid minutes in the contractor's current week, with the reason."""

    permission_classes = [IsAdminUser]

    class AdjustmentInputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PayrollStaffAdjustmentInput"

        contractor = serializers.PrimaryKeyRelatedField(queryset=Contractor.objects.all())
        job = serializers.PrimaryKeyRelatedField(queryset=Job.objects.all(), help_text="Its rate prices the minutes.")
        minutes = serializers.IntegerField(help_text="Signed: negative takes minutes back.")
        reason = serializers.CharField(max_length=500)
        corrects_week = IsoWeekField(required=False, allow_null=True,
                                     help_text="The locked week this corrects, e.g. 2026-W47; its rate applies.")

    @extend_schema(request=AdjustmentInputSerializer, responses={201: EntrySerializer})
    def post(self, request: Request) -> Response:
        serializer = self.AdjustmentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = entries.adjustment_create(actor=request.user, **serializer.validated_data)
        return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class PayRunCreateApi(APIView):
    """Pay the week's approved timesheets that no earlier run paid; running it again pays nothing twice."""

    permission_classes = [IsAdminUser]

    class PayRunInputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PayrollStaffPayRunInput"

        week = IsoWeekField()
        minimum_payout = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0, required=False,
                                                  help_text="Default: the configured minimum payout.")

    @extend_schema(request=PayRunInputSerializer, responses={
        201: PayRunSerializer, 200: OpenApiResponse(DetailSerializer, description=NOTHING_TO_PAY)})
    def post(self, request: Request) -> Response:
        serializer = self.PayRunInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        run = payruns.pay_run_execute(week_start=data["week"], actor=request.user,
                                      minimum_payout=data.get("minimum_payout"))
        if run is None:
            return Response({"detail": NOTHING_TO_PAY})
        return Response(PayRunSerializer(review.pay_run_summary(run)).data, status=status.HTTP_201_CREATED)


class PayRunDetailApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(responses=PayRunSerializer)
    def get(self, request: Request, pk: int) -> Response:
        run = get_object_or_404(PayRun.objects.select_related("created_by"), pk=pk)
        return Response(PayRunSerializer(review.pay_run_summary(run)).data)


class JobPayTermsApi(APIView):
    """A job's pay terms over time (GET), and a change of rate and cap from a moment on (POST)."""

    permission_classes = [IsAdminUser]

    class PayTermsInputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PayrollStaffPayTermsInput"

        effective_from = serializers.DateTimeField(help_text="ISO 8601 with offset; not in the past.")
        hourly_rate = serializers.DecimalField(max_digits=8, decimal_places=2)
        weekly_cap_hours = serializers.DecimalField(max_digits=5, decimal_places=2)
        reason = serializers.CharField(max_length=500)

    @extend_schema(responses=PayTermsSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        job = get_object_or_404(Job, pk=pk)
        return Response(PayTermsSerializer(pay_terms_history(job=job), many=True).data)

    @extend_schema(request=PayTermsInputSerializer, responses={201: PayTermsSerializer(many=True)})
    def post(self, request: Request, pk: int) -> Response:
        job = get_object_or_404(Job, pk=pk)
        serializer = self.PayTermsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        terms.pay_terms_change(job=job, actor=request.user, **serializer.validated_data)
        return Response(PayTermsSerializer(pay_terms_history(job=job), many=True).data,
                        status=status.HTTP_201_CREATED)


urlpatterns = [
    path("weeks/<str:week>/timesheets/", WeekTimesheetsApi.as_view(), name="staff-week-timesheets"),
    path("timesheets/<int:pk>/", TimesheetDetailApi.as_view(), name="staff-timesheet"),
    path("timesheets/<int:pk>/approve/", TimesheetApproveApi.as_view(), name="staff-timesheet-approve"),
    path("timesheets/<int:pk>/reject/", TimesheetRejectApi.as_view(), name="staff-timesheet-reject"),
    path("adjustments/", AdjustmentCreateApi.as_view(), name="staff-adjustments"),
    path("pay-runs/", PayRunCreateApi.as_view(), name="staff-pay-runs"),
    path("pay-runs/<int:pk>/", PayRunDetailApi.as_view(), name="staff-pay-run"),
    path("jobs/<int:pk>/terms/", JobPayTermsApi.as_view(), name="staff-job-terms"),
    path("weeks/<str:week>/export", TimesheetExportApi.as_view(), name="export"),
]

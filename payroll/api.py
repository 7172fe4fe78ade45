"""Payroll's REST API under /api/v1/payroll/ (routes in api_urls.py): a contractor's own time and pay (me/...)
and staff's work (review weeks, adjust, run pay runs, change pay terms, export a week).

Views parse, check permission, call a service and serialize; common.api's exception handler turns a
DomainError into its HTTP answer.
"""
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.models import Batch, Job
from common.api import own_contractor
from common.errors import DomainError
from common.permissions import staff_permission
from common.roles import RUN_PAYROLL
from common.validators import validate_printable
from payroll.models import PayRun, RunningTimer, Statement, TimeEntry, Timesheet, TimesheetState
from payroll.selectors import exports, review
from payroll.selectors.amounts import minutes_as_hours, seconds_as_hours
from payroll.selectors.contractor_weeks import statements_of
from payroll.selectors.evidence import evidence_by_week, timesheet_flags
from payroll.selectors.held_pay import held_pay_notes
from payroll.selectors.terms import pay_terms_history
from payroll.selectors.timesheets import entries_of, timesheet_for_week, totals_by_timesheet
from payroll.selectors.weeks import WEEK, week_name, week_parse, week_start_utc
from payroll.services.entries import adjustment_create, time_entry_create, time_entry_delete, timer_start, timer_stop
from payroll.services.payruns import NOTHING_TO_PAY, pay_run_execute
from payroll.services.terms import pay_terms_change
from payroll.services.timesheets import timesheet_decide, timesheet_submit
from payroll.views import timesheet_export_response
from workforce.models import Contractor

WEEK_PARAMETER = OpenApiParameter("week", str, description="ISO week, e.g. 2026-W48; the current week if left out.")


def _own_contractor(request: Request) -> Contractor:
    return own_contractor(request, staff_use="/api/v1/payroll/weeks/<week>/timesheets/")


class MomentField(serializers.DateTimeField):
    """An ISO 8601 moment that states its UTC offset: a time without one could be any of 26 moments."""

    default_error_messages = {"naive": "Give the time with its UTC offset, e.g. 2026-11-24T09:00:00+09:00."}

    def enforce_timezone(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)


# --- output ---------------------------------------------------------------------------------

class TimeEntryOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "OwnTimeEntry"

    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="work, or adjustment (added by staff, signed minutes, no end).")
    week = serializers.SerializerMethodField()
    job = serializers.IntegerField(source="job_id")
    job_name = serializers.CharField(source="job.name")
    batch = serializers.IntegerField(source="batch_id", allow_null=True)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(allow_null=True)
    minutes = serializers.IntegerField()
    hours = serializers.SerializerMethodField()
    hourly_rate = serializers.DecimalField(max_digits=8, decimal_places=2)
    note = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_week(self, entry: TimeEntry) -> str:
        return week_name(entry.timesheet.week_start)

    def get_hours(self, entry: TimeEntry) -> str:
        return str(minutes_as_hours(entry.minutes))


class TimesheetOutputSerializer(serializers.Serializer):
    """A pay week with its totals and what the reviewer sees next to it."""

    class Meta:
        ref_name = "OwnTimesheet"

    week = serializers.CharField()
    week_start = serializers.DateTimeField()
    week_end = serializers.DateTimeField()
    state = serializers.CharField()
    work_minutes = serializers.IntegerField()
    adjustment_minutes = serializers.IntegerField()
    hours = serializers.DecimalField(max_digits=6, decimal_places=2)
    earned = serializers.DecimalField(max_digits=10, decimal_places=2, help_text="Rounded half-up to cents.")
    currency = serializers.CharField()
    rejection_reason = serializers.CharField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    annotation_count = serializers.IntegerField()
    label_studio_active_hours = serializers.DecimalField(max_digits=6, decimal_places=2)
    flags = serializers.ListField(child=serializers.CharField())


def _timesheet_rows(contractor: Contractor, timesheets: Iterable[Timesheet]) -> list[dict[str, Any]]:
    """Timesheets with totals, evidence and flags: three queries for any number of weeks."""
    timesheets = list(timesheets)
    totals = totals_by_timesheet(t.pk for t in timesheets)
    evidence = evidence_by_week(contractor=contractor, week_starts=[t.week_start for t in timesheets])
    rows = []
    for t in timesheets:
        week, found = totals[t.pk], evidence.get(t.week_start)
        rows.append({
            "week": week_name(t.week_start), "week_start": t.week_start, "week_end": t.week_start + WEEK,
            "state": t.state, "work_minutes": week.work_minutes, "adjustment_minutes": week.adjustment_minutes,
            "hours": minutes_as_hours(week.minutes), "earned": week.earned, "currency": settings.PAYROLL_CURRENCY,
            "rejection_reason": t.rejection_reason, "submitted_at": t.submitted_at, "decided_at": t.decided_at,
            "annotation_count": found.annotation_count if found else 0,
            "label_studio_active_hours": found.active_hours if found else seconds_as_hours(0),
            "flags": timesheet_flags(minutes=week.work_minutes, evidence=found),
        })
    return rows


class StatementOutputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "OwnStatement"

    id = serializers.IntegerField()
    pay_run = serializers.IntegerField(source="pay_run_id")
    week = serializers.SerializerMethodField()
    minutes = serializers.IntegerField()
    hours = serializers.SerializerMethodField()
    earned = serializers.DecimalField(max_digits=10, decimal_places=2)
    carried_in = serializers.DecimalField(max_digits=10, decimal_places=2)
    payable = serializers.DecimalField(max_digits=10, decimal_places=2)
    carried_out = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    payout_method = serializers.CharField()
    payout_email = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_week(self, statement: Statement) -> str:
        return week_name(statement.timesheet.week_start)

    def get_hours(self, statement: Statement) -> str:
        return str(minutes_as_hours(statement.minutes))


# --- time entries ---------------------------------------------------------------------------

class MeTimeEntriesApi(APIView):
    """The contractor's entries of one pay week (GET), and work logged against a batch (POST)."""

    class TimeEntryInputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "OwnTimeEntryInput"

        batch = serializers.IntegerField(min_value=1, help_text="A batch assigned to you, now or before.")
        start = MomentField(help_text="ISO 8601 with offset; seconds are dropped.")
        end = MomentField(help_text="ISO 8601 with offset; at most 12 hours after start, not in the future.")
        note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="",
                                     validators=[validate_printable])

    class CapExceededOutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CapExceeded"

        detail = serializers.CharField()
        end = serializers.ListField(child=serializers.CharField())
        remaining_minutes = serializers.IntegerField(help_text="Work minutes still open in the week.")

    @extend_schema(parameters=[WEEK_PARAMETER], responses=TimeEntryOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        contractor = _own_contractor(request)
        week = request.query_params.get("week")
        week_start = week_parse(week) if week else week_start_utc(timezone.now())
        timesheet = timesheet_for_week(contractor=contractor, week_start=week_start)
        entries = entries_of(timesheet).select_related("timesheet") if timesheet else []
        return Response(TimeEntryOutputSerializer(entries, many=True).data)

    @extend_schema(request=TimeEntryInputSerializer,
                   responses={201: TimeEntryOutputSerializer(many=True), 409: CapExceededOutputSerializer},
                   description="An entry crossing Monday 00:00 UTC is split: one entry per pay week.")
    def post(self, request: Request) -> Response:
        contractor = _own_contractor(request)
        serializer = self.TimeEntryInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        batch = Batch.objects.select_related("job").filter(pk=data["batch"]).first()
        if batch is None:
            raise ValidationError({"batch": ["No batch with this id."]})
        entries = time_entry_create(contractor=contractor, batch=batch, start=data["start"], end=data["end"],
                                    note=data["note"], actor=request.user)
        return Response(TimeEntryOutputSerializer(entries, many=True).data, status=status.HTTP_201_CREATED)


class MeTimeEntryApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        contractor = _own_contractor(request)
        entry = get_object_or_404(TimeEntry.objects.select_related("timesheet"), pk=pk, contractor=contractor)
        time_entry_delete(entry=entry, contractor=contractor)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- timer ----------------------------------------------------------------------------------

class MeTimerApi(APIView):
    """The dashboard timer: whether it runs (GET), start it on a batch (POST), stop it and log its span (DELETE)."""

    class TimerInputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "OwnTimerInput"

        batch = serializers.IntegerField(min_value=1, help_text="A batch assigned to you.")

    class TimerOutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "OwnTimer"

        running = serializers.BooleanField()
        batch = serializers.IntegerField(allow_null=True)
        started_at = serializers.DateTimeField(allow_null=True)

    class TimerStopOutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "OwnTimerStop"

        entries = TimeEntryOutputSerializer(many=True)
        message = serializers.CharField(help_text="What was logged, and why less than the span if so.")

    def _timer(self, timer: RunningTimer | None) -> dict[str, Any]:
        if timer is None:
            return {"running": False, "batch": None, "started_at": None}
        return {"running": True, "batch": timer.batch_id, "started_at": timer.started_at}

    @extend_schema(responses=TimerOutputSerializer)
    def get(self, request: Request) -> Response:
        timer = RunningTimer.objects.filter(contractor=_own_contractor(request)).first()
        return Response(self.TimerOutputSerializer(self._timer(timer)).data)

    @extend_schema(request=TimerInputSerializer, responses={201: TimerOutputSerializer})
    def post(self, request: Request) -> Response:
        contractor = _own_contractor(request)
        serializer = self.TimerInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        batch = Batch.objects.filter(pk=serializer.validated_data["batch"]).first()
        if batch is None:
            raise ValidationError({"batch": ["No batch with this id."]})
        timer = timer_start(contractor=contractor, batch=batch)
        return Response(self.TimerOutputSerializer(self._timer(timer)).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: TimerStopOutputSerializer})
    def delete(self, request: Request) -> Response:
        result = timer_stop(contractor=_own_contractor(request))
        return Response(self.TimerStopOutputSerializer({"entries": result.entries, "message": result.message}).data)


# --- timesheets and statements --------------------------------------------------------------

class MeTimesheetsApi(generics.ListAPIView):
    """The contractor's timesheets, newest week first, with totals, Label Studio evidence and flags."""

    queryset = Timesheet.objects.none()  # the model, for the schema; the rows are read in list()
    serializer_class = TimesheetOutputSerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        contractor = _own_contractor(request)
        page = self.paginate_queryset(Timesheet.objects.filter(contractor=contractor).order_by("-week_start"))
        return self.get_paginated_response(self.get_serializer(_timesheet_rows(contractor, page), many=True).data)


class MeTimesheetSubmitApi(APIView):
    @extend_schema(request=None, responses=TimesheetOutputSerializer)
    def post(self, request: Request, week: str) -> Response:
        contractor = _own_contractor(request)
        timesheet = get_object_or_404(Timesheet, contractor=contractor, week_start=week_parse(week))
        timesheet = timesheet_submit(timesheet=timesheet, actor=request.user)
        return Response(TimesheetOutputSerializer(_timesheet_rows(contractor, [timesheet])[0]).data)


class MeStatementsApi(generics.ListAPIView):
    """The contractor's statements, newest week first."""

    queryset = Statement.objects.none()
    serializer_class = StatementOutputSerializer

    def get_queryset(self) -> QuerySet[Statement]:
        return statements_of(_own_contractor(self.request))


class MeStatementApi(generics.RetrieveAPIView):
    """One of the contractor's statements with the entries it pays; anyone else's is not found."""

    class StatementDetailOutputSerializer(StatementOutputSerializer):
        class Meta:
            ref_name = "OwnStatementDetail"

        entries = serializers.SerializerMethodField()

        @extend_schema_field(TimeEntryOutputSerializer(many=True))
        def get_entries(self, statement: Statement) -> list[dict[str, Any]]:
            entries = entries_of(statement.timesheet).select_related("timesheet")
            return TimeEntryOutputSerializer(entries, many=True).data

    queryset = Statement.objects.none()
    serializer_class = StatementDetailOutputSerializer

    def get_queryset(self) -> QuerySet[Statement]:
        return statements_of(_own_contractor(self.request))


# === staff ==================================================================================

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
    statements = serializers.IntegerField(source="count", help_text="How many statements the run made.")
    statements_url = serializers.SerializerMethodField(
        help_text="The run's statements, 50 a page, searchable by the contractor's name or email (?q=).")
    held = serializers.SerializerMethodField(help_text="Approved timesheets of the week this run did not pay, and "
                                                       "why (a recent payout change, an account under review, "
                                                       "accounts paid to one mailbox past one cap).")

    def get_week(self, summary: review.PayRunSummary) -> str:
        return week_name(summary.run.week_start)

    def get_held(self, summary: review.PayRunSummary) -> list[str]:
        return held_pay_notes(week_start=summary.run.week_start)

    def get_statements_url(self, summary: review.PayRunSummary) -> str:
        path = reverse("payroll-api:staff-pay-run-statements", kwargs={"pk": summary.run.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


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
    held = serializers.ListField(child=serializers.CharField(), required=False,
                                 help_text="Approved timesheets of the week not paid, and why.")


def _timesheet(pk: int) -> Timesheet:
    return get_object_or_404(Timesheet.objects.select_related("contractor__user", "submitted_by", "decided_by"),
                             pk=pk)


def _timesheet_answer(timesheet: Timesheet, *, status_code: int = status.HTTP_200_OK) -> Response:
    timesheet = _timesheet(timesheet.pk)  # read afresh, with the people of its audit trail
    return Response(TimesheetDetailSerializer(review.timesheet_row(timesheet)).data, status=status_code)


# --- views ----------------------------------------------------------------------------------

class WeekTimesheetsApi(generics.ListAPIView):
    """The week's timesheets in contractor order, with hours, pay, evidence and flags."""

    permission_classes = [staff_permission(RUN_PAYROLL)]
    queryset = Timesheet.objects.none()  # the model, for the schema; the rows are read in list()
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

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A page of the week's timesheets read in SQL (the week page's query, in contractor order), then that
        page's hours, pay, evidence and flags in a fixed number of queries."""
        week_start = week_parse(self.kwargs["week"])
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        found = review.week_timesheets(week_start=week_start, state=filters.validated_data.get("state"),
                                       flagged=True if filters.validated_data["flagged"] else None,
                                       sort=review.CONTRACTOR_ORDER)
        page = self.paginate_queryset(found)
        rows = review.timesheet_rows(list(page), week_start=week_start)
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)


class TimesheetDetailApi(APIView):
    """One timesheet: totals, evidence, flags, its audit trail and every entry."""

    permission_classes = [staff_permission(RUN_PAYROLL)]

    @extend_schema(responses=TimesheetDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return _timesheet_answer(_timesheet(pk))


class TimesheetApproveApi(APIView):
    permission_classes = [staff_permission(RUN_PAYROLL)]

    @extend_schema(request=None, responses=TimesheetDetailSerializer)
    def post(self, request: Request, pk: int) -> Response:
        timesheet = timesheet_decide(timesheet=_timesheet(pk), approve=True, actor=request.user)
        return _timesheet_answer(timesheet)


class TimesheetRejectApi(APIView):
    permission_classes = [staff_permission(RUN_PAYROLL)]
    class RejectInputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "PayrollStaffRejectInput"

        reason = serializers.CharField(max_length=1000, help_text="The contractor reads it to correct the week.")

    @extend_schema(request=RejectInputSerializer, responses=TimesheetDetailSerializer)
    def post(self, request: Request, pk: int) -> Response:
        timesheet = _timesheet(pk)
        serializer = self.RejectInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        timesheet = timesheet_decide(timesheet=timesheet, approve=False, actor=request.user,
                                                reason=serializer.validated_data["reason"])
        return _timesheet_answer(timesheet)


class AdjustmentCreateApi(APIView):
    """Add (or take back) paid minutes in the contractor's current week, with the reason."""

    permission_classes = [staff_permission(RUN_PAYROLL)]
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
        entry = adjustment_create(actor=request.user, **serializer.validated_data)
        return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class PayRunCreateApi(APIView):
    """Pay the week's approved timesheets that no earlier run paid; running it again pays nothing twice."""

    permission_classes = [staff_permission(RUN_PAYROLL)]
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
        run = pay_run_execute(week_start=data["week"], actor=request.user,
                                      minimum_payout=data.get("minimum_payout"))
        if run is None:
            return Response({"detail": NOTHING_TO_PAY, "held": held_pay_notes(week_start=data["week"])})
        return Response(PayRunSerializer(review.pay_run_summary(run), context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class PayRunDetailApi(APIView):
    permission_classes = [staff_permission(RUN_PAYROLL)]

    @extend_schema(responses=PayRunSerializer)
    def get(self, request: Request, pk: int) -> Response:
        run = get_object_or_404(PayRun.objects.select_related("created_by"), pk=pk)
        return Response(PayRunSerializer(review.pay_run_summary(run), context={"request": request}).data)


class PayRunStatementsApi(generics.ListAPIView):
    """A pay run's statements in contractor order, a page at a time; `q` finds contractors by name or email."""

    permission_classes = [staff_permission(RUN_PAYROLL)]
    queryset = Statement.objects.none()  # the model, for the schema; the rows are read in get_queryset()
    serializer_class = StatementSerializer
    filter_backends: list = []

    @extend_schema(parameters=[OpenApiParameter("q", str, description="Part of the contractor's name or email.")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Statement]:
        run = get_object_or_404(PayRun, pk=self.kwargs["pk"])
        return review.pay_run_statements(run, search=self.request.query_params.get("q", "").strip()[:100])


class JobPayTermsApi(APIView):
    """A job's pay terms over time (GET), and a change of rate and cap from a moment on (POST)."""

    permission_classes = [staff_permission(RUN_PAYROLL)]
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
        pay_terms_change(job=job, actor=request.user, **serializer.validated_data)
        return Response(PayTermsSerializer(pay_terms_history(job=job), many=True).data,
                        status=status.HTTP_201_CREATED)


class _FileFormatNegotiation(DefaultContentNegotiation):
    """Here `?format=` names the file to build, not a DRF renderer; answers other than files are JSON."""

    def select_renderer(self, request: Request, renderers: list[BaseRenderer],
                        format_suffix: str | None = None) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type


class TimesheetExportApi(APIView):
    """Staff: the weekly timesheet export, GET /api/v1/payroll/weeks/<week>/export?format=csv|xlsx."""

    permission_classes = [staff_permission(RUN_PAYROLL)]
    content_negotiation_class = _FileFormatNegotiation

    @extend_schema(
        parameters=[OpenApiParameter("week", str, OpenApiParameter.PATH, description="ISO week, e.g. 2026-W48"),
                    OpenApiParameter("format", str, enum=exports.FORMATS, default="csv"),
                    OpenApiParameter("bom", bool, description="CSV only: start with a UTF-8 byte order mark"),
                    OpenApiParameter("state", str, many=True, enum=list(exports.STATE_TOTALS),
                                     description="Only timesheets in these states (repeat it); default every state"),
                    OpenApiParameter("entries", bool, description="XLSX only: add the sheet of every time entry")],
        responses={(200, "text/csv"): OpenApiTypes.BINARY, (200, exports.XLSX_CONTENT_TYPE): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, week: str) -> HttpResponse:
        fmt = request.query_params.get("format", "csv")
        if fmt not in exports.FORMATS:
            raise DomainError(f"format: csv or xlsx (got {fmt!r}).", field="format")
        bom = request.query_params.get("bom") in ("1", "true")
        return timesheet_export_response(week_parse(week), fmt, bom=bom, states=request.query_params.getlist("state"),
                                         entries=request.query_params.get("entries") in ("1", "true"))

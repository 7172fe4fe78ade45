"""REST API of a contractor's own time and pay, under /api/v1/payroll/me/."""
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.models import Batch
from common.api import own_contractor
from common.validators import validate_printable
from payroll.contractor_weeks import evidence_by_week, statements_of
from payroll.models import RunningTimer, Statement, TimeEntry, Timesheet
from payroll.selectors import (
    WEEK,
    entries_of,
    minutes_as_hours,
    seconds_as_hours,
    timesheet_flags,
    timesheet_for_week,
    totals_by_timesheet,
    week_name,
    week_parse,
    week_start_utc,
)
from payroll.services.entries import time_entry_create, time_entry_delete, timer_start, timer_stop
from payroll.services.timesheets import timesheet_submit
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


urlpatterns: list[URLPattern] = [
    path("me/time-entries/", MeTimeEntriesApi.as_view(), name="me-time-entries"),
    path("me/time-entries/<int:pk>/", MeTimeEntryApi.as_view(), name="me-time-entry"),
    path("me/timer/", MeTimerApi.as_view(), name="me-timer"),
    path("me/timesheets/", MeTimesheetsApi.as_view(), name="me-timesheets"),
    path("me/timesheets/<str:week>/submit/", MeTimesheetSubmitApi.as_view(), name="me-timesheet-submit"),
    path("me/statements/", MeStatementsApi.as_view(), name="me-statements"),
    path("me/statements/<int:pk>/", MeStatementApi.as_view(), name="me-statement"),
]

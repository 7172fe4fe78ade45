"""Routes of payroll's REST API under /api/v1/payroll/: a contractor's own (me/...) and staff's."""
from django.urls import URLPattern, path

from payroll import api

app_name = "payroll-api"
urlpatterns: list[URLPattern] = [
    path("me/time-entries/", api.MeTimeEntriesApi.as_view(), name="me-time-entries"),
    path("me/time-entries/<int:pk>/", api.MeTimeEntryApi.as_view(), name="me-time-entry"),
    path("me/timer/", api.MeTimerApi.as_view(), name="me-timer"),
    path("me/timesheets/", api.MeTimesheetsApi.as_view(), name="me-timesheets"),
    path("me/timesheets/<str:week>/submit/", api.MeTimesheetSubmitApi.as_view(), name="me-timesheet-submit"),
    path("me/statements/", api.MeStatementsApi.as_view(), name="me-statements"),
    path("me/statements/<int:pk>/", api.MeStatementApi.as_view(), name="me-statement"),
    path("weeks/<str:week>/timesheets/", api.WeekTimesheetsApi.as_view(), name="staff-week-timesheets"),
    path("timesheets/<int:pk>/", api.TimesheetDetailApi.as_view(), name="staff-timesheet"),
    path("timesheets/<int:pk>/approve/", api.TimesheetApproveApi.as_view(), name="staff-timesheet-approve"),
    path("timesheets/<int:pk>/reject/", api.TimesheetRejectApi.as_view(), name="staff-timesheet-reject"),
    path("adjustments/", api.AdjustmentCreateApi.as_view(), name="staff-adjustments"),
    path("pay-runs/", api.PayRunCreateApi.as_view(), name="staff-pay-runs"),
    path("pay-runs/<int:pk>/", api.PayRunDetailApi.as_view(), name="staff-pay-run"),
    path("pay-runs/<int:pk>/statements/", api.PayRunStatementsApi.as_view(), name="staff-pay-run-statements"),
    path("jobs/<int:pk>/terms/", api.JobPayTermsApi.as_view(), name="staff-job-terms"),
    path("weeks/<str:week>/export", api.TimesheetExportApi.as_view(), name="export"),
]

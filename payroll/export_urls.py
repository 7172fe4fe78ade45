"""File downloads of payroll: weekly export, payout files, statement CSV (full paths, mounted at the root)."""
from django.urls import path

from payroll import export_views

app_name = "payroll-files"
urlpatterns = [
    path("console/payroll/weeks/<str:week>/export.<str:fmt>", export_views.timesheet_export, name="export"),
    path("console/payroll/pay-runs/<int:pk>/<str:service>.csv", export_views.payout_file, name="payout-file"),
    path("pay/statements/<int:pk>.csv", export_views.statement_csv, name="statement-csv"),
]

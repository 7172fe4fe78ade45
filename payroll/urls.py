"""Routes of payroll's pages, one list per namespace, each included from config/urls.py.

urlpatterns ("payroll"): the contractor's hours and pay, at the root. console_urlpatterns ("payroll-console"):
the staff console, under /console/payroll/. files_urlpatterns ("payroll-files"): downloads, full paths at the root.
"""
from django.urls import URLPattern, path

from payroll import views

app_name = "payroll"
urlpatterns: list[URLPattern] = [
    path("pay/", views.pay, name="pay"),
    path("pay/entries/", views.entry_create, name="entry-create"),
    path("pay/entries/<int:pk>/delete/", views.entry_delete, name="entry-delete"),
    path("pay/timer/start/", views.timer_start_view, name="timer-start"),
    path("pay/timer/stop/", views.timer_stop_view, name="timer-stop"),
    # Any segment: the view refuses a bad week with a 400 naming it (week_parse), not a 404.
    path("pay/weeks/<str:week>/submit/", views.week_submit, name="week-submit"),
    path("pay/statements/<int:pk>/", views.statement, name="statement"),
]

console_urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
    path("approve/", views.bulk_approve, name="bulk-approve"),
    path("approve-matching/", views.approve_matching, name="approve-matching"),
    path("close-weeks/", views.close_weeks, name="close-weeks"),
    path("timesheets/<int:pk>/", views.timesheet_detail, name="timesheet"),
    path("timesheets/<int:pk>/decide/", views.timesheet_decide_view, name="timesheet-decide"),
    path("pay-runs/", views.pay_run_create, name="pay-run-create"),
    path("pay-runs/<int:pk>/", views.pay_run_detail, name="pay-run"),
    path("jobs/<int:job_pk>/terms/", views.terms_change, name="terms-change"),
]

files_urlpatterns: list[URLPattern] = [
    path("console/payroll/weeks/<str:week>/export.<str:fmt>", views.timesheet_export, name="export"),
    path("console/payroll/pay-runs/<int:pk>/<str:service>.csv", views.payout_file, name="payout-file"),
    path("pay/statements/<int:pk>.csv", views.statement_csv, name="statement-csv"),
]

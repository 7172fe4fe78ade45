"""Staff payroll pages, mounted under /console/payroll/."""
from django.urls import path

from payroll import console_views as views

app_name = "payroll-console"
urlpatterns = [
    path("", views.home, name="home"),
    path("approve/", views.bulk_approve, name="bulk-approve"),
    path("close-weeks/", views.close_weeks, name="close-weeks"),
    path("timesheets/<int:pk>/", views.timesheet_detail, name="timesheet"),
    path("timesheets/<int:pk>/decide/", views.timesheet_decide, name="timesheet-decide"),
    path("pay-runs/", views.pay_run_create, name="pay-run-create"),
    path("pay-runs/<int:pk>/", views.pay_run_detail, name="pay-run"),
    path("jobs/<int:job_pk>/terms/", views.terms_change, name="terms-change"),
]

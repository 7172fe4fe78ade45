"""Contractor pages of payroll (hours, timer, timesheets, statements)."""
from django.urls import path, re_path

from payroll import views

app_name = "payroll"
urlpatterns = [
    path("pay/", views.pay, name="pay"),
    path("pay/entries/", views.entry_create, name="entry-create"),
    path("pay/entries/<int:pk>/delete/", views.entry_delete, name="entry-delete"),
    path("pay/timer/start/", views.timer_start_view, name="timer-start"),
    path("pay/timer/stop/", views.timer_stop_view, name="timer-stop"),
    re_path(r"^pay/weeks/(?P<week>\d{4}-W\d{2})/submit/$", views.week_submit, name="week-submit"),
    path("pay/statements/<int:pk>/", views.statement, name="statement"),
]

"""Contractor pages of payroll (hours, timesheets, statements)."""
from django.urls import URLPattern

app_name = "payroll"
urlpatterns: list[URLPattern] = []

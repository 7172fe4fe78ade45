"""File downloads of payroll: weekly export, payout files, statement CSV (full paths, mounted at the root)."""
from django.urls import URLPattern

app_name = "payroll-files"
urlpatterns: list[URLPattern] = []

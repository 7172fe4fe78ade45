"""Staff payroll pages, mounted under /console/payroll/."""
from django.urls import URLPattern

app_name = "payroll-console"
urlpatterns: list[URLPattern] = []

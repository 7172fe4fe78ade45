"""REST API of a contractor's own time and pay, under /api/v1/payroll/me/."""
from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

"""REST API of staff's payroll work, under /api/v1/payroll/."""
from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

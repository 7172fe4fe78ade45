"""Pages that belong to no single app."""
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "home.html",
        {"rate": settings.DEFAULT_HOURLY_RATE_USD, "weekly_cap_hours": settings.DEFAULT_WEEKLY_CAP_HOURS},
    )

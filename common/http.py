"""Facts about an incoming request that several apps record."""
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: a proxy in front must set it (gunicorn --forwarded-allow-ips); a header
    # the client writes itself is never trusted.
    return request.META.get("REMOTE_ADDR") or None

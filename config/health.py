"""/healthz: is every configured service answering? 200 when all are, 503 naming those that are not."""
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from annotations.selectors.health import service_checks as annotations_service_checks
from config.celery import app as celery_app


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return connection.vendor


def _redis() -> str:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return "pong"


def _celery() -> str:
    # limit=1: answer as soon as one worker replies instead of waiting out the timeout for all.
    replies = celery_app.control.ping(timeout=2.0, limit=1)
    if not replies:
        raise RuntimeError("no Celery worker answered a ping within 2 s")
    return f"worker {next(iter(replies[0]))} answered"


def configured_checks() -> dict[str, Callable[[], str]]:
    """The services this installation is configured to use; embedded mode has only the database."""
    checks: dict[str, Callable[[], str]] = {"database": _database}
    if settings.REDIS_URL:
        checks["redis"] = _redis
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        checks["celery"] = _celery
    checks.update(annotations_service_checks())  # Label Studio, when one is configured
    return checks


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    services: dict[str, dict] = {}
    for name, check in configured_checks().items():
        try:
            services[name] = {"ok": True, "detail": check()}
        except Exception as exc:
            services[name] = {"ok": False, "detail": str(exc) or exc.__class__.__name__}
    down = sorted(name for name, state in services.items() if not state["ok"])
    body = {"status": "down" if down else "ok", "down": down, "services": services}
    return JsonResponse(body, status=503 if down else 200)

"""The API's one exception handler: domain errors become 4xx answers that name the field."""
from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.errors import DomainError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"detail": exc.message, **exc.details()}
        if exc.field:
            body[exc.field] = [exc.message]
        return Response(body, status=exc.status)
    return drf_exception_handler(exc, context)

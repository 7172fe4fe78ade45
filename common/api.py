"""The API's one exception handler (domain errors become 4xx naming the field) and the own-contractor lookup."""
from typing import Any

from django.db.models import Model
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from common.decorators import signed_in_contractor
from common.errors import DomainError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"detail": exc.message, **exc.details()}
        if exc.field:
            body[exc.field] = [exc.message]
        return Response(body, status=exc.status)
    return drf_exception_handler(exc, context)


def own_contractor(request: Request, *, staff_use: str) -> Model:
    """The signed-in user's contractor, or a 404 that points staff to their own endpoint (`staff_use`)."""
    contractor = signed_in_contractor(request.user)
    if contractor is None:
        raise NotFound(f"This account has no contractor profile: {request.path} is for contractors. "
                       f"Staff accounts use {staff_use}.")
    return contractor

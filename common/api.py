"""The API's one exception handler (domain errors become 4xx naming the field), its throttle (staff, contractor and
anonymous rates) and the own-contractor lookup. Its JSON parser is common.parsers (DRF imports it while defining
APIView, so it may not import rest_framework.views, which this module does)."""
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db.models import Model
from rest_framework import views as drf_views  # a module, not its names: DRF imports this one while defining APIView
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from common.decorators import signed_in_contractor
from common.errors import DomainError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):  # DRF reads a JSON body whole, within Django's limit: a 400 naming it
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response({"detail": f"body: over {limit / 2**20:g} MB, the limit of a request body "
                                   "(DATA_UPLOAD_MAX_MEMORY_SIZE)."}, status=400)
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"detail": exc.message, **exc.details()}
        if exc.field:
            body[exc.field] = [exc.message]
        return Response(body, status=exc.status)
    return drf_views.exception_handler(exc, context)


def own_contractor(request: Request, *, staff_use: str) -> Model:
    """The signed-in user's contractor, or a 404 that points staff to their own endpoint (`staff_use`)."""
    contractor = signed_in_contractor(request.user)
    if contractor is None:
        raise NotFound(f"This account has no contractor profile: {request.path} is for contractors. "
                       f"Staff accounts use {staff_use}.")
    return contractor


class RoleRateThrottle(SimpleRateThrottle):
    """One request budget per signed-in user at the `staff` or the `contractor` rate of DEFAULT_THROTTLE_RATES, and
    per address at the `anon` rate for everyone else. The scope is picked per request (DRF's own classes fix it per
    class), and the rates are read per request too, so a changed setting applies without a restart of the class."""

    def __init__(self) -> None:  # the scope, hence the rate, is only known once the request is
        self.scope = ""

    def allow_request(self, request: Request, view: "drf_views.APIView") -> bool:
        user = request.user
        self.scope = ("anon" if not (user and user.is_authenticated)
                      else "staff" if user.is_staff else "contractor")
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request: Request, view: "drf_views.APIView") -> str:
        user = request.user
        ident = user.pk if user and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

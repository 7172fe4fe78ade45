"""View decorators shared by the apps' pages."""
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    """Anonymous visitors go to the login page; signed-in non-staff get 403."""
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied("Staff only.")
        return view(request, *args, **kwargs)

    return wrapper


def signed_in_contractor(user: object) -> Model | None:
    """The contractor profile of a signed-in user (the `contractor` side of its one-to-one), or None."""
    try:
        return user.contractor  # type: ignore[attr-defined]
    except (ObjectDoesNotExist, AttributeError):
        return None


def contractor_page(*, staff_home: str | None = None) -> Callable[[View], View]:
    """A page for a signed-in contractor, passed to the view. Staff without a contractor profile are sent
    to `staff_home` (their side of the same thing) when given; anyone else without one gets 404."""
    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            contractor = signed_in_contractor(request.user)
            if contractor is None:
                if staff_home and request.user.is_staff:
                    return redirect(staff_home)
                raise Http404("This page is for contractors; staff accounts have none.")
            return view(request, contractor, *args, **kwargs)

        return wrapper
    return decorate


contractor_required = contractor_page()

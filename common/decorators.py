"""View decorators shared by the apps' pages."""
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from common.roles import second_factor_missing, staff_role_allows

View = Callable[..., HttpResponse]
SECOND_FACTOR_NEEDED = ("Staff who can move money (payroll and admin) need a second factor: set up an authenticator "
                        "app before opening staff pages.")


def _second_factor_setup(request: HttpRequest) -> HttpResponse:
    messages.warning(request, SECOND_FACTOR_NEEDED)
    query = urlencode({"next": request.get_full_path()})
    return redirect(f"{reverse('mfa_activate_totp')}?{query}")


def second_factor_first(view: View) -> View:
    """A page (Django's admin) that staff who can move money open only with a second factor: without one they are
    sent to set it up, as staff_permission_required does; everyone else reaches the view and its own checks."""
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and second_factor_missing(request.user):
            return _second_factor_setup(request)
        return view(request, *args, **kwargs)

    return wrapper


def staff_permission_required(permission: str) -> Callable[[View], View]:
    """A staff page needing `permission`: anonymous visitors go to the login page, signed-in users without it get
    403, and payroll or admin staff without a second factor are sent to set one up. The permission is kept on the
    view (`staff_permission`) so tests can walk every route and check each declares one."""
    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not staff_role_allows(request.user, permission):
                raise PermissionDenied(f"Staff holding {permission} only.")
            if second_factor_missing(request.user):
                return _second_factor_setup(request)
            return view(request, *args, **kwargs)

        checked = login_required(wrapper)
        checked.staff_permission = permission  # type: ignore[attr-defined]
        return checked
    return decorate


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

"""allauth's account events feed the onboarding state machine."""
from typing import Any

from allauth.account.signals import email_confirmed, user_signed_up
from allauth.account.signals import user_logged_in as signed_in_through_allauth
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from workforce.middleware import remember_language
from workforce.models import Contractor
from workforce.services.devices import DEVICE_COOKIE, DEVICE_COOKIE_MAX_AGE, device_sign_in_record, device_token
from workforce.services.profile import contractor_ui_language_set
from workforce.services.registration import contractor_email_verified, contractor_register


@receiver(user_signed_up)
def on_user_signed_up(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    contractor = contractor_register(user=user)
    # The language the signup page was shown in (the browser's, or the selector's) is kept for the emails to come.
    language = translation.get_language()
    if language and language != "en" and not contractor.ui_language:
        contractor_ui_language_set(contractor=contractor, language=language)


@receiver(email_confirmed)
def on_email_confirmed(sender: Any, request: HttpRequest, email_address: Any, **kwargs: Any) -> None:
    contractor_email_verified(user=email_address.user)


@receiver(user_logged_in)
def on_user_logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """The saved language of a contractor wins from signing in on; staff pages are English."""
    if request is None or not hasattr(request, "session"):
        return
    if user.is_staff:
        remember_language(request, "en")
        return
    language = Contractor.objects.filter(user=user).values_list("ui_language", flat=True).first()
    if language:
        remember_language(request, language)


@receiver(signed_in_through_allauth)
def on_signed_in_through_allauth(sender: Any, request: HttpRequest | None, user: Any,
                                 response: HttpResponse | None = None, **kwargs: Any) -> None:
    """A contractor's sign-in (allauth's, which carries the response) is recorded under the device's fingerprint;
    a browser without the device cookie gets one."""
    contractor = Contractor.objects.filter(user=user, anonymized_at__isnull=True).first()
    if request is None or contractor is None:
        return
    token, new = device_token(request.COOKIES.get(DEVICE_COOKIE))
    device_sign_in_record(contractor=contractor, token=token, user_agent=request.headers.get("User-Agent", ""))
    if new and response is not None:
        response.set_cookie(DEVICE_COOKIE, token, max_age=DEVICE_COOKIE_MAX_AGE, httponly=True, samesite="Lax",
                            secure=request.is_secure())

"""allauth's account events feed the onboarding state machine."""
from typing import Any

from allauth.account.signals import email_confirmed, user_signed_up
from django.dispatch import receiver
from django.http import HttpRequest

from workforce.services.registration import contractor_email_verified, contractor_register


@receiver(user_signed_up)
def on_user_signed_up(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    contractor_register(user=user)


@receiver(email_confirmed)
def on_email_confirmed(sender: Any, request: HttpRequest, email_address: Any, **kwargs: Any) -> None:
    contractor_email_verified(user=email_address.user)

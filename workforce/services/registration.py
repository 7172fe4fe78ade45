"""Signup's writes: every self-signed-up account is an applicant; a confirmed address moves it on."""

from django.db import transaction

from workforce import onboarding
from workforce.models import (
    Contractor,
    OnboardingState,
    User,
)

S = OnboardingState


@transaction.atomic
def contractor_register(*, user: User) -> Contractor:
    """Every self-signed-up account is a contractor applicant; staff accounts are made apart."""
    contractor, _ = Contractor.objects.get_or_create(user=user)
    return contractor


@transaction.atomic
def contractor_email_verified(*, user: User) -> None:
    contractor = Contractor.objects.filter(user=user).first()
    if contractor and contractor.state == S.APPLIED:
        onboarding.transition(contractor=contractor, to_state=S.EMAIL_VERIFIED, reason="email address confirmed")
        onboarding.advance(contractor)

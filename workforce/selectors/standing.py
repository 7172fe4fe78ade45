"""Reads about where a contractor stands: the next onboarding step they see, and whether they may receive batches."""
from dataclasses import dataclass

from django.urls import reverse

from workforce.models import Contractor, OnboardingState
from workforce.selectors.agreements import pending_agreements

S = OnboardingState


def can_receive_batches(contractor: Contractor) -> bool:
    """Assignment asks this: active, and every current agreement version accepted."""
    return contractor.state == S.ACTIVE and not pending_agreements(contractor)


@dataclass(frozen=True)
class NextStep:
    text: str
    url: str | None = None
    action: str | None = None  # a button label, when the step is one click


def next_step(contractor: Contractor) -> NextStep:
    state = contractor.state
    if state == S.APPLIED:
        return NextStep("Confirm your email address: open the link we sent you.")
    if state == S.EMAIL_VERIFIED:
        return NextStep("Complete your profile, payout method and tax declaration.", reverse("workforce:profile"))
    if state == S.PROFILE_COMPLETE or pending_agreements(contractor):
        return NextStep("Read and accept the contractor agreement and the guidelines.", reverse("workforce:agreements"))
    if state == S.QUALIFYING:
        return NextStep("Qualification: label the photos of your qualification round in Label Studio; each is "
                        "scored against a reference answer and staff then decide. The round and its Label Studio "
                        "link appear below as soon as it is ready.")
    if state == S.APPROVED:
        return NextStep("You are approved. Start working to receive batches.", reverse("workforce:start-working"),
                        action="Start working")
    if state == S.ACTIVE:
        return NextStep("You are active. New batches appear below when they are assigned to you.")
    if state == S.PAUSED:
        return NextStep(f"Your work is paused: {contractor.state_reason}. Staff will resume it.")
    if state == S.REJECTED:
        return NextStep(f"Your application was not accepted: {contractor.state_reason}")
    return NextStep("Your account is closed.")

"""Reads about where a contractor stands: the next onboarding step they see, and whether they may receive batches."""
from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext as _

from workforce.models import Contractor, OnboardingState
from workforce.selectors.agreements import pending_agreements

S = OnboardingState


def can_receive_batches(contractor: Contractor) -> bool:
    """Assignment asks this: active, not held for review as a linked account, every current agreement accepted."""
    return contractor.state == S.ACTIVE and not contractor.link_evidence and not pending_agreements(contractor)


@dataclass(frozen=True)
class NextStep:
    text: str
    url: str | None = None
    action: str | None = None  # a button label, when the step is one click


def next_step(contractor: Contractor) -> NextStep:
    state = contractor.state
    if state == S.APPLIED:
        return NextStep(_("Confirm your email address: open the link we sent you."))
    if state == S.EMAIL_VERIFIED:
        return NextStep(_("Fill in your profile, your payout method and your tax self-certification."),
                        reverse("workforce:profile"))
    if state == S.PROFILE_COMPLETE or pending_agreements(contractor):
        return NextStep(_("Read and accept the contractor agreement and the annotation guidelines."),
                        reverse("workforce:agreements"))
    if state == S.QUALIFYING:
        return NextStep(_("Qualification: label the photos of your qualification round in Label Studio. Each photo "
                          "is scored against a reference answer, then staff decide. The round and its Label Studio "
                          "link appear below as soon as it is ready."))
    if state == S.APPROVED:
        return NextStep(_("You are approved. Press \"Start working\" to get batches."),
                        reverse("workforce:start-working"), action=_("Start working"))
    if state == S.ACTIVE:
        return NextStep(_("You are active. New batches appear below when staff give them to you."))
    if state == S.PAUSED:
        return NextStep(_("Your work is paused: %(reason)s. Staff will start it again.")
                        % {"reason": contractor.state_reason})
    if state == S.REJECTED:
        return NextStep(_("Your application was not accepted: %(reason)s") % {"reason": contractor.state_reason})
    return NextStep(_("Your account is closed."))

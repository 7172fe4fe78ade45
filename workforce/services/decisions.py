"""Staff decisions on contractors (approve, reject, pause, resume, offboard) and starting work."""
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext

from common.errors import DomainError, NotAllowed
from common.roles import DECIDE_APPLICANTS, staff_role_allows
from workforce import onboarding
from workforce.models import (
    Contractor,
    OnboardingState,
    User,
)
from workforce.selectors.agreements import pending_agreements

S = OnboardingState


STAFF_ACTIONS = {
    "approve": S.APPROVED,
    "reject": S.REJECTED,
    "pause": S.PAUSED,
    "resume": S.ACTIVE,
    "offboard": S.OFFBOARDED,
}


@transaction.atomic
def contractor_decide(
    *, contractor: Contractor, action: str, actor: User, reason: str = "", qualification_score: Decimal | None = None,
) -> Contractor:
    if not staff_role_allows(actor, DECIDE_APPLICANTS):
        raise NotAllowed("Only operations or admin staff can decide on contractors.")
    if action not in STAFF_ACTIONS:
        raise DomainError(f"action: choose one of {', '.join(STAFF_ACTIONS)}.", field="action")
    if action == "resume" and contractor.state != S.PAUSED:
        raise onboarding.InvalidTransition(contractor.state, S.ACTIVE)
    if qualification_score is not None:
        if not Decimal(0) <= qualification_score <= Decimal(1):
            raise DomainError("qualification_score: between 0 and 1.", field="qualification_score")
        contractor.qualification_score = qualification_score
        contractor.save(update_fields=["qualification_score", "updated_at"])
    onboarding.transition(contractor=contractor, to_state=STAFF_ACTIONS[action], actor=actor, reason=reason)
    return contractor


@transaction.atomic
def contractors_decide(*, contractor_ids: list[int], action: str, actor: User, reason: str = "") -> int:
    """All or nothing: one contractor who cannot take the action leaves every one unchanged."""
    contractors = list(Contractor.objects.filter(pk__in=contractor_ids).order_by("pk"))
    if len(contractors) != len(set(contractor_ids)) or not contractors:
        raise DomainError("contractors: some of the chosen contractors do not exist.", field="contractors")
    for contractor in contractors:
        try:
            contractor_decide(contractor=contractor, action=action, actor=actor, reason=reason)
        except DomainError as exc:
            error = DomainError(f"{contractor}: {exc.message} Nothing was changed.", field=exc.field)
            error.status = exc.status  # an invalid transition stays a 409, a refusal a 403
            raise error from None
    return len(contractors)


@transaction.atomic
def contractor_start_working(*, contractor: Contractor) -> Contractor:
    if pending_agreements(contractor):
        raise DomainError(gettext("Accept the current agreement and guidelines first."), field="agreements")
    onboarding.transition(contractor=contractor, to_state=S.ACTIVE, actor=contractor.user, reason="started working")
    return contractor

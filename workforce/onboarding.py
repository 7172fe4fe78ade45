"""The onboarding state machine: the only code that changes a contractor's state.

Every change is checked against TRANSITIONS, audited (who, when, from, to, why) and,
where the contractor must act or should know, followed by an email.
"""
import logging

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext

from common.errors import Conflict, DomainError, NotAllowed
from workforce.models import Contractor, NotificationKind, OnboardingState, OnboardingTransition, User
from workforce.selectors.agreements import current_agreements, pending_agreements
from workforce.selectors.profile import profile_missing
from workforce.services.notifications import notify

logger = logging.getLogger(__name__)
S = OnboardingState

TRANSITIONS: dict[str, frozenset[str]] = {
    S.APPLIED: frozenset({S.EMAIL_VERIFIED, S.REJECTED, S.OFFBOARDED}),
    S.EMAIL_VERIFIED: frozenset({S.PROFILE_COMPLETE, S.REJECTED, S.OFFBOARDED}),
    S.PROFILE_COMPLETE: frozenset({S.AGREEMENT_ACCEPTED, S.REJECTED, S.OFFBOARDED}),
    S.AGREEMENT_ACCEPTED: frozenset({S.QUALIFYING, S.REJECTED, S.OFFBOARDED}),
    S.QUALIFYING: frozenset({S.APPROVED, S.REJECTED, S.OFFBOARDED}),
    S.APPROVED: frozenset({S.ACTIVE, S.PAUSED, S.OFFBOARDED}),
    S.ACTIVE: frozenset({S.PAUSED, S.OFFBOARDED}),
    S.PAUSED: frozenset({S.ACTIVE, S.OFFBOARDED}),
    S.REJECTED: frozenset({S.OFFBOARDED}),
    S.OFFBOARDED: frozenset(),
}
# States a person decides on; the rest follow from what the contractor did.
REASON_REQUIRED = frozenset({S.REJECTED, S.PAUSED})
# The contractor is notified (and emailed) on entering these: each says what to do next, or why. Qualifying is
# not here: the annotations app tells the applicant once a job actually opens a qualification round for them.
NOTIFIED_STATES = frozenset({S.APPROVED, S.REJECTED, S.PAUSED, S.OFFBOARDED, S.ACTIVE})
REASON_MAX_LENGTH = 500
# Sent after the transaction that changed a state commits: contractor_id, from_state, to_state, reason.
# Other apps react here (Label Studio accounts, held batches) without onboarding knowing about them.
state_changed = Signal()


class InvalidTransition(Conflict):
    def __init__(self, from_state: str, to_state: str) -> None:
        super().__init__(
            gettext("A contractor who is %(state)s cannot become %(to)s.") % {
                "state": S(from_state).label.lower(), "to": S(to_state).label.lower()},
            field="to_state",
        )


def allowed_targets(state: str) -> frozenset[str]:
    return TRANSITIONS[state]


@transaction.atomic
def transition(
    *, contractor: Contractor, to_state: str, actor: User | None = None, reason: str = ""
) -> OnboardingTransition:
    """Move `contractor` to `to_state` if the machine allows it; audit and notify."""
    if to_state not in TRANSITIONS:
        raise DomainError(f"{to_state!r} is not an onboarding state.", field="to_state")
    reason = reason.strip()
    if to_state in REASON_REQUIRED and not reason:
        raise DomainError(f"A reason is required to mark a contractor {S(to_state).label.lower()}.", field="reason")
    if len(reason) > REASON_MAX_LENGTH:
        raise DomainError(f"The reason is longer than {REASON_MAX_LENGTH} characters.", field="reason")
    # Lock the row: two staff members acting at once must not both move the same contractor.
    locked = Contractor.objects.select_for_update().get(pk=contractor.pk)
    from_state = locked.state
    if to_state not in TRANSITIONS[from_state]:
        raise InvalidTransition(from_state, to_state)
    now = timezone.now()
    locked.state, locked.state_reason, locked.state_changed_at = to_state, reason, now
    locked.save(update_fields=["state", "state_reason", "state_changed_at", "updated_at"])
    contractor.state, contractor.state_reason, contractor.state_changed_at = to_state, reason, now
    record = OnboardingTransition.objects.create(
        contractor=locked, from_state=from_state, to_state=to_state, actor=actor, reason=reason
    )
    transaction.on_commit(lambda: state_changed.send(sender=Contractor, contractor_id=locked.pk,
                                                     from_state=from_state, to_state=to_state, reason=reason))
    if to_state in NOTIFIED_STATES and not locked.anonymized_at:
        notify(contractor=locked, kind=NotificationKind.ACCOUNT, state=str(to_state), from_state=str(from_state),
               reason=reason)
    logger.info("contractor %s: %s -> %s by %s", locked.pk, from_state, to_state, actor or "system")
    return record


def advance(contractor: Contractor) -> None:
    """Take every step the contractor's data now allows; each one is audited."""
    if contractor.state == S.EMAIL_VERIFIED and not profile_missing(contractor):
        transition(contractor=contractor, to_state=S.PROFILE_COMPLETE, reason="profile completed")
    if contractor.state == S.PROFILE_COMPLETE and current_agreements() and not pending_agreements(contractor):
        transition(contractor=contractor, to_state=S.AGREEMENT_ACCEPTED, reason="agreements accepted")
        transition(contractor=contractor, to_state=S.QUALIFYING, reason="qualification round opened")


def lock_fresh(contractor: Contractor) -> None:
    """Lock the row and reload it, so a save never writes back a state another request changed."""
    Contractor.objects.select_for_update().filter(pk=contractor.pk).first()
    contractor.refresh_from_db()
    if contractor.state in (S.OFFBOARDED, S.REJECTED):
        raise NotAllowed(gettext("This account is closed; it can no longer be changed."))

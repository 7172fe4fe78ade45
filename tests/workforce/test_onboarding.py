"""The onboarding state machine: every allowed and every refused transition, audited and emailed."""
import itertools

import pytest
from django.core import mail

from common.errors import DomainError
from tests.factories import staff_user
from workforce import onboarding
from workforce.models import Contractor, OnboardingState, OnboardingTransition, User

S = OnboardingState
ALL_PAIRS = list(itertools.product(S.values, S.values))
ALLOWED = [(a, b) for a, b in ALL_PAIRS if b in onboarding.TRANSITIONS[a]]
REFUSED = [(a, b) for a, b in ALL_PAIRS if b not in onboarding.TRANSITIONS[a]]


def _contractor_in(state: str) -> Contractor:
    user = User.objects.create_user(f"{state}@example.org", "a-long-test-password")
    # Placing the row in a state directly is the test's set-up of a starting point only;
    # the code under test is the transition out of it.
    return Contractor.objects.create(user=user, state=state)


def test_the_machine_has_the_happy_path_and_side_states() -> None:
    path = [S.APPLIED, S.EMAIL_VERIFIED, S.PROFILE_COMPLETE, S.AGREEMENT_ACCEPTED, S.QUALIFYING, S.APPROVED, S.ACTIVE]
    for a, b in itertools.pairwise(path):
        assert b in onboarding.TRANSITIONS[a]
    assert onboarding.TRANSITIONS[S.OFFBOARDED] == frozenset()
    assert all(S.OFFBOARDED in targets for state, targets in onboarding.TRANSITIONS.items() if state != S.OFFBOARDED)


@pytest.mark.django_db
@pytest.mark.parametrize(("from_state", "to_state"), ALLOWED)
def test_allowed_transition_changes_state_and_is_audited(from_state: str, to_state: str) -> None:
    contractor = _contractor_in(from_state)
    staff = staff_user(role="superuser", email="staff@example.org")
    record = onboarding.transition(contractor=contractor, to_state=to_state, actor=staff, reason="because")
    contractor.refresh_from_db()
    assert contractor.state == to_state
    assert contractor.state_reason == "because"
    assert (record.from_state, record.to_state, record.actor, record.reason) == (from_state, to_state, staff, "because")
    assert OnboardingTransition.objects.filter(contractor=contractor).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("from_state", "to_state"), REFUSED)
def test_refused_transition_changes_nothing(from_state: str, to_state: str) -> None:
    contractor = _contractor_in(from_state)
    with pytest.raises(onboarding.InvalidTransition) as caught:
        onboarding.transition(contractor=contractor, to_state=to_state, reason="try")
    assert caught.value.status == 409
    assert caught.value.field == "to_state"
    contractor.refresh_from_db()
    assert contractor.state == from_state
    assert not OnboardingTransition.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("to_state", [S.REJECTED, S.PAUSED])
def test_rejecting_or_pausing_needs_a_reason(to_state: str) -> None:
    contractor = _contractor_in(S.QUALIFYING if to_state == S.REJECTED else S.ACTIVE)
    with pytest.raises(DomainError, match="reason is required") as caught:
        onboarding.transition(contractor=contractor, to_state=to_state, reason="   ")
    assert caught.value.field == "reason"
    contractor.refresh_from_db()
    assert contractor.state != to_state


@pytest.mark.django_db
def test_unknown_state_and_overlong_reason_are_refused() -> None:
    contractor = _contractor_in(S.ACTIVE)
    with pytest.raises(DomainError, match="not an onboarding state"):
        onboarding.transition(contractor=contractor, to_state="promoted")
    with pytest.raises(DomainError, match="longer than 500"):
        onboarding.transition(contractor=contractor, to_state=S.PAUSED, reason="x" * 501)


@pytest.mark.django_db(transaction=True)
def test_contractor_is_emailed_where_they_must_act_or_should_know() -> None:
    contractor = _contractor_in(S.QUALIFYING)
    onboarding.transition(contractor=contractor, to_state=S.REJECTED, reason="masks too coarse")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["qualifying@example.org"]
    assert "masks too coarse" in mail.outbox[0].body
    quiet = _contractor_in(S.APPLIED)
    onboarding.transition(contractor=quiet, to_state=S.EMAIL_VERIFIED)
    assert len(mail.outbox) == 1  # nothing for the contractor to do that the page doesn't say

"""Reactions of the annotations app to other apps' events."""
from typing import Any

from django.dispatch import receiver

from annotations import labelstudio
from workforce.models import OnboardingState
from workforce.onboarding import state_changed

# A contractor needs Label Studio from qualification on; offboarding closes the mapping.
NEEDS_ACCOUNT = frozenset({OnboardingState.QUALIFYING, OnboardingState.APPROVED, OnboardingState.ACTIVE})


@receiver(state_changed)
def on_contractor_state_changed(sender: Any, *, contractor_id: int, from_state: str, to_state: str,
                                **kwargs: Any) -> None:
    from annotations import tasks
    from annotations.services.qualification import qualification_round_close

    if from_state == OnboardingState.QUALIFYING:
        qualification_round_close(contractor_id=contractor_id)  # decided on: the round is over
    if not labelstudio.is_configured():
        return
    if to_state == OnboardingState.QUALIFYING:
        tasks.open_qualification_round.delay(contractor_id)  # makes the account first
    elif to_state in NEEDS_ACCOUNT:
        tasks.ensure_label_studio_account.delay(contractor_id)
    elif to_state == OnboardingState.OFFBOARDED:
        tasks.deactivate_label_studio_account.delay(contractor_id)

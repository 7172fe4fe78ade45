"""Reactions of the annotations app to other apps' events: each hands over to a service."""
from typing import Any

from django.dispatch import receiver

from annotations import batch_life, gateway
from annotations.models import Batch
from annotations.services.accounts import label_studio_account_follow
from annotations.services.assignment import batches_release_of
from annotations.services.qualification import qualification_round_close
from workforce.models import OnboardingState
from workforce.onboarding import state_changed


@receiver(state_changed)
def on_contractor_state_changed(sender: Any, *, contractor_id: int, from_state: str, to_state: str,
                                reason: str = "", **kwargs: Any) -> None:
    gateway.holdings_changed()  # first: a paused or offboarded contractor is refused from the next request on
    if from_state == OnboardingState.QUALIFYING:
        qualification_round_close(contractor_id=contractor_id)  # decided on: the round is over
    if to_state == OnboardingState.OFFBOARDED:  # offboarded or deleted: their batches open again now, not at the sweep
        batches_release_of(contractor_id=contractor_id,
                           reason=f"offboarded: {reason}" if reason else "offboarded")
    label_studio_account_follow(contractor_id=contractor_id, to_state=to_state)


@receiver(batch_life.state_changed, sender=Batch)
def on_batch_state_changed(sender: Any, *, batch_id: int, from_state: str, to_state: str, **kwargs: Any) -> None:
    gateway.holdings_changed()  # a reclaimed batch is closed to its former holder from the next request on

"""The contractor's quality rules, applied after each score: the qualification round's verdict and the pause rule."""
from django.conf import settings
from django.db import transaction

from annotations import batch_life
from annotations.models import BatchState
from annotations.selectors.qualification import qualification_round
from annotations.selectors.quality import quality_rollups
from workforce import onboarding
from workforce.models import Contractor, OnboardingState
from workforce.services.quality import contractor_qualification_record


def _pause_reason(score: float, n: int, weakest: str | None, weakest_iou: float | None) -> str:
    reason = (f"Your quality score on gold tasks is {score:.2f} over your last {n} scored tasks, "
              f"below the {settings.QUALITY_PAUSE_BELOW:.2f} needed to keep receiving batches.")
    if weakest is not None and weakest_iou is not None:
        reason += f" Your weakest class is {weakest} (mean IoU {weakest_iou:.2f}): see the overlays of your scores."
    return reason


@transaction.atomic
def contractor_quality_apply(*, contractor_id: int) -> None:
    """After a score: a qualifying contractor's qualification score is recorded (pass or not, for staff to see)
    and, with QUALITY_QUALIFICATION_AUTO_APPROVE, a pass approves them; an active one whose rolling score has
    fallen below the pause threshold is paused (and emailed why)."""
    contractor = Contractor.objects.select_for_update().get(pk=contractor_id)
    if contractor.state == OnboardingState.QUALIFYING:
        _qualification_apply(contractor)
        return
    rollup = quality_rollups([contractor_id])[contractor_id]
    if (contractor.state == OnboardingState.ACTIVE and rollup.score is not None
            and rollup.n >= settings.QUALITY_PAUSE_MIN_TASKS and rollup.score < settings.QUALITY_PAUSE_BELOW):
        weakest_iou = rollup.per_class.get(rollup.weakest_class) if rollup.weakest_class else None
        onboarding.transition(contractor=contractor, to_state=OnboardingState.PAUSED,
                              reason=_pause_reason(rollup.score, rollup.n, rollup.weakest_class, weakest_iou))


def _qualification_apply(contractor: Contractor) -> None:
    """The round's score once every photo of it is scored; without a round, over QUALITY_QUALIFICATION_TASKS
    scored gold tasks. A complete round is marked submitted; a pass approves only when configured to."""
    found = qualification_round(contractor_id=contractor.pk)
    if found is None:
        rollup = quality_rollups([contractor.pk])[contractor.pk]
        if rollup.score is not None and rollup.n >= settings.QUALITY_QUALIFICATION_TASKS:
            contractor_qualification_record(contractor=contractor, score=rollup.score)
        return
    if not found.complete or found.score is None:
        return
    contractor_qualification_record(contractor=contractor, score=found.score)
    if found.batch.state in (BatchState.ASSIGNED, BatchState.IN_PROGRESS):
        batch_life.transition(batch=found.batch, to_state=BatchState.HANDED_IN,
                              reason="every photo of the round is scored")
    if found.passed and settings.QUALITY_QUALIFICATION_AUTO_APPROVE:
        onboarding.transition(contractor=contractor, to_state=OnboardingState.APPROVED, reason=(
            f"passed the qualification round: {found.score:.2f} over {found.tasks} photos "
            f"(pass mark {found.pass_mark:.2f})"))

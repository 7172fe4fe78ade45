"""Handing a batch in: the holder says it is finished; LabelCrew reads Label Studio first and checks every photo."""
import logging

from django.db import transaction

from annotations import batch_life, labelstudio
from annotations.models import Batch, BatchKind, BatchState
from annotations.selectors.batch_work import batch_work, unannotated
from annotations.services.sync import sync_poll
from common.errors import Conflict, DomainError, NotAllowed
from common.text import named_few
from workforce.models import Contractor

logger = logging.getLogger(__name__)
HANDABLE = (BatchState.ASSIGNED, BatchState.IN_PROGRESS, BatchState.REWORK)


def _keys(work: list) -> str:
    return named_few([w.batch_task.task.key for w in work], shown=5)


def batch_hand_in(*, batch: Batch, contractor: Contractor) -> Batch:
    """Hand the batch in for review, once Label Studio shows an annotation of the holder on every photo and every
    photo sent back for rework has been changed. Refusals name the photos."""
    batch = Batch.objects.get(pk=batch.pk)  # as it is now, not as the caller read it
    if batch.assigned_to_id != contractor.pk:
        raise NotAllowed("This batch is not yours to hand in.")
    if batch.kind != BatchKind.WORK:
        raise Conflict("A qualification round is handed in by itself once every photo of it is scored.",
                       field="batch")
    if batch.state not in HANDABLE:
        raise Conflict(f"Batch #{batch.number} is {batch.get_state_display().lower()}; there is nothing to hand in.",
                       field="batch")
    if batch.ls_project_id is not None:
        try:  # outside any transaction: each synced annotation commits on its own
            sync_poll(batch_ids=[batch.pk])
        except labelstudio.LabelStudioUnavailable as exc:
            logger.warning("hand-in of batch %s: Label Studio unavailable: %s", batch.pk, exc)
            raise Conflict("Label Studio cannot be reached to check your work; nothing was handed in. Try again in "
                           "a minute.", field="batch") from None
    with transaction.atomic():
        batch = Batch.objects.select_for_update(of=("self",)).get(pk=batch.pk)
        if batch.assigned_to_id != contractor.pk or batch.state not in HANDABLE:
            raise Conflict(f"Batch #{batch.number} changed meanwhile (it is {batch.get_state_display().lower()}); "
                           "reload the page.", field="batch")
        work = batch_work(batch)
        missing = unannotated(work)
        if missing:
            raise DomainError(f"{len(missing)} of {len(work)} photos have no submitted annotation in Label Studio "
                              f"yet: {_keys(missing)}.", field="batch")
        to_fix = [w for w in work if w.to_fix]
        if to_fix:
            raise DomainError(f"{len(to_fix)} photos sent back for rework are unchanged: {_keys(to_fix)}. Fix them "
                              "in Label Studio (update the annotation) first.", field="batch")
        again = batch.state == BatchState.REWORK
        batch_life.transition(batch=batch, to_state=BatchState.HANDED_IN, actor=contractor.user,
                              reason="handed in again after rework" if again else "handed in by the holder")
    return batch

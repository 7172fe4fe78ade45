"""Handing a batch in: the holder says it is finished; LabelCrew reads Label Studio first and checks every photo."""
import logging

from django.db import transaction
from django.utils.translation import gettext, ngettext

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
        raise NotAllowed(gettext("This batch is not yours to hand in."))
    if batch.kind != BatchKind.WORK:
        raise Conflict(gettext("A qualification round is handed in by itself once every photo of it is scored."),
                       field="batch")
    if batch.state not in HANDABLE:
        raise Conflict(gettext("Batch #%(number)s is %(state)s; there is nothing to hand in.") % {
            "number": batch.number, "state": batch.get_state_display().lower()}, field="batch")
    if batch.ls_project_id is not None:
        try:  # outside any transaction: each synced annotation commits on its own
            sync_poll(batch_ids=[batch.pk])
        except labelstudio.LabelStudioUnavailable as exc:
            logger.warning("hand-in of batch %s: Label Studio unavailable: %s", batch.pk, exc)
            raise Conflict(gettext("Label Studio cannot be reached to check your work; nothing was handed in. Try "
                                   "again in a minute."), field="batch") from None
    with transaction.atomic():
        batch = Batch.objects.select_for_update(of=("self",)).get(pk=batch.pk)
        if batch.assigned_to_id != contractor.pk or batch.state not in HANDABLE:
            raise Conflict(gettext("Batch #%(number)s changed meanwhile (it is %(state)s); reload the page.") % {
                "number": batch.number, "state": batch.get_state_display().lower()}, field="batch")
        work = batch_work(batch)
        missing = unannotated(work)
        if missing:
            raise DomainError(ngettext(
                "%(missing)s of %(total)s photo has no submitted annotation in Label Studio yet: %(photos)s.",
                "%(missing)s of %(total)s photos have no submitted annotation in Label Studio yet: %(photos)s.",
                len(work)) % {"missing": len(missing), "total": len(work), "photos": _keys(missing)}, field="batch")
        to_fix = [w for w in work if w.to_fix]
        if to_fix:
            raise DomainError(ngettext(
                "%(count)s photo sent back for rework is unchanged: %(photos)s. Fix it in Label Studio (update the "
                "annotation) first.",
                "%(count)s photos sent back for rework are unchanged: %(photos)s. Fix them in Label Studio (update the "
                "annotation) first.", len(to_fix)) % {"count": len(to_fix), "photos": _keys(to_fix)}, field="batch")
        again = batch.state == BatchState.REWORK
        batch_life.transition(batch=batch, to_state=BatchState.HANDED_IN, actor=contractor.user,
                              reason="handed in again after rework" if again else "handed in by the holder")
    return batch

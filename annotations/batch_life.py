"""A batch's life as one state machine: the only code that changes a batch's state.

    open → assigned → in progress (first annotation synced) → handed in (the holder presses "Hand in")
         → in review (a reviewer's first decision) → done (every task accepted)
                                                   → rework (a task sent back) → handed in again
    done → rework (a reviewer sends a photo back after all)
    assigned / in progress → open (reclaimed), → assigned (reassigned to someone else)

A qualification round (one applicant, gold only) is never reviewed: it is handed in when every photo of it is
scored and done once the applicant is decided on. Every change is checked against the table of its kind, written
under the batch's row lock with the fields that go with it, and audited (from, to, holder, who, why).
"""
import logging
from datetime import datetime

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext

from annotations.models import Batch, BatchKind, BatchState, BatchTransition
from annotations.services.job_progress import job_progress_touch
from common.errors import Conflict, DomainError
from workforce.models import User

logger = logging.getLogger(__name__)
S = BatchState

WORK_TRANSITIONS: dict[str, frozenset[str]] = {
    S.OPEN: frozenset({S.ASSIGNED}),
    S.ASSIGNED: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.OPEN}),
    S.IN_PROGRESS: frozenset({S.ASSIGNED, S.HANDED_IN, S.OPEN}),
    S.HANDED_IN: frozenset({S.IN_REVIEW}),
    S.IN_REVIEW: frozenset({S.REWORK, S.DONE}),
    S.REWORK: frozenset({S.HANDED_IN, S.DONE}),
    S.DONE: frozenset({S.REWORK}),  # a reviewer sends a photo back after all (a client's complaint, say)
}
QUALIFICATION_TRANSITIONS: dict[str, frozenset[str]] = {
    S.OPEN: frozenset({S.ASSIGNED}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.HANDED_IN, S.DONE}),
    S.IN_PROGRESS: frozenset({S.HANDED_IN, S.DONE}),
    S.HANDED_IN: frozenset({S.DONE}),
    S.DONE: frozenset(),
}
# Held by a contractor and still theirs to work on (counts against max_open_batches and their hours).
HELD_STATES = (S.ASSIGNED, S.IN_PROGRESS, S.REWORK)
# Past its deadline, only these are taken back: handed-in, reviewed or finished work never is.
RECLAIMABLE_STATES = (S.ASSIGNED, S.IN_PROGRESS)
# Handed in and waiting for (or under) review: the holder can no longer change it.
WITH_REVIEWERS = (S.HANDED_IN, S.IN_REVIEW)
REASON_MAX_LENGTH = 500
# Sent after the transaction that changed a batch's state commits: batch_id, from_state, to_state.
state_changed = Signal()


class InvalidBatchTransition(Conflict):
    def __init__(self, batch: Batch, from_state: str, to_state: str) -> None:
        if batch.kind == BatchKind.QUALIFICATION:
            text = gettext("Batch #%(number)s is %(state)s; a qualification round in that state cannot become "
                           "%(to)s.")
        else:
            text = gettext("Batch #%(number)s is %(state)s; a batch in that state cannot become %(to)s.")
        super().__init__(text % {"number": batch.number, "state": S(from_state).label.lower(),
                                 "to": S(to_state).label.lower()}, field="batch")


def transitions_of(batch: Batch) -> dict[str, frozenset[str]]:
    return QUALIFICATION_TRANSITIONS if batch.kind == BatchKind.QUALIFICATION else WORK_TRANSITIONS


def allowed(batch: Batch, to_state: str) -> bool:
    return to_state in transitions_of(batch).get(batch.state, frozenset())


@transaction.atomic
def transition(*, batch: Batch, to_state: str, actor: User | None = None, reason: str = "",
               **fields: object) -> BatchTransition:
    """Move `batch` to `to_state` if its machine allows it, setting `fields` with it; audited, signalled.

    `fields` are the batch columns that change with the state (holder, assigned_at, deadline_at, started_at).
    The passed object is updated too, so callers keep working with it.
    """
    if to_state not in S.values:
        raise DomainError(f"{to_state!r} is not a batch state.", field="to_state")
    unknown = set(fields) - {"assigned_to", "assigned_at", "started_at", "deadline_at"}
    if unknown:
        raise ValueError(f"transition() does not set {sorted(unknown)}")
    reason = reason.strip()[:REASON_MAX_LENGTH]
    # Lock the row and read its state again: two requests acting at once on one batch queue up here.
    locked = Batch.objects.select_for_update(of=("self",)).get(pk=batch.pk)
    from_state = locked.state
    if not allowed(locked, to_state):
        raise InvalidBatchTransition(locked, from_state, to_state)
    locked.state = to_state
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.save(update_fields=["state", *fields])
    batch.state = to_state
    for name, value in fields.items():
        setattr(batch, name, value)
    record = BatchTransition.objects.create(batch=locked, from_state=from_state, to_state=to_state,
                                            contractor_id=locked.assigned_to_id, actor=actor, reason=reason)
    job_progress_touch(job_ids=[locked.job_id])  # handed in, reviewed: the job's counts follow the batch
    transaction.on_commit(lambda: state_changed.send(sender=Batch, batch_id=locked.pk, from_state=from_state,
                                                     to_state=to_state))
    logger.info("batch %s: %s -> %s by %s (%s)", locked.pk, from_state, to_state, actor or "system", reason)
    return record


def started(*, batch_id: int, contractor_id: int | None, now: datetime | None = None) -> bool:
    """An annotation by the holder was synced: an assigned batch is in progress from now. True if it moved."""
    if contractor_id is None:
        return False
    with transaction.atomic():
        batch = (Batch.objects.select_for_update(of=("self",))
                 .filter(pk=batch_id, state=S.ASSIGNED, assigned_to_id=contractor_id).first())
        if batch is None:
            return False
        transition(batch=batch, to_state=S.IN_PROGRESS, reason="first annotation synced",
                   started_at=batch.started_at or now or timezone.now())
        return True


@transaction.atomic
def qualification_closed(*, contractor_id: int, reason: str) -> int:
    """Close the applicant's qualification round (they were decided on); how many rounds were closed."""
    closed = 0
    for batch in (Batch.objects.select_for_update(of=("self",))
                  .filter(kind=BatchKind.QUALIFICATION, assigned_to_id=contractor_id).exclude(state=S.DONE)):
        transition(batch=batch, to_state=S.DONE, reason=reason)
        closed += 1
    return closed

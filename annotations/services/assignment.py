"""Who works on which batch: assigning by hand or automatically (within capacity), reassigning and reclaiming."""
from dataclasses import replace
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from annotations import batch_life
from annotations.batch_life import HELD_STATES, RECLAIMABLE_STATES
from annotations.models import (
    AssignmentAction,
    AssignmentEvent,
    Batch,
    BatchKind,
    BatchState,
    Job,
)
from annotations.selectors.batches import (
    batch_photo_ids,
    batch_task_counts,
    batches_started_by_holder,
    gold_seen_before,
    gold_task_ids,
    never_twice,
    photos_held_before,
    stale_reason,
)
from annotations.selectors.capacity import (
    capacity_board,
    estimated_batch_hours,
    receive_verdict,
    remaining_capacity_hours,
)
from common.errors import Conflict, DomainError
from workforce.models import Contractor, NotificationKind, OnboardingState, User
from workforce.selectors.standing import can_receive_batches
from workforce.services.notifications import notify

AUTO_ASSIGNED = "auto-assigned"


def _locked_batch(batch: Batch) -> Batch:
    """The batch, locked; refused if it is an applicant's qualification round (that one is never handed on)."""
    # Lock only the batch row (not its job): two staff assigning the same batch queue up here.
    batch = Batch.objects.select_for_update(of=("self",)).select_related("job", "assigned_to").get(pk=batch.pk)
    if batch.kind == BatchKind.QUALIFICATION:
        raise Conflict(f"Batch #{batch.number} is the qualification round of {batch.assigned_to}; it is not "
                       "assigned, reassigned or reclaimed.", field="batch")
    return batch


def _locked_contractor(contractor: Contractor) -> Contractor:
    # Locking the contractor serialises the open-batch and capacity checks of concurrent assignments to them.
    return Contractor.objects.select_for_update(of=("self",)).select_related("user").get(pk=contractor.pk)


def _refuse_unless_can_take(*, batch: Batch, contractor: Contractor, now: datetime) -> None:
    """DomainError naming the first reason the contractor may not take this batch now."""
    if not can_receive_batches(contractor):
        raise DomainError(f"{contractor} cannot receive batches: they must be active and have accepted every "
                          "current agreement.", field="contractor")
    # Published means every task is in Label Studio, not only the project: assigning half an
    # import would show the contractor an incomplete batch.
    if batch.published_at is None:
        raise DomainError(f"Batch #{batch.number} is not published to Label Studio yet; publish it first.",
                          field="batch")
    job = batch.job
    held = (Batch.objects.filter(job=job, assigned_to=contractor, state__in=HELD_STATES)
            .exclude(pk=batch.pk).count())
    if held >= job.max_open_batches:
        raise DomainError(f"{contractor} already holds {held} open batches of this job "
                          f"(at most {job.max_open_batches}).", field="contractor")
    needed = estimated_batch_hours(contractor=contractor, batch=batch)
    remaining = remaining_capacity_hours(contractor=contractor, job=job, now=now)
    if remaining <= 0 or remaining < needed:
        raise DomainError(f"{contractor} has {max(remaining, 0):.2f} h left this week; batch #{batch.number} "
                          f"needs about {needed:.2f} h.", field="contractor")
    gold = gold_task_ids([batch.pk])[batch.pk]
    guarded = never_twice(batch, batch_photo_ids([batch.pk])[batch.pk], gold)
    seen = gold_seen_before(batch_id=batch.pk, gold=guarded, held=photos_held_before([contractor.pk])[contractor.pk])
    if seen & gold:
        raise DomainError(f"Batch #{batch.number} holds {len(seen & gold)} hidden gold photo(s) {contractor} was "
                          "already given in another batch or their qualification round; a gold photo is never given "
                          "twice to the same person.", field="contractor")
    if seen:
        raise DomainError(f"Batch #{batch.number} holds {len(seen)} photo(s) {contractor} already had in another "
                          f"batch; each of this job's photos goes to {batch.job.annotators_per_photo} different "
                          "people.", field="contractor")


def _hand_over(*, batch: Batch, contractor: Contractor, actor: User | None, action: str, reason: str,
               now: datetime) -> AssignmentEvent:
    deadline = now + timedelta(hours=batch.job.deadline_hours)
    batch_life.transition(batch=batch, to_state=BatchState.ASSIGNED, actor=actor,
                          reason=f"{action}: {reason}" if reason else action, assigned_to=contractor,
                          assigned_at=now, started_at=None, deadline_at=deadline)
    notify(contractor=contractor, kind=NotificationKind.BATCH_ASSIGNED, job=batch.job.name, number=batch.number,
           due_at=deadline.isoformat())
    return AssignmentEvent.objects.create(batch=batch, contractor=contractor, action=action, actor=actor,
                                          reason=reason)


def _take_back(*, batch: Batch, actor: User | None, reason: str) -> AssignmentEvent:
    # Annotations are left as they are: work already synced stays credited to whoever made it.
    holder_id = batch.assigned_to_id
    batch_life.transition(batch=batch, to_state=BatchState.OPEN, actor=actor, reason=f"reclaimed: {reason}",
                          assigned_to=None, assigned_at=None, started_at=None, deadline_at=None)
    return AssignmentEvent.objects.create(batch=batch, contractor_id=holder_id, action=AssignmentAction.RECLAIM,
                                          actor=actor, reason=reason)


def _required_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Give a reason; it is kept in the assignment history.", field="reason")
    return reason


@transaction.atomic
def batch_assign(*, batch: Batch, contractor: Contractor, actor: User | None, reason: str = "",
                 now: datetime | None = None) -> Batch:
    """Give an open, published batch to a contractor who may take it and has the hours for it."""
    now = now or timezone.now()
    batch = _locked_batch(batch)
    contractor = _locked_contractor(contractor)
    if batch.assigned_to_id == contractor.pk:
        raise Conflict(f"{contractor} already holds batch #{batch.number}.", field="batch")
    if batch.assigned_to_id is not None:
        raise Conflict(f"Batch #{batch.number} is held by {batch.assigned_to}; reassign it with a reason instead.",
                       field="batch")
    if batch.state != BatchState.OPEN:
        raise Conflict(f"Batch #{batch.number} is {batch.get_state_display().lower()}, not open.", field="batch")
    _refuse_unless_can_take(batch=batch, contractor=contractor, now=now)
    _hand_over(batch=batch, contractor=contractor, actor=actor, action=AssignmentAction.ASSIGN,
               reason=reason.strip(), now=now)
    return batch


@transaction.atomic
def batch_reassign(*, batch: Batch, contractor: Contractor, actor: User | None, reason: str) -> Batch:
    """Move a held batch to another contractor; the new holder gets a fresh deadline."""
    reason = _required_reason(reason)
    now = timezone.now()
    batch = _locked_batch(batch)
    contractor = _locked_contractor(contractor)
    if batch.state not in RECLAIMABLE_STATES or batch.assigned_to_id is None:
        raise Conflict(f"Batch #{batch.number} is {batch.get_state_display().lower()}; only a batch that is "
                       "assigned or in progress can be reassigned.", field="batch")
    if batch.assigned_to_id == contractor.pk:
        raise Conflict(f"{contractor} already holds batch #{batch.number}.", field="contractor")
    _refuse_unless_can_take(batch=batch, contractor=contractor, now=now)
    _hand_over(batch=batch, contractor=contractor, actor=actor, action=AssignmentAction.REASSIGN, reason=reason,
               now=now)
    return batch


@transaction.atomic
def batches_auto_assign(*, job: Job, actor: User | None, now: datetime | None = None) -> list[AssignmentEvent]:
    """Fill qualified contractors with the job's open published batches, in batch-number order.

    Each batch goes to the first contractor, best quality first (then most remaining hours,
    then id), who meets the job's quality threshold, holds fewer than max_open_batches of its
    batches and has the hours for this batch. The same data always gives the same assignment.
    """
    now = now or timezone.now()
    job = Job.objects.get(pk=job.pk)
    # Batches someone is assigning by hand right now are skipped rather than waited for.
    batches = list(Batch.objects.select_for_update(of=("self",), skip_locked=True).select_related("job")
                   .filter(job=job, kind=BatchKind.WORK, state=BatchState.OPEN, assigned_to__isnull=True,
                           published_at__isnull=False)
                   .order_by("number"))
    if not batches:
        return []
    # Lock the candidates before reading their capacity, so a concurrent manual assignment can't overbook them.
    # Quality is judged on the board (the rolling score on gold once there is one), not here.
    candidates = {c.pk: c for c in Contractor.objects.select_for_update().filter(
        state=OnboardingState.ACTIVE, anonymized_at__isnull=True,
    ).order_by("pk")}
    # receive_verdict is the board's "Can receive": whoever it refuses now is refused every batch here too
    # (holding more batches or fewer hours only makes it worse), so only the rest are tried.
    board = {row.contractor_id: row for row in capacity_board(job, now=now)
             if row.contractor_id in candidates and row.can_receive}
    tasks = batch_task_counts(b.pk for b in batches)
    gold = gold_task_ids(b.pk for b in batches)
    photos = batch_photo_ids(b.pk for b in batches)
    held = photos_held_before(board)
    events = []
    for batch in batches:
        for cid in sorted(board, key=lambda c: (-board[c].quality, -board[c].remaining, c)):
            row = board[cid]
            needed = tasks.get(batch.pk, 0) * row.hours_per_task
            if gold_seen_before(batch_id=batch.pk, gold=never_twice(batch, photos[batch.pk], gold[batch.pk]),
                                held=held[cid]):
                continue  # a hidden gold photo, or a photo of an overlap job, never twice to the same person
            if receive_verdict(row, job, needed_hours=needed)[0]:
                events.append(_hand_over(batch=batch, contractor=candidates[cid], actor=actor,
                                         action=AssignmentAction.ASSIGN, reason=AUTO_ASSIGNED, now=now))
                board[cid] = replace(row, remaining=row.remaining - needed, open_batches=row.open_batches + 1)
                held[cid] |= {(task_id, batch.pk) for task_id in photos[batch.pk]}
                break
    return events


@transaction.atomic
def batches_reclaim_stale(*, now: datetime | None = None) -> list[AssignmentEvent]:
    """Offer again every batch assigned or in progress that was not started within start_within_hours, or not
    handed in by its deadline. Handed-in, reviewed, reworked and finished batches are never taken back."""
    now = now or timezone.now()
    held = list(Batch.objects.select_for_update(of=("self",), skip_locked=True).select_related("job")
                .filter(state__in=RECLAIMABLE_STATES, assigned_to__isnull=False, kind=BatchKind.WORK).order_by("id"))
    started = batches_started_by_holder([b.pk for b in held])
    events = []
    for batch in held:
        reason = stale_reason(batch, started=batch.pk in started, now=now)
        if reason:
            events.append(_take_back(batch=batch, actor=None, reason=reason))
    return events


@transaction.atomic
def batch_reclaim(*, batch: Batch, actor: User | None, reason: str) -> Batch:
    """Take a held batch back and offer it again (the console's one-click reclaim)."""
    reason = _required_reason(reason)
    batch = _locked_batch(batch)
    if batch.state not in RECLAIMABLE_STATES or batch.assigned_to_id is None:
        raise Conflict(f"Batch #{batch.number} is {batch.get_state_display().lower()}; only a batch that is "
                       "assigned or in progress can be reclaimed.", field="batch")
    _take_back(batch=batch, actor=actor, reason=reason)
    return batch


@transaction.atomic
def batches_release_of(*, contractor_id: int, reason: str) -> list[Batch]:
    """Take back at once every work batch the contractor holds (assigned or in progress), each as a reclaim with
    `reason` in the assignment history: the batches open again for others and the annotations already synced stay
    credited to the contractor. Their qualification round is closed elsewhere; handed-in batches stay in review."""
    held = list(Batch.objects.filter(assigned_to_id=contractor_id, state__in=RECLAIMABLE_STATES, kind=BatchKind.WORK)
                .order_by("id"))
    reason = reason.strip()[:AssignmentEvent._meta.get_field("reason").max_length]
    return [batch_reclaim(batch=batch, actor=None, reason=reason) for batch in held]

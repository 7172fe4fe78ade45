"""Backfilling work done outside the live Label Studio round trip: a batch handed over at a past moment and
the annotations its holder made, stored as assignment and the sync would have stored them."""
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from annotations import batch_life
from annotations.models import (
    Annotation,
    AssignmentAction,
    AssignmentEvent,
    Batch,
    BatchState,
    BatchTask,
    BatchTransition,
    Job,
    LabelStudioAccount,
    ReviewState,
)
from common.errors import DomainError
from workforce.models import Contractor, User

# A backfilled batch was held or handed in; an open one would be offered to others, which it never was.
# It walks the batch's life up to its state, each step audited as backfilled.
BACKFILL_PATH = (BatchState.ASSIGNED, BatchState.IN_PROGRESS, BatchState.HANDED_IN, BatchState.IN_REVIEW,
                 BatchState.DONE)
BACKFILL_STATES = (BatchState.ASSIGNED, BatchState.IN_PROGRESS, BatchState.HANDED_IN, BatchState.DONE)


@dataclass(frozen=True)
class BackfilledAnnotation:
    """One annotation as Label Studio would have reported it: its id there, the photo, seconds spent, when."""

    ls_annotation_id: int
    batch_task: BatchTask
    lead_time: float
    made_at: datetime


@transaction.atomic
def batch_backfill(*, job: Job, contractor: Contractor, actor: User | None, reason: str, assigned_at: datetime,
                   started_at: datetime | None, state: str, size: int, handed_in_at: datetime | None = None) -> Batch:
    """A new batch of `size` of the job's photos, handed to the contractor at `assigned_at` and audited like an
    assignment; its history is dated when each step happened (started at `started_at`, handed in and on at
    `handed_in_at`, now by default), since time may be logged only while the batch was held. The photos are a
    repeatable draw (seeded by job and batch number), so a photo may be in several such batches.
    It is never published: Label Studio never sees it and the sync never reads it."""
    if state not in BACKFILL_STATES:
        raise DomainError(f"state: a backfilled batch is held or handed in, not {state}.", field="state")
    if size < 1:
        raise DomainError("size: at least one photo.", field="size")
    job = Job.objects.select_for_update().get(pk=job.pk)  # one batch number per batch, even with two writers
    number = (job.batches.aggregate(n=Max("number"))["n"] or 0) + 1
    batch = Batch.objects.create(job=job, number=number)
    why = f"backfilled: {reason}" if reason else "backfilled"
    steps = [batch_life.transition(batch=batch, to_state=BatchState.ASSIGNED, actor=actor, reason=why,
                                   assigned_to=contractor, assigned_at=assigned_at,
                                   deadline_at=assigned_at + timedelta(hours=job.deadline_hours))]
    for step in BACKFILL_PATH[1:BACKFILL_PATH.index(state) + 1]:
        extra = {"started_at": started_at or assigned_at} if step == BatchState.IN_PROGRESS else {}
        steps.append(batch_life.transition(batch=batch, to_state=step, actor=actor, reason=why, **extra))
    moments = [assigned_at, started_at or assigned_at] + [handed_in_at or timezone.now()] * len(steps)
    for record, moment in zip(steps, moments, strict=False):
        BatchTransition.objects.filter(pk=record.pk).update(created_at=moment)
    task_ids = list(job.tasks.order_by("id").values_list("pk", flat=True))
    chosen = random.Random(f"{job.pk}:{number}").sample(task_ids, min(size, len(task_ids)))  # noqa: S311 - repeatable
    BatchTask.objects.bulk_create([BatchTask(batch=batch, task_id=task_id) for task_id in sorted(chosen)])
    event = AssignmentEvent.objects.create(batch=batch, contractor=contractor, action=AssignmentAction.ASSIGN,
                                           actor=actor, reason=reason)
    AssignmentEvent.objects.filter(pk=event.pk).update(created_at=assigned_at)
    return batch


@transaction.atomic
def annotations_backfill(*, batch: Batch, annotations: list[BackfilledAnnotation]) -> list[Annotation]:
    """The batch holder's annotations, stored as the sync stores theirs (with their Label Studio user, if they have
    one) and already accepted: backfilled work is history, not left in the reviewers' queue. None is gold, so
    none is queued for scoring."""
    if batch.assigned_to_id is None:
        raise DomainError(f"Batch #{batch.number} has no holder whose work could be backfilled.", field="batch")
    if any(item.batch_task.batch_id != batch.pk or item.batch_task.is_gold for item in annotations):
        raise DomainError(f"Only the work photos of batch #{batch.number} can have backfilled annotations.",
                          field="annotations")
    ls_user_id = (LabelStudioAccount.objects.filter(contractor_id=batch.assigned_to_id)
                  .values_list("ls_user_id", flat=True).first())
    return Annotation.objects.bulk_create([
        Annotation(ls_annotation_id=item.ls_annotation_id, batch_task=item.batch_task,
                   contractor_id=batch.assigned_to_id, ls_user_id=ls_user_id, lead_time=item.lead_time,
                   review_state=ReviewState.ACCEPTED, ls_created_at=item.made_at, ls_updated_at=item.made_at)
        for item in annotations
    ])

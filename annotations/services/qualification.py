"""The qualification round: each applicant labels a few gold photos in Label Studio and is scored on them.

The round is a batch of its own (kind "qualification") held by the applicant: the sync, scoring,
overlays and rollups treat its annotations like any other work on gold. Staff decide on approval
with the score in front of them (or, with QUALITY_QUALIFICATION_AUTO_APPROVE, a pass approves).
"""
import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from annotations import batch_life
from annotations.models import AssignmentAction, AssignmentEvent, Batch, BatchKind, BatchState, BatchTask, Job
from annotations.selectors.batches import photos_held_before
from annotations.services import dispatch
from annotations.services.accounts import label_studio_account_ensure
from annotations.services.publishing import batch_publish
from common.errors import Conflict, DomainError
from workforce.models import Contractor, NotificationKind, OnboardingState, User
from workforce.services.notifications import notify

logger = logging.getLogger(__name__)

ROUND_REASON = "qualification round"


def qualification_job() -> Job | None:
    """The newest job that runs a qualification round and has gold for it, or None."""
    for job in Job.objects.filter(qualification_tasks__gt=0).order_by("-created_at", "-id"):
        if job.tasks.filter(gold_result__isnull=False, public_example=False).count() >= job.qualification_tasks:
            return job
    return None


@transaction.atomic
def job_qualification_set(*, job: Job, tasks: int) -> Job:
    """Make new applicants qualify on `tasks` of this job's gold photos (0 stops the round here)."""
    if not 0 <= tasks <= 50:
        raise DomainError("qualification_tasks: between 0 and 50.", field="qualification_tasks")
    job = Job.objects.select_for_update().get(pk=job.pk)
    gold = job.tasks.filter(gold_result__isnull=False, public_example=False).count()
    if tasks > gold:
        raise DomainError(f"qualification_tasks: the job has {gold} photo(s) with gold; a round of {tasks} needs "
                          "that many.", field="qualification_tasks")
    job.qualification_tasks = tasks
    job.save(update_fields=["qualification_tasks"])
    return job


def qualification_batch_of(contractor: Contractor) -> Batch | None:
    return Batch.objects.filter(kind=BatchKind.QUALIFICATION, assigned_to=contractor).select_related("job").first()


@transaction.atomic
def qualification_round_open(*, contractor: Contractor, actor: User | None = None) -> Batch:
    """The applicant's qualification batch, made once: the job's gold photos drawn for them, held by them.

    Publishing it to Label Studio is the caller's next step (qualification_round_publish does both). The draw is
    seeded by the contractor, so two applicants rarely get the same photos and a retry gets the same.
    """
    contractor = Contractor.objects.select_for_update().get(pk=contractor.pk)
    existing = qualification_batch_of(contractor)
    if existing is not None:
        return existing
    if contractor.state != OnboardingState.QUALIFYING:
        raise Conflict(f"{contractor} is {contractor.get_state_display().lower()}, not qualifying.",
                       field="contractor")
    job = qualification_job()
    if job is None:
        raise DomainError("No job runs a qualification round: set the number of qualification photos on a job "
                          "with gold first.", field="job")
    job = Job.objects.select_for_update().get(pk=job.pk)  # batch numbers are handed out under the job's lock
    seen = {task_id for task_id, _ in photos_held_before([contractor.pk])[contractor.pk]}
    pool = [pk for pk in job.tasks.filter(gold_result__isnull=False, public_example=False).order_by("id")
            .values_list("pk", flat=True)
            if pk not in seen]  # a gold photo is never given twice to the same person
    if len(pool) < job.qualification_tasks:
        raise DomainError(f"{contractor} was already given all but {len(pool)} of the job's gold photos; a round "
                          f"needs {job.qualification_tasks}.", field="contractor")
    chosen = random.Random(f"qualification:{contractor.pk}").sample(pool, job.qualification_tasks)  # noqa: S311
    now = timezone.now()
    batch = Batch.objects.create(
        job=job, number=(job.batches.aggregate(n=Max("number"))["n"] or 0) + 1, kind=BatchKind.QUALIFICATION,
        assigned_to=contractor)
    batch_life.transition(batch=batch, to_state=BatchState.ASSIGNED, actor=actor, reason=ROUND_REASON,
                          assigned_at=now, deadline_at=now + timedelta(hours=settings.QUALIFICATION_ROUND_HOURS))
    BatchTask.objects.bulk_create([BatchTask(batch=batch, task_id=pk, is_gold=True) for pk in sorted(chosen)])
    AssignmentEvent.objects.create(batch=batch, contractor=contractor, action=AssignmentAction.ASSIGN, actor=actor,
                                   reason=ROUND_REASON)
    logger.info("qualification round of %s: batch %s on job %s, %s photos", contractor.pk, batch.pk, job.pk,
                len(chosen))
    notify(contractor=contractor, kind=NotificationKind.QUALIFICATION)  # only now: a round exists for them
    return batch


@transaction.atomic
def qualification_round_start(*, contractor: Contractor, actor: User | None = None) -> Batch:
    """Open the applicant's round now and publish it in the background (their account first), after commit."""
    batch = qualification_round_open(contractor=contractor, actor=actor)
    dispatch.task_send("open_qualification_round", contractor.pk)
    return batch


def qualification_round_publish(*, contractor_id: int) -> int | None:
    """Make the applicant's Label Studio user and qualification batch, and publish it; returns its project id.

    Idempotent: the account, the batch and the published tasks are each found again on a retry. Without
    a job that runs a round (or once the applicant is decided on) nothing is made and None is returned.
    """
    contractor = Contractor.objects.select_related("user").get(pk=contractor_id)
    label_studio_account_ensure(contractor=contractor)
    try:
        batch = qualification_round_open(contractor=contractor)
    except DomainError as exc:
        logger.warning("no qualification round for contractor %s: %s", contractor_id, exc.message)
        return None
    return batch_publish(batch_id=batch.pk).ls_project_id


@transaction.atomic
def qualification_round_close(*, contractor_id: int) -> bool:
    """Close the applicant's round once they are decided on (approved, rejected, offboarded); True if it was open."""
    return batch_life.qualification_closed(contractor_id=contractor_id, reason="the applicant was decided on") > 0

"""Celery entry points of the annotations app: take ids, call a service, safe to retry.

Services queue these by name through annotations.services.dispatch, after commit; nothing else sends them.
"""
from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from annotations.labelstudio import LabelStudioUnavailable
from annotations.services import (
    accounts,
    agreement,
    client_import,
    delivery,
    edit_evidence,
    qualification,
    scoring,
    scoring_queue,
)
from annotations.services.assignment import batches_reclaim_stale
from annotations.services.publishing import batch_publish
from annotations.services.sync import sync_poll


@shared_task(bind=True, autoretry_for=(LabelStudioUnavailable,), retry_backoff=True, retry_backoff_max=600,
             max_retries=10)
def publish_batch(self: Task, batch_id: int) -> int | None:
    """Publish one batch to Label Studio; returns its project id."""
    return batch_publish(batch_id=batch_id).ls_project_id


@shared_task(bind=True, autoretry_for=(LabelStudioUnavailable,), retry_backoff=True, retry_backoff_max=600,
             max_retries=8)
def sync_label_studio(self: Task) -> int:
    """Catch up on annotations whose webhooks were missed; returns how many were seen."""
    return sync_poll()


@shared_task(bind=True, autoretry_for=(LabelStudioUnavailable,), retry_backoff=True, retry_backoff_max=600,
             max_retries=10, acks_late=True)
def run_import(self: Task, run_id: int) -> str:
    """Convert, check and write an uploaded pre-annotation or gold file (a retry resumes); returns the run's state."""
    try:
        return client_import.import_run_execute(run_id=run_id).state
    except LabelStudioUnavailable as exc:
        if self.request.retries >= self.max_retries:  # the last try: the run must not stay "running" for ever
            client_import.import_run_abandon(run_id=run_id, reason=str(exc))
        raise


@shared_task(bind=True, acks_late=True)
def create_job_from_zip(self: Task, run_id: int) -> int | None:
    """Make a job from an uploaded ZIP of photos (all or nothing); returns the job's id (None: refused)."""
    return client_import.job_from_zip_execute(run_id=run_id).job_id


@shared_task(bind=True)
def reclaim_stale_batches(self: Task) -> int:
    """Offer again the batches not started or not finished in time; returns how many were reclaimed."""
    return len(batches_reclaim_stale())


@shared_task(bind=True, autoretry_for=(LabelStudioUnavailable,), retry_backoff=True, max_retries=10)
def ensure_label_studio_account(self: Task, contractor_id: int) -> int:
    """The contractor's Label Studio user id, made once (idempotent)."""
    return accounts.label_studio_account_ensure_by_id(contractor_id=contractor_id).ls_user_id


@shared_task(bind=True, autoretry_for=(LabelStudioUnavailable,), retry_backoff=True, max_retries=10)
def open_qualification_round(self: Task, contractor_id: int) -> int | None:
    """Make the applicant's Label Studio user and qualification batch, and publish it; returns its project id
    (None without a job that runs a round). Idempotent."""
    return qualification.qualification_round_publish(contractor_id=contractor_id)


@shared_task(bind=True, autoretry_for=(LabelStudioUnavailable,), retry_backoff=True, max_retries=10)
def deactivate_label_studio_account(self: Task, contractor_id: int) -> None:
    """Close the contractor's Label Studio user (offboarded, deleted or rejected). Idempotent."""
    accounts.label_studio_account_deactivate_by_id(contractor_id=contractor_id)


# --- quality scoring (queue "scoring") ---------------------------------------------------
# A lock held too long or a dropped connection is worth another try; bad masks are not (they
# become a score in state "error"), and anything else is a bug to see in the worker log.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)


@shared_task(bind=True, autoretry_for=TRANSIENT_DB_ERRORS, retry_backoff=True, retry_backoff_max=300, max_retries=5,
             acks_late=True)
def score_annotation(self: Task, annotation_id: int) -> int | None:
    """Score one annotation against its task's current gold; returns the score id (None: nothing to score)."""
    score = scoring.score_annotation(annotation_id=annotation_id, attempt=self.request.retries + 1)
    return score.pk if score else None


@shared_task(bind=True, autoretry_for=TRANSIENT_DB_ERRORS, retry_backoff=True, retry_backoff_max=300, max_retries=5,
             acks_late=True)
def score_edits(self: Task, annotation_id: int) -> int | None:
    """What one annotation changed against its photo's pre-annotation; returns the record's id."""
    edits = edit_evidence.annotation_edits_record(annotation_id=annotation_id)
    return edits.pk if edits else None


@shared_task(bind=True, autoretry_for=TRANSIENT_DB_ERRORS, retry_backoff=True, retry_backoff_max=300, max_retries=5,
             acks_late=True)
def score_agreement(self: Task, task_id: int) -> int | None:
    """The agreement of one photo's annotators; returns the record's id."""
    record = agreement.photo_agreement_record(task_id=task_id)
    return record.pk if record else None


@shared_task(bind=True, autoretry_for=TRANSIENT_DB_ERRORS, retry_backoff=True, retry_backoff_max=300, max_retries=5,
             acks_late=True)
def score_annotations(self: Task, annotation_ids: list[int]) -> int:
    """Score a chunk of annotations (a retry redoes only those not scored yet); returns how many have a score."""
    return sum(scoring.score_annotation(annotation_id=pk, attempt=self.request.retries + 1) is not None
               for pk in annotation_ids)


@shared_task(bind=True, acks_late=True)
def rescore_job(self: Task, job_id: int) -> int:
    """Score every live annotation on the job's gold tasks, in chunks; returns how many were queued."""
    return scoring_queue.rescore_enqueue(job_id=job_id)


@shared_task(bind=True, acks_late=True)
def rescore_batch(self: Task, batch_id: int) -> int:
    """Score every live annotation on the batch's gold tasks, in chunks; returns how many were queued."""
    return scoring_queue.rescore_enqueue(batch_id=batch_id)


# --- delivery to the client (queue "default") ----------------------------------------------

@shared_task(bind=True, acks_late=True)
def delivery_build(self: Task, delivery_id: int) -> int:
    """Start writing a queued delivery: queues its photos in tasks of a few; returns how many tasks."""
    return delivery.delivery_build(delivery_id=delivery_id)


@shared_task(bind=True, acks_late=True)
def delivery_write(self: Task, delivery_id: int, task_ids: list[int]) -> int:
    """Write these photos of a delivery (the last task to finish assembles the ZIP); returns how many."""
    return delivery.delivery_write_photos(delivery_id=delivery_id, task_ids=task_ids)

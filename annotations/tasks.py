"""Celery entry points of the annotations app: take ids, call a service, safe to retry."""
import logging

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from annotations.labelstudio import LabelStudioUnavailable
from annotations.selectors.quality import scorable_annotation_ids
from annotations.services import scoring
from annotations.services.assignment import batches_reclaim_stale
from annotations.services.publishing import batch_publish
from annotations.services.sync import sync_poll
from common.errors import DomainError

logger = logging.getLogger(__name__)


@shared_task(bind=True, autoretry_for=(LabelStudioUnavailable,), retry_backoff=True, retry_backoff_max=600,
             max_retries=10)
def publish_batch(self: object, batch_id: int) -> int | None:
    """Publish one batch to Label Studio; returns its project id."""
    return batch_publish(batch_id=batch_id).ls_project_id


@shared_task(bind=True, autoretry_for=(LabelStudioUnavailable,), retry_backoff=True, retry_backoff_max=600,
             max_retries=8)
def sync_label_studio(self: object) -> int:
    """Catch up on annotations whose webhooks were missed; returns how many were seen."""
    return sync_poll()


@shared_task(bind=True)
def reclaim_stale_batches(self: object) -> int:
    """Offer again the batches not started or not finished in time; returns how many were reclaimed."""
    return len(batches_reclaim_stale())


@shared_task(bind=True, autoretry_for=(LabelStudioUnavailable,), retry_backoff=True, max_retries=10)
def ensure_label_studio_account(self: object, contractor_id: int) -> int:
    """The contractor's Label Studio user id, made once (idempotent)."""
    from annotations.services.accounts import label_studio_account_ensure
    from workforce.models import Contractor

    return label_studio_account_ensure(contractor=Contractor.objects.get(pk=contractor_id)).ls_user_id


@shared_task(bind=True, autoretry_for=(LabelStudioUnavailable,), retry_backoff=True, max_retries=10)
def open_qualification_round(self: object, contractor_id: int) -> int | None:
    """Make the applicant's Label Studio user and qualification batch, and publish it; returns its project id.

    Idempotent: the account, the batch and the published tasks are each found again on a retry. Without
    a job that runs a round (or once the applicant is decided on) nothing is made and None is returned.
    """
    from annotations.services.accounts import label_studio_account_ensure
    from annotations.services.qualification import qualification_round_open
    from workforce.models import Contractor

    contractor = Contractor.objects.select_related("user").get(pk=contractor_id)
    label_studio_account_ensure(contractor=contractor)
    try:
        batch = qualification_round_open(contractor=contractor)
    except DomainError as exc:
        logger.warning("no qualification round for contractor %s: %s", contractor_id, exc.message)
        return None
    return batch_publish(batch_id=batch.pk).ls_project_id


@shared_task
def deactivate_label_studio_account(contractor_id: int) -> None:
    from annotations.services.accounts import label_studio_account_deactivate
    from workforce.models import Contractor

    label_studio_account_deactivate(contractor=Contractor.objects.get(pk=contractor_id))


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
def score_annotations(self: Task, annotation_ids: list[int]) -> int:
    """Score a chunk of annotations (a retry redoes only those not scored yet); returns how many have a score."""
    return sum(scoring.score_annotation(annotation_id=pk, attempt=self.request.retries + 1) is not None
               for pk in annotation_ids)


@shared_task(bind=True, acks_late=True)
def rescore_job(self: Task, job_id: int) -> int:
    """Score every live annotation on the job's gold tasks, in chunks; returns how many were queued."""
    ids = scorable_annotation_ids(job_id=job_id)
    scoring.scoring_enqueue(annotation_ids=ids)
    return len(ids)


@shared_task(bind=True, acks_late=True)
def rescore_batch(self: Task, batch_id: int) -> int:
    """Score every live annotation on the batch's gold tasks, in chunks; returns how many were queued."""
    ids = scorable_annotation_ids(batch_id=batch_id)
    scoring.scoring_enqueue(annotation_ids=ids)
    return len(ids)

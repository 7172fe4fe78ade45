"""Celery entry points of the annotations app: take ids, call a service, safe to retry."""
from celery import shared_task

from annotations.labelstudio import LabelStudioUnavailable
from annotations.services.assignment import batches_reclaim_stale
from annotations.services.publishing import batch_publish
from annotations.services.sync import sync_poll


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


@shared_task
def deactivate_label_studio_account(contractor_id: int) -> None:
    from annotations.services.accounts import label_studio_account_deactivate
    from workforce.models import Contractor

    label_studio_account_deactivate(contractor=Contractor.objects.get(pk=contractor_id))

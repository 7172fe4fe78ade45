"""Celery entry points of the annotations app: take ids, call a service, safe to retry."""
from celery import shared_task

from annotations.labelstudio import LabelStudioUnavailable
from annotations.services.publishing import batch_publish


@shared_task(bind=True, autoretry_for=(LabelStudioUnavailable,), retry_backoff=True, retry_backoff_max=600,
             max_retries=10)
def publish_batch(self: object, batch_id: int) -> int | None:
    """Publish one batch to Label Studio; returns its project id."""
    return batch_publish(batch_id=batch_id).ls_project_id

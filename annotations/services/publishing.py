"""Publishing a batch to Label Studio as its own project: its tasks with predictions, plus hidden gold.

Resumable and idempotent: the project is found by its title and each task by the LabelCrew
reference in its data, so a retry after a failure half-way creates nothing twice.
"""
import html
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotations import labelstudio
from annotations.models import Batch, BatchKind, BatchTask, Job
from annotations.selectors.batches import unpublished_batch_ids
from annotations.services import dispatch
from annotations.services.job_progress import job_progress_touch

REF_FIELD = "labelcrew_ref"  # a BatchTask id: says nothing about whether the task is gold


PROJECT_TITLE_MAX = 50  # Label Studio refuses longer project titles


def project_title(batch: Batch) -> str:
    what = "qualification" if batch.kind == BatchKind.QUALIFICATION else f"batch {batch.number}"
    suffix = f" · {what} · lc{batch.pk}"
    return batch.job.name[: PROJECT_TITLE_MAX - len(suffix)].rstrip() + suffix


def image_url(image_path: str) -> str:
    # scripts/labelstudio serves VAR_DIR as Label Studio's local-files root.
    return f"/data/local-files/?d={quote(image_path)}"


def _task_payload(batch_task: BatchTask) -> dict:
    task = batch_task.task
    payload: dict = {"data": {"image": image_url(task.image_path), REF_FIELD: str(batch_task.pk)}}
    if task.prediction:
        payload["predictions"] = [task.prediction]
    return payload


def batch_publish(*, batch_id: int) -> Batch:
    """Make sure the batch's project and every one of its tasks exist in Label Studio; map their ids."""
    batch = Batch.objects.select_related("job").get(pk=batch_id)
    if batch.ls_project_id is None:
        job = batch.job
        instructions = f'<div style="white-space: pre-wrap">{html.escape(job.instructions)}</div>'
        project_id = labelstudio.project_ensure(title=project_title(batch), label_config=job.labeling_config,
                                                instructions=instructions)
        Batch.objects.filter(pk=batch.pk).update(ls_project_id=project_id)
        batch.ls_project_id = project_id
    if settings.LABEL_STUDIO_WEBHOOK_SECRET:
        # Annotations then arrive within a second; the periodic poll catches whatever a webhook missed.
        labelstudio.webhook_ensure(project_id=batch.ls_project_id, url=f"{settings.SITE_URL}/webhooks/label-studio/",
                                   secret=settings.LABEL_STUDIO_WEBHOOK_SECRET,
                                   actions=["ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED"])
    rows = list(batch.batch_tasks.select_related("task").order_by("id"))
    for folder in sorted({str((settings.VAR_DIR / bt.task.image_path).parent) for bt in rows}):
        labelstudio.local_storage_ensure(project_id=batch.ls_project_id, path=folder)
    in_studio = labelstudio.project_task_ids_by_ref(project_id=batch.ls_project_id, ref_field=REF_FIELD)
    missing = [bt for bt in rows if str(bt.pk) not in in_studio]
    if missing:
        labelstudio.tasks_import(project_id=batch.ls_project_id, tasks=[_task_payload(bt) for bt in missing])
        in_studio = labelstudio.project_task_ids_by_ref(project_id=batch.ls_project_id, ref_field=REF_FIELD)
    with transaction.atomic():
        for bt in rows:
            bt.ls_task_id = in_studio.get(str(bt.pk))
        BatchTask.objects.bulk_update(rows, ["ls_task_id"])
        if all(bt.ls_task_id for bt in rows) and batch.published_at is None:
            batch.published_at = timezone.now()
            Batch.objects.filter(pk=batch.pk).update(published_at=batch.published_at)
            job_progress_touch(job_ids=[batch.job_id])
    return batch


def job_publish_enqueue(*, job: Job) -> int:
    """Queue the publishing of each of the job's unpublished batches, after commit; returns how many."""
    return dispatch.tasks_send("publish_batch", ([pk] for pk in unpublished_batch_ids(job_id=job.pk)))

"""Batches become Label Studio projects with predictions and hidden gold, against the real server."""
import socket
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.test import override_settings

from annotations import labelstudio
from annotations.models import Batch, Job
from annotations.services import jobs
from annotations.services.publishing import REF_FIELD, _task_payload, batch_publish
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture

pytestmark = [pytest.mark.labelstudio, pytest.mark.django_db]


@pytest.fixture
def job(sample: Path, label_studio: str) -> Iterator[Job]:  # noqa: F811
    job, _ = jobs.job_create(name="Screens", client="Refurb Co", instructions="Paint <every> defect.",
                             specs=jobs.specs_from_manifest(sample / "manifest.json"), image_source=str(sample),
                             actor=None, batch_size=2, gold_rate=Decimal("0.5"))
    jobs.batches_cut(job=job)
    yield job
    for project_id in Batch.objects.filter(job=job, ls_project_id__isnull=False).values_list("ls_project_id",
                                                                                              flat=True):
        labelstudio.project_delete(project_id=project_id)


def _tasks_in_studio(project_id: int) -> list:
    return labelstudio.call(lambda ls: list(ls.tasks.list(project=project_id, fields="all", page_size=100)),
                            what="list tasks")


def test_a_published_batch_is_a_project_holding_its_tasks_with_predictions_and_hidden_gold(job: Job) -> None:
    batch = job.batches.get(number=1)
    batch_publish(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.ls_project_id is not None
    assert batch.published_at is not None
    rows = list(batch.batch_tasks.order_by("id"))
    assert len(rows) == 3  # two tasks and one hidden gold
    in_studio = {t.id: t for t in _tasks_in_studio(batch.ls_project_id)}
    assert sorted(in_studio) == sorted(bt.ls_task_id for bt in rows)
    for bt in rows:
        task = in_studio[bt.ls_task_id]
        assert task.data[REF_FIELD] == str(bt.pk)
        assert set(task.data) == {"image", REF_FIELD}  # nothing tells a gold task apart
        assert len(task.predictions) == 1
    project = labelstudio.call(lambda ls: ls.projects.get(id=batch.ls_project_id), what="read project")
    assert project.title.startswith("Screens · batch 1")
    assert "&lt;every&gt;" in project.expert_instruction
    # The photo is served to the annotator by Label Studio itself.
    photo = httpx.get(settings.LABEL_STUDIO_URL + in_studio[rows[0].ls_task_id].data["image"], timeout=10,
                      headers={"Authorization": f"Token {settings.LABEL_STUDIO_API_KEY}"})
    assert photo.status_code == 200
    assert photo.headers["content-type"] == "image/jpeg"


def test_publishing_again_or_after_a_partial_import_duplicates_nothing(job: Job) -> None:
    batch = job.batches.get(number=2)
    project_id = labelstudio.project_ensure(title=f"Screens · batch 2 · lc{batch.pk}",
                                            label_config=job.labeling_config, instructions="")
    first = batch.batch_tasks.order_by("id").first()
    labelstudio.tasks_import(project_id=project_id, tasks=[_task_payload(first)])  # as if a retry died here
    batch_publish(batch_id=batch.pk)
    batch_publish(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.ls_project_id == project_id
    assert len(_tasks_in_studio(project_id)) == batch.batch_tasks.count() == 3


def test_label_studio_down_leaves_the_batch_unpublished_and_a_retry_finishes_it(job: Job) -> None:
    batch = job.batches.get(number=3)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with override_settings(LABEL_STUDIO_URL=f"http://127.0.0.1:{closed}"), \
            pytest.raises(labelstudio.LabelStudioUnavailable, match="cannot reach"):
        batch_publish(batch_id=batch.pk)
    batch.refresh_from_db()
    assert (batch.ls_project_id, batch.published_at) == (None, None)
    batch_publish(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.published_at is not None
    assert len(_tasks_in_studio(batch.ls_project_id)) == batch.batch_tasks.count()


def test_project_titles_fit_label_studio_even_for_long_job_names(job: Job) -> None:
    Job.objects.filter(pk=job.pk).update(name="A very long job name for smartphone screen defects, 5472x3648")
    batch = job.batches.get(number=1)
    batch_publish(batch_id=batch.pk)
    batch.refresh_from_db()
    title = labelstudio.call(lambda ls: ls.projects.get(id=batch.ls_project_id), what="read project").title
    assert len(title) <= 50
    assert title.endswith(f" · batch 1 · lc{batch.pk}")

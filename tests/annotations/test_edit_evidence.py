"""Edit evidence on every photo with a pre-annotation: the service, the worker after a sync, and where staff see
it (review queue flag, review page, quality board count beyond gold)."""
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from django.test import Client
from django.utils import timezone

from annotations.models import Annotation, AnnotationEdits, BatchTask, Job, LabelStudioAccount, ReviewState
from annotations.quality.labelstudio_json import brush_result
from annotations.services import jobs
from annotations.services.edit_evidence import annotation_edits_record
from annotations.services.gold import masks_of_task
from annotations.services.sync import annotation_upsert
from config.celery import app
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.factories import ContractorFactory, UserFactory, contractor_in_state, staff_user
from workforce.models import Contractor, OnboardingState


@pytest.fixture
def job(sample: Path) -> Job:  # noqa: F811
    job, _ = jobs.job_create(name="Screens", client="Refurb Co", instructions="Paint every defect.",
                             specs=jobs.specs_from_manifest(sample / "manifest.json"), image_source=str(sample),
                             actor=None, batch_size=2)
    jobs.batches_cut(job=job)
    return job


def _work(job: Job) -> list[BatchTask]:
    return list(BatchTask.objects.filter(batch__job=job, is_gold=False).select_related("task").order_by("id"))


def _annotate(bt: BatchTask, result: list, contractor: Contractor | None = None) -> Annotation:
    return Annotation.objects.create(ls_annotation_id=uuid.uuid4().int % 2_000_000_000, batch_task=bt,
                                     contractor=contractor, result=result, review_state=ReviewState.PENDING,
                                     ls_created_at=timezone.now(), lead_time=60.0)


def _with_a_new_scratch(bt: BatchTask) -> list:
    """The pre-annotation plus a 6 x 5 px scratch in the photo's bottom-right corner, where nothing is painted."""
    task = bt.task
    painted = masks_of_task(task.prediction["result"], task)
    extra = np.zeros((task.height, task.width), bool)
    extra[-8:-2, -7:-2] = True
    assert not any((m & extra).any() for m in painted.values())
    return [*task.prediction["result"], brush_result(extra, label="Scratch", rid="extra")]


@pytest.mark.django_db
def test_an_unchanged_submission_is_flagged_and_an_edit_is_counted_pixel_by_pixel(job: Job) -> None:
    first, second = _work(job)[:2]
    stamped = annotation_edits_record(annotation_id=_annotate(first, first.task.prediction["result"]).pk)
    assert (stamped.unchanged, stamped.pixels_added, stamped.pixels_removed, stamped.per_class) == (True, 0, 0, {})

    edited_annotation = _annotate(second, _with_a_new_scratch(second))
    edited = annotation_edits_record(annotation_id=edited_annotation.pk)
    assert (edited.unchanged, edited.pixels_added, edited.pixels_removed) == (False, 30, 0)
    assert edited.per_class == {"scratch": {"pixels_added": 30, "pixels_removed": 0, "defects_added": 1,
                                            "defects_deleted": 0}}
    again = annotation_edits_record(annotation_id=edited_annotation.pk)  # the same content: not computed again
    assert (again.pk, again.computed_at) == (edited.pk, edited.computed_at)

    Annotation.objects.filter(pk=edited_annotation.pk).update(result=second.task.prediction["result"])
    assert annotation_edits_record(annotation_id=edited_annotation.pk).unchanged  # its new content compared
    assert AnnotationEdits.objects.count() == 2


@pytest.mark.django_db
def test_nothing_is_recorded_without_a_pre_annotation_or_for_deleted_work(job: Job) -> None:
    bt = _work(job)[0]
    bt.task.prediction = {}
    bt.task.save(update_fields=["prediction"])
    assert annotation_edits_record(annotation_id=_annotate(bt, []).pk) is None
    deleted = _annotate(_work(job)[1], [])
    Annotation.objects.filter(pk=deleted.pk).update(deleted=True)
    assert annotation_edits_record(annotation_id=deleted.pk) is None
    assert not AnnotationEdits.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_synced_annotation_on_a_photo_without_gold_gets_its_edits_from_the_worker(job: Job,
                                                                                     celery_worker: str) -> None:
    assert app.amqp.router.route({}, "annotations.tasks.score_edits")["queue"].name == "scoring"
    bt = _work(job)[0]
    BatchTask.objects.filter(pk=bt.pk).update(ls_task_id=710_001)
    contractor = ContractorFactory()
    LabelStudioAccount.objects.create(contractor=contractor, ls_user_id=881_001, email="edit@example.com")
    annotation = annotation_upsert(payload={"id": 991_001, "task": 710_001, "completed_by": 881_001,
                                            "result": bt.task.prediction["result"], "lead_time": 30.0})
    deadline = time.monotonic() + 60
    while not AnnotationEdits.objects.filter(annotation=annotation).exists():
        assert time.monotonic() < deadline, "waited 60 s for the worker's edit evidence"
        time.sleep(0.2)
    assert AnnotationEdits.objects.get(annotation=annotation).unchanged


@pytest.mark.django_db
def test_staff_see_the_flag_in_the_queue_the_changes_on_the_review_page_and_the_count_on_the_board(
        job: Job) -> None:
    ana = contractor_in_state(OnboardingState.ACTIVE, user=UserFactory(email="ana-edits@example.org"))
    first, second = _work(job)[:2]
    stamped = _annotate(first, first.task.prediction["result"], ana)
    edited = _annotate(second, _with_a_new_scratch(second), ana)
    for annotation in (stamped, edited):
        annotation_edits_record(annotation_id=annotation.pk)
    staff = Client()
    staff.force_login(staff_user())

    queue = staff.get("/console/review/").content.decode()
    rows = {a.ls_annotation_id: queue.split(f">#{a.ls_annotation_id}<")[1].split("</tr>")[0]
            for a in (stamped, edited)}
    assert "pre-annotation submitted unchanged" in rows[stamped.ls_annotation_id]
    assert "pre-annotation submitted unchanged" not in rows[edited.ls_annotation_id]
    assert "Submitted unchanged" in staff.get(f"/console/review/{stamped.pk}/").content.decode()
    page = staff.get(f"/console/review/{edited.pk}/").content.decode()
    assert "30 px added, 0 px removed" in page
    assert "scratch: +30 / -0 px, 1 defect(s) added, 0 deleted" in page
    board = staff.get("/console/quality/").content.decode()
    row = board.split("ana-edits@example.org")[1].split("</tr>")[0]
    assert '<td data-testid="unchanged"><strong class="bad">⚑ 1</strong> of 2</td>' in row

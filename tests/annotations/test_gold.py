"""The gold store: versions from the sample job, reviewers' promotions and Label Studio imports."""
import copy
import json
import uuid
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone

from annotations.models import Annotation, BatchTask, GoldSource, GoldVersion, Job, ReviewState, Task
from annotations.quality.rle import mask_to_rle
from annotations.services import jobs
from annotations.services.gold import gold_current, gold_import, gold_set
from annotations.services.publishing import REF_FIELD, image_url
from annotations.services.review import annotation_accept, annotation_promote_to_gold
from common.errors import DomainError
from tests.annotations.test_jobs import create_sample_job, sample  # noqa: F401 - sample: a module fixture
from tests.factories import staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(sample: Path) -> Job:  # noqa: F811
    job, _ = create_sample_job(sample, batch_size=2)
    jobs.batches_cut(job=job)
    return job


def _task(job: Job, n: int = 0) -> Task:
    return job.tasks.order_by("id")[n]


def _brush(mask: np.ndarray, label: str = "Scratch") -> dict:
    return {"type": "brushlabels", "original_height": mask.shape[0], "original_width": mask.shape[1],
            "from_name": "defect", "to_name": "image",
            "value": {"format": "rle", "rle": mask_to_rle(mask), "brushlabels": [label]}}


def _broken(result: list) -> list:
    """The same results with the first mask's RLE cut short."""
    broken = copy.deepcopy(result)
    broken[0]["value"]["rle"] = broken[0]["value"]["rle"][:5]
    return broken


def test_a_sample_task_gets_its_gold_recorded_as_version_1_once(job: Job) -> None:
    task = _task(job)
    first = gold_current(task)
    assert (first.version, first.source, first.result) == (1, GoldSource.SAMPLE, task.gold_result)
    assert gold_current(task).pk == first.pk
    assert GoldVersion.objects.filter(task=task).count() == 1


def test_setting_gold_adds_the_next_version_and_keeps_the_task_in_step(job: Job) -> None:
    task = _task(job)
    staff = staff_user()
    new_result = task.prediction["result"]
    gold = gold_set(task=task, result=new_result, source=GoldSource.IMPORT, actor=staff)
    task.refresh_from_db()
    assert (gold.version, gold.source, gold.created_by) == (2, GoldSource.IMPORT, staff)
    assert task.gold_result == new_result
    assert gold_current(task).pk == gold.pk
    assert list(task.gold_versions.values_list("version", flat=True)) == [2, 1]


def test_setting_the_same_gold_again_is_not_a_new_version(job: Job) -> None:
    task = _task(job)
    first = gold_current(task)
    assert gold_set(task=task, result=task.gold_result, source=GoldSource.IMPORT).pk == first.pk
    assert task.gold_versions.count() == 1


@pytest.mark.parametrize(("make_result", "expected"), [
    (_broken, "bad RLE"),
    (lambda r: [_brush(np.ones((213, 320), bool))], "masks are 320x213 but the photo is 640x427"),
    (lambda r: {"result": r}, "must be a list"),
])
def test_gold_that_does_not_decode_is_refused_naming_the_result(job: Job, make_result: object,
                                                                expected: str) -> None:
    task = _task(job)
    with pytest.raises(DomainError, match=expected) as caught:
        gold_set(task=task, result=make_result(task.gold_result), source=GoldSource.IMPORT)
    assert caught.value.field == "result"
    assert caught.value.message.startswith("result:")
    assert not task.gold_versions.exclude(version=1).exists()


def test_a_photo_without_defects_can_be_gold(job: Job) -> None:
    task = _task(job)
    assert gold_set(task=task, result=[], source=GoldSource.IMPORT).version == 2


def test_promoting_an_accepted_annotation_makes_a_promoted_gold_version_naming_it(job: Job) -> None:
    bt = BatchTask.objects.filter(batch__job=job, is_gold=False).select_related("task").first()
    reviewer = staff_user()
    annotation = Annotation.objects.create(ls_annotation_id=uuid.uuid4().int % 2_000_000_000, batch_task=bt,
                                           result=bt.task.prediction["result"], ls_created_at=timezone.now())
    annotation_accept(annotation=annotation, reviewer=reviewer)
    annotation_promote_to_gold(annotation=annotation, reviewer=reviewer)
    gold = gold_current(bt.task)
    assert (gold.version, gold.source, gold.source_annotation, gold.created_by) == (
        2, GoldSource.PROMOTED, annotation, reviewer)
    bt.task.refresh_from_db()
    assert bt.task.gold_result == annotation.result
    annotation.refresh_from_db()
    assert annotation.review_state == ReviewState.ACCEPTED


def test_an_unreadable_annotation_cannot_be_promoted(job: Job) -> None:
    bt = BatchTask.objects.filter(batch__job=job, is_gold=False).select_related("task").first()
    reviewer = staff_user()
    annotation = Annotation.objects.create(ls_annotation_id=uuid.uuid4().int % 2_000_000_000, batch_task=bt,
                                           result=_broken(bt.task.prediction["result"]))
    annotation_accept(annotation=annotation, reviewer=reviewer)
    with pytest.raises(DomainError, match="bad RLE"):
        annotation_promote_to_gold(annotation=annotation, reviewer=reviewer)
    assert not annotation.reviews.filter(decision="promote").exists()


# --- import of a Label Studio export ---------------------------------------------------------

def _export_item(data: dict, result: list, **annotation: object) -> dict:
    return {"id": uuid.uuid4().int % 100_000, "data": data, "predictions": [],
            "annotations": [{"id": 1, "result": result, "was_cancelled": False, **annotation}]}


def test_an_export_is_matched_by_labelcrew_reference_image_path_or_file_name(job: Job) -> None:
    by_ref, by_path, by_name, untouched = (_task(job, n) for n in range(4))
    bt = by_ref.batch_tasks.first()
    other = by_ref.prediction["result"]
    document = [
        _export_item({"image": image_url(by_ref.image_path), REF_FIELD: str(bt.pk)}, other),
        _export_item({"image": image_url(by_path.image_path)}, by_path.prediction["result"]),
        _export_item({"image": f"/data/upload/3/{Path(by_name.image_path).name}"}, by_name.prediction["result"]),
        # The same gold as now: no new version, not counted.
        _export_item({"image": image_url(untouched.image_path)}, untouched.gold_result),
        # Skipped in Label Studio: nothing to import.
        {"data": {"image": image_url(_task(job, 4).image_path)}, "annotations": [{"result": [],
                                                                                  "was_cancelled": True}]},
    ]
    assert gold_import(job=job, document=json.dumps(document)) == 3
    for task in (by_ref, by_path, by_name):
        gold = gold_current(task)
        assert (gold.version, gold.source, gold.result) == (2, GoldSource.IMPORT, task.prediction["result"])
    assert gold_current(untouched).version == 1
    assert not GoldVersion.objects.filter(task=_task(job, 4)).exists()


def test_the_ground_truth_annotation_of_a_task_is_the_one_imported(job: Job) -> None:
    task = _task(job)
    item = _export_item({"image": image_url(task.image_path)}, task.gold_result)
    item["annotations"].append({"id": 2, "result": task.prediction["result"], "ground_truth": True})
    gold_import(job=job, document=[item])
    assert gold_current(task).result == task.prediction["result"]


@pytest.mark.parametrize(("document", "expected"), [
    ("{not json", "not JSON"),
    ({"tasks": []}, "is a list of tasks"),
    ([{"annotations": []}], "has no 'data' object"),
    ([{"data": {"image": "/data/upload/1/elsewhere.jpg"}, "annotations": []}], "no photo of the job is named"),
    ([{"data": {REF_FIELD: "999999999"}, "annotations": []}], "is not a task of the job"),
])
def test_a_bad_export_is_refused_saying_what_is_wrong(job: Job, document: object, expected: str) -> None:
    with pytest.raises(DomainError, match=expected) as caught:
        gold_import(job=job, document=document)
    assert caught.value.field == "document"


def test_one_unreadable_task_refuses_the_whole_export(job: Job) -> None:
    good, bad = _task(job, 0), _task(job, 1)
    document = [_export_item({"image": image_url(good.image_path)}, good.prediction["result"]),
                _export_item({"image": image_url(bad.image_path)}, _broken(bad.gold_result))]
    with pytest.raises(DomainError, match=r"task #1 .*screen_0002.*bad RLE"):
        gold_import(job=job, document=document)
    assert not GoldVersion.objects.filter(version__gt=1).exists()
    good.refresh_from_db()
    assert good.gold_result != good.prediction["result"]

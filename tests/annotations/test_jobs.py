"""Jobs from a sample job or a folder: validation, idempotency, batches with hidden gold."""
import shutil
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from annotations.models import Batch, BatchTask, Job, Task
from annotations.services import jobs
from common.errors import DomainError
from demo.sample_job import generate_sample_job
from payroll.selectors.terms import pay_terms_at


@pytest.fixture(scope="module")
def sample() -> Iterator[Path]:
    """A small sample job under var/, where Label Studio serves photos from."""
    out = settings.VAR_DIR / "test-jobs" / uuid.uuid4().hex / "sample"
    generate_sample_job(out=out, images=5, width=640, height=427, seed=11)
    yield out
    shutil.rmtree(out.parent)


def create_sample_job(sample: Path, **kwargs: object) -> tuple[Job, int]:
    """The sample job ("Screens" for Refurb Co) from its manifest; kwargs go to job_create."""
    return jobs.job_create(name="Screens", client="Refurb Co", instructions="Paint every defect.",
                           specs=jobs.specs_from_manifest(sample / "manifest.json"), image_source=str(sample),
                           actor=None, **kwargs)


@pytest.mark.django_db
def test_creating_a_job_from_a_sample_manifest_stores_tasks_with_predictions_and_gold(sample: Path) -> None:
    job, added = create_sample_job(sample)
    assert added == 5
    task = job.tasks.order_by("id").first()
    assert (task.width, task.height) == (640, 427)
    assert task.image_path.endswith("images/screen_0001.jpg")
    assert not task.image_path.startswith("/")
    assert task.prediction["model_version"] == "sample-defect-model-v1"
    assert task.gold_result[0]["type"] == "brushlabels"
    assert [c["key"] for c in job.label_classes][:2] == ["scratch", "pit"]
    assert "<BrushLabels" in job.labeling_config
    assert pay_terms_at(job=job, moment=job.created_at).hourly_rate == Decimal("2.00")


@pytest.mark.django_db
def test_running_it_again_with_the_same_photos_creates_nothing_new(sample: Path) -> None:
    first, _ = create_sample_job(sample)
    again, added = create_sample_job(sample)
    assert again.pk == first.pk
    assert added == 0
    assert Task.objects.count() == 5


@pytest.mark.django_db
def test_a_corrupt_photo_refuses_the_whole_folder_and_writes_nothing(sample: Path, tmp_path: Path) -> None:
    folder = settings.VAR_DIR / "test-jobs" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    try:
        shutil.copy(sample / "images" / "screen_0001.jpg", folder / "a.jpg")
        (folder / "b.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
        with pytest.raises(DomainError, match=r"b\.jpg is not a readable image") as caught:
            jobs.job_create(name="Folder", client="C", instructions="", specs=jobs.specs_from_folder(folder),
                            image_source=str(folder), actor=None)
        assert caught.value.field == "images"
        assert not Job.objects.exists()
        assert not Task.objects.exists()
    finally:
        shutil.rmtree(folder)


@pytest.mark.django_db
def test_a_duplicate_photo_is_refused_naming_both_files(sample: Path) -> None:
    folder = settings.VAR_DIR / "test-jobs" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    try:
        shutil.copy(sample / "images" / "screen_0001.jpg", folder / "a.jpg")
        shutil.copy(sample / "images" / "screen_0001.jpg", folder / "b.jpg")
        with pytest.raises(DomainError, match=r"b\.jpg is the same photo as a\.jpg"):
            jobs.job_create(name="Folder", client="C", instructions="", specs=jobs.specs_from_folder(folder),
                            image_source=str(folder), actor=None)
        assert not Task.objects.exists()
    finally:
        shutil.rmtree(folder)


@pytest.mark.django_db
def test_photos_outside_var_and_wrong_manifest_sizes_are_refused(sample: Path, tmp_path: Path) -> None:
    shutil.copy(sample / "images" / "screen_0001.jpg", tmp_path / "a.jpg")
    with pytest.raises(DomainError, match="outside"):
        jobs.job_create(name="Out", client="C", instructions="", specs=jobs.specs_from_folder(tmp_path),
                        image_source=str(tmp_path), actor=None)
    spec = jobs.specs_from_manifest(sample / "manifest.json")[0]
    lying = jobs.ImageSpec(key=spec.key, path=spec.path, width=5472, height=3648)
    with pytest.raises(DomainError, match="the manifest says 5472x3648"):
        jobs.job_create(name="Lie", client="C", instructions="", specs=[lying], image_source="x", actor=None)
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_tasks_are_cut_into_batches_of_the_job_size_with_hidden_gold_from_other_tasks(sample: Path) -> None:
    job, _ = create_sample_job(sample, batch_size=2, gold_rate=Decimal("0.5"))
    batches = jobs.batches_cut(job=job)
    assert [b.number for b in batches] == [1, 2, 3]
    regular = [list(b.batch_tasks.filter(is_gold=False).values_list("task_id", flat=True)) for b in batches]
    assert [len(r) for r in regular] == [2, 2, 1]
    assert len({pk for r in regular for pk in r}) == 5  # every task in exactly one batch
    for batch, tasks in zip(batches, regular, strict=True):
        gold = list(batch.batch_tasks.filter(is_gold=True).values_list("task_id", flat=True))
        assert len(gold) == 1
        assert gold[0] not in tasks
    assert jobs.batches_cut(job=job) == []  # nothing left to cut
    assert Batch.objects.count() == 3
    assert BatchTask.objects.filter(is_gold=True).count() == 3

"""A job whose photos go to several annotators: each photo cut into that many different batches, and never given
twice to one person, by hand or by auto-assign."""
from collections import Counter
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from annotations.models import Batch, BatchTask, Job
from annotations.services import jobs
from annotations.services.assignment import batch_assign, batches_auto_assign
from common.errors import DomainError
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.factories import UserFactory, contractor_in_state
from workforce.models import OnboardingState

pytestmark = pytest.mark.django_db


def _job(sample: Path, annotators: int, **fields: object) -> Job:  # noqa: F811
    job, _ = jobs.job_create(name=f"Overlap {annotators}", client="Refurb Co", instructions="Paint.",
                             specs=jobs.specs_from_manifest(sample / "manifest.json"), image_source=str(sample),
                             actor=None, annotators_per_photo=annotators, **fields)
    jobs.batches_cut(job=job)
    Batch.objects.filter(job=job).update(published_at=timezone.now())  # publishing is tested against Label Studio
    return job


def test_each_photo_is_cut_into_as_many_different_batches_as_annotators(sample: Path) -> None:  # noqa: F811
    job = _job(sample, 3, batch_size=2, gold_rate=0)
    work = BatchTask.objects.filter(batch__job=job, is_gold=False)
    assert Counter(work.values_list("task_id", flat=True)) == {t.pk: 3 for t in job.tasks.all()}
    pairs = list(work.values_list("task_id", "batch_id"))
    assert len(set(pairs)) == len(pairs) == 15  # 5 photos x 3, never twice in one batch
    assert job.batches.count() == 9  # 3 passes of 5 photos in batches of 2
    assert jobs.batches_cut(job=job) == []  # cutting again adds nothing
    with pytest.raises(DomainError, match="annotators_per_photo: between 1 and 5"):
        jobs.job_create(name="Six", client="c", instructions="i", specs=[], image_source="x", actor=None,
                        annotators_per_photo=6)


def test_a_photo_is_never_given_twice_to_one_person_by_hand_or_by_auto_assign(sample: Path) -> None:  # noqa: F811
    job = _job(sample, 2, batch_size=5, gold_rate=0)  # batch 1 and batch 2 hold the same 5 photos
    staff = UserFactory(is_staff=True)
    ana = contractor_in_state(OnboardingState.ACTIVE)
    first, second = job.batches.order_by("number")
    batch_assign(batch=first, contractor=ana, actor=staff)
    with pytest.raises(DomainError, match=r"Batch #2 holds 5 photo\(s\) .* already had in another batch; each of "
                                          r"this job's photos goes to 2 different people"):
        batch_assign(batch=second, contractor=ana, actor=staff)
    assert batches_auto_assign(job=job, actor=staff) == []  # Ana is the only one: nobody else may take it
    ben = contractor_in_state(OnboardingState.ACTIVE)
    (event,) = batches_auto_assign(job=job, actor=staff)
    assert (event.batch_id, event.contractor_id) == (second.pk, ben.pk)


def test_a_job_with_one_annotator_per_photo_assigns_as_before(sample: Path) -> None:  # noqa: F811
    job = _job(sample, 1, batch_size=1, gold_rate=0)
    staff = UserFactory(is_staff=True)
    ana = contractor_in_state(OnboardingState.ACTIVE)
    for batch in job.batches.order_by("number")[:2]:
        batch_assign(batch=batch, contractor=ana, actor=staff)
    assert job.batches.filter(assigned_to=ana).count() == 2


def test_the_new_job_form_takes_annotators_per_photo_and_the_page_shows_it(sample: Path) -> None:  # noqa: F811
    staff = Client()
    staff.force_login(UserFactory(is_staff=True))
    response = staff.post("/console/jobs/new/", {
        "name": "Triple", "client": "Refurb Co", "instructions": "Paint.", "source_kind": "manifest",
        "source_path": str(sample / "manifest.json"), "classes": "scratch | Scratch | #e6194b",
        "batch_size": 5, "gold_rate": "0", "quality_threshold": "0.5", "annotators_per_photo": 3,
        "hourly_rate": "2.00", "weekly_cap_hours": "20"})
    job = Job.objects.get(name="Triple")
    assert response.status_code == 302
    assert (job.annotators_per_photo, job.batches.count()) == (3, 3)
    assert "3 annotators per photo" in staff.get(f"/console/jobs/{job.pk}/").content.decode()
    refused = staff.post("/console/jobs/new/", {"name": "Nine", "annotators_per_photo": 9})
    assert "annotators_per_photo" in refused.context["form"].errors

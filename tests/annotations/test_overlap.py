"""A job whose photos go to several annotators: each photo cut into that many different batches, and never given
twice to one person, by hand or by auto-assign."""
import io
import json
import time
import uuid
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from PIL import Image

from annotations.models import (
    Annotation,
    Batch,
    BatchTask,
    DeliveryState,
    Job,
    LabelStudioAccount,
    PhotoAgreement,
    ReviewState,
)
from annotations.quality.labelstudio_json import brush_result
from annotations.services import jobs
from annotations.services.agreement import photo_agreement_record, photo_merged_accept
from annotations.services.assignment import batch_assign, batches_auto_assign
from annotations.services.gold import masks_of_task
from annotations.services.review import annotation_accept
from annotations.services.sync import annotation_upsert
from common.errors import Conflict, DomainError
from config.celery import app
from tests.annotations.test_delivery import _deliver, _deliveries_removed  # noqa: F401 - its ZIPs are removed
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.factories import ContractorFactory, contractor_in_state, staff_user
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
    staff = staff_user()
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
    staff = staff_user()
    ana = contractor_in_state(OnboardingState.ACTIVE)
    for batch in job.batches.order_by("number")[:2]:
        batch_assign(batch=batch, contractor=ana, actor=staff)
    assert job.batches.filter(assigned_to=ana).count() == 2


def test_the_new_job_form_takes_annotators_per_photo_and_the_page_shows_it(sample: Path) -> None:  # noqa: F811
    staff = Client()
    staff.force_login(staff_user())
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


# --- agreement between the annotators of a photo ------------------------------------------------------------

def _submit(bt: BatchTask, contractor: object, result: list) -> Annotation:
    return Annotation.objects.create(ls_annotation_id=uuid.uuid4().int % 2_000_000_000, batch_task=bt,
                                     contractor=contractor, result=result, ls_created_at=timezone.now())


def test_the_agreement_of_a_photo_follows_its_annotators_latest_submissions(sample: Path) -> None:  # noqa: F811
    job = _job(sample, 2, batch_size=5, gold_rate=0)
    ana, ben = (contractor_in_state(OnboardingState.ACTIVE) for _ in range(2))
    first, second = job.batches.order_by("number")
    task = job.tasks.order_by("key").first()
    mine, theirs = (b.batch_tasks.get(task=task) for b in (first, second))
    painted = {r["value"]["brushlabels"][0] for r in task.prediction["result"]}
    _submit(mine, ana, task.prediction["result"])
    assert photo_agreement_record(task_id=task.pk) is None  # one annotator: nothing to compare yet
    bens = _submit(theirs, ben, task.prediction["result"])
    same = photo_agreement_record(task_id=task.pk)
    assert (same.iou, same.dice, same.instance_f1) == (1.0, 1.0, 1.0)
    label = {c["key"]: c["label"] for c in job.label_classes}
    assert {label[k] for k in same.per_class} == painted
    Annotation.objects.filter(pk=bens.pk).update(result=[])  # Ben's fix: nothing painted at all
    apart = photo_agreement_record(task_id=task.pk)
    assert apart.pk == same.pk
    assert (apart.iou, apart.dice) == (0.0, 0.0)
    assert PhotoAgreement.objects.count() == 1
    Annotation.objects.filter(pk=bens.pk).update(deleted=True)
    assert photo_agreement_record(task_id=task.pk) is None
    assert not PhotoAgreement.objects.exists()


def test_the_job_page_lists_the_least_agreed_photos_first_and_review_shows_the_photos_agreement(
        sample: Path) -> None:  # noqa: F811
    job = _job(sample, 2, batch_size=5, gold_rate=0)
    ana, ben = (contractor_in_state(OnboardingState.ACTIVE) for _ in range(2))
    first, second = job.batches.order_by("number")
    agreed, apart = job.tasks.order_by("key")[:2]
    for task, bens_result in ((agreed, agreed.prediction["result"]), (apart, [])):
        _submit(first.batch_tasks.get(task=task), ana, task.prediction["result"])
        _submit(second.batch_tasks.get(task=task), ben, bens_result)
        photo_agreement_record(task_id=task.pk)
    staff = Client()
    staff.force_login(staff_user())
    page = staff.get(f"/console/jobs/{job.pk}/")
    assert [a.task.key for a in page.context["agreements"]] == [apart.key, agreed.key]
    assert "Agreement between annotators" in page.content.decode()
    review = staff.get(f"/console/review/{PhotoAgreement.objects.get(task=apart).annotation_ids[0]}/")
    assert "Agreement of the photo's 2 annotators: IoU 0.00" in review.content.decode()
    single = _job(sample, 1, batch_size=5, gold_rate=0)
    assert staff.get(f"/console/jobs/{single.pk}/").context["agreements"] is None


@pytest.mark.django_db(transaction=True)
def test_a_synced_submission_on_a_shared_photo_gets_the_agreement_from_the_worker(
        sample: Path, celery_worker: str) -> None:  # noqa: F811
    assert app.amqp.router.route({}, "annotations.tasks.score_agreement")["queue"].name == "scoring"
    job = _job(sample, 2, batch_size=5, gold_rate=0)
    first, second = job.batches.order_by("number")
    task = job.tasks.order_by("key").first()
    _submit(first.batch_tasks.get(task=task), ContractorFactory(), task.prediction["result"])
    BatchTask.objects.filter(pk=second.batch_tasks.get(task=task).pk).update(ls_task_id=720_001)
    LabelStudioAccount.objects.create(contractor=ContractorFactory(), ls_user_id=882_001, email="agree@example.com")
    annotation_upsert(payload={"id": 992_001, "task": 720_001, "completed_by": 882_001,
                               "result": task.prediction["result"], "lead_time": 30.0})
    deadline = time.monotonic() + 60
    while not PhotoAgreement.objects.filter(task=task).exists():
        assert time.monotonic() < deadline, "waited 60 s for the worker's agreement"
        time.sleep(0.2)
    assert PhotoAgreement.objects.get(task=task).iou == 1.0


# --- the merged mask, accepted and delivered ----------------------------------------------------------------

def _scratch(task: object, top: int, left: int) -> dict:
    mask = np.zeros((task.height, task.width), bool)
    mask[top:top + 6, left:left + 9] = True
    return brush_result(mask, label="Scratch", rid=f"s{top}-{left}")


def test_a_reviewer_accepts_the_merged_mask_and_the_delivery_carries_it_with_the_agreement(
        sample: Path) -> None:  # noqa: F811
    job = _job(sample, 3, batch_size=5, gold_rate=0)
    staff = staff_user()
    crew = [contractor_in_state(OnboardingState.ACTIVE) for _ in range(3)]
    photos = list(job.tasks.order_by("id"))
    first = photos[0]
    base = first.prediction["result"]
    extra_a, extra_b = _scratch(first, 4, 4), _scratch(first, 20, 300)
    # Ana: the pre-annotation; Ben: it and scratch A; Cara: it and scratches A and B. The majority: it and A.
    results = [base, [*base, extra_a], [*base, extra_a, extra_b]]
    submitted = {}
    for person, batch, result in zip(crew, job.batches.order_by("number"), results, strict=True):
        for task in photos:
            submitted[(person.pk, task.pk)] = _submit(batch.batch_tasks.get(task=task), person,
                                                      result if task == first else task.prediction["result"])
    for task in photos:
        photo_agreement_record(task_id=task.pk)
    with pytest.raises(Conflict, match="has no merged mask"):
        photo_merged_accept(task=_job(sample, 1, batch_size=5, gold_rate=0).tasks.first(), reviewer=staff)

    record = photo_merged_accept(task=first, reviewer=staff)
    assert record.merged_accepted_by == staff
    assert {submitted[(p.pk, first.pk)].review_state for p in crew} == {ReviewState.PENDING}  # objects in memory
    assert set(Annotation.objects.filter(batch_task__task=first).values_list("review_state", flat=True)) == {
        ReviewState.ACCEPTED}
    for task in photos[1:]:
        annotation_accept(annotation=submitted[(crew[0].pk, task.pk)], reviewer=staff)

    delivery = _deliver(job, staff)
    assert delivery.state == DeliveryState.DONE, delivery.error
    top = delivery.report["delivery"]["folder"]
    with zipfile.ZipFile(settings.VAR_DIR / delivery.zip_path) as archive:
        with Image.open(io.BytesIO(archive.read(f"{top}/masks/{first.key}/scratch.png"))) as png:
            delivered = np.asarray(png) > 0
        studio = {item["data"]["key"]: item for item in json.loads(archive.read(f"{top}/labelstudio.json"))}
    bens = masks_of_task(results[1], first)["Scratch"]
    assert np.array_equal(delivered, bens)  # the majority of the three is Ben's mask, pixel for pixel
    made = studio[first.key]["annotations"][0]
    assert made["id"] is None
    assert made["merged_from"] == sorted(submitted[(p.pk, first.pk)].ls_annotation_id for p in crew)
    photo = next(p for p in delivery.report["photos"] if p["key"] == first.key)
    assert photo["label_studio_annotation"] is None
    assert photo["agreement_iou"] == PhotoAgreement.objects.get(task=first).iou < 1
    summary = delivery.report["agreement"]
    assert (summary["photos"], summary["merged"]) == (5, 1)
    assert 0 < summary["iou"] < 1

    # A changed submission makes a new merged mask, which a reviewer must accept again.
    Annotation.objects.filter(pk=submitted[(crew[2].pk, first.pk)].pk).update(result=base)
    assert photo_agreement_record(task_id=first.pk).merged_accepted_at is None


def test_the_review_page_offers_the_merged_mask_only_for_a_photo_with_several_annotators(
        sample: Path) -> None:  # noqa: F811
    job = _job(sample, 2, batch_size=5, gold_rate=0)
    ana, ben = (contractor_in_state(OnboardingState.ACTIVE) for _ in range(2))
    first, second = job.batches.order_by("number")
    task = job.tasks.order_by("id").first()
    mine = _submit(first.batch_tasks.get(task=task), ana, task.prediction["result"])
    staff = Client()
    staff.force_login(staff_user())
    assert "Accept the merged mask" not in staff.get(f"/console/review/{mine.pk}/").content.decode()
    _submit(second.batch_tasks.get(task=task), ben, [])
    photo_agreement_record(task_id=task.pk)
    assert "Accept the merged mask" in staff.get(f"/console/review/{mine.pk}/").content.decode()
    response = staff.post(f"/console/review/{mine.pk}/", {"decision": "merge"})
    assert response.status_code == 302
    assert PhotoAgreement.objects.get(task=task).merged_accepted_at is not None
    assert set(Annotation.objects.filter(batch_task__task=task).values_list("review_state", flat=True)) == {
        ReviewState.ACCEPTED}

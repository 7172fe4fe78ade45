"""Delivering a job's accepted masks to its client: what the ZIP holds, refusals, the signed link, immutability,
the report's figures. The workers' steps run in-process here (tests/test_bench_smoke.py runs them through Celery)."""
import hashlib
import io
import itertools
import json
import shutil
import time
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import cv2
import numpy as np
import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone
from PIL import Image
from pycocotools import mask as coco_mask

from annotations import batch_life
from annotations.models import (
    Annotation,
    BatchState,
    BatchTask,
    Delivery,
    DeliveryState,
    Job,
    LabelStudioAccount,
    QualityScore,
    ScoreState,
)
from annotations.quality.labelstudio_json import brush_result
from annotations.selectors.deliveries import delivery_link_token
from annotations.services import delivery as delivering
from annotations.services import jobs
from annotations.services.gold import gold_current, masks_of_task
from annotations.services.hand_in import batch_hand_in
from annotations.services.review import annotation_accept, annotation_rework
from annotations.services.sync import annotation_upsert
from common.errors import DomainError
from config.celery import app
from payroll.services.entries import time_entry_create
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.factories import ContractorFactory, staff_user
from workforce.models import Contractor, User

_ids = itertools.count(uuid.uuid4().int % 1_000_000 * 1000)
WORKED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday: the entries stay in one pay week


@pytest.fixture(autouse=True)
def _deliveries_removed() -> Iterator[None]:
    """The ZIPs the deliveries write under VAR_DIR/deliveries/ go with the test."""
    folder = settings.VAR_DIR / delivering.DELIVERY_DIR
    before = set(folder.iterdir()) if folder.is_dir() else set()
    yield
    for path in (set(folder.iterdir()) if folder.is_dir() else set()) - before:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def staff() -> User:
    return staff_user()


@pytest.fixture
def job(sample: Path) -> Job:  # noqa: F811
    """The five-photo sample job in batches of two photos, each with one hidden gold photo of another batch."""
    job, _ = jobs.job_create(name="Screens", client="Refurb Co", instructions="Paint every defect.",
                             specs=jobs.specs_from_manifest(sample / "manifest.json"), image_source=str(sample),
                             actor=None, batch_size=2, gold_rate=Decimal("0.5"), hourly_rate=Decimal("2.00"))
    jobs.batches_cut(job=job)
    return job


@pytest.fixture
def crew(job: Job) -> list[Contractor]:
    """Ana holds batches 1 and 2, Ben batch 3; each has a Label Studio user, and every task a Label Studio id.

    Assignment and publishing talk to Label Studio, so the holders and ids are set as those services leave them."""
    people = []
    for name in ("ana", "ben"):
        contractor = ContractorFactory()
        LabelStudioAccount.objects.create(contractor=contractor, ls_user_id=next(_ids), email=f"{name}@example.com")
        people.append(contractor)
    for batch in job.batches.order_by("number"):
        holder = people[0] if batch.number < 3 else people[1]
        # Through the batch's state machine, on a clock set a day before the work: its history says from when
        # the holder held it, and time is logged only then.
        with time_machine.travel(WORKED - timedelta(days=1), tick=False):
            batch_life.transition(batch=batch, to_state=BatchState.ASSIGNED, assigned_to=holder,
                                  assigned_at=WORKED - timedelta(days=1))
            batch_life.transition(batch=batch, to_state=BatchState.IN_PROGRESS, started_at=WORKED - timedelta(days=1))
    for bt in BatchTask.objects.filter(batch__job=job):
        BatchTask.objects.filter(pk=bt.pk).update(ls_task_id=next(_ids))
    return people


def _own(job: Job) -> list[BatchTask]:
    """The photos' own (non-gold) batch tasks, in photo order."""
    return list(BatchTask.objects.filter(batch__job=job, is_gold=False).select_related("task", "batch__assigned_to")
                .order_by("task_id"))


def _answer(bt: BatchTask, result: list, *, at: datetime = WORKED) -> Annotation:
    """The batch holder's answer, as the Label Studio sync stores it."""
    account = bt.batch.assigned_to.label_studio_account
    return annotation_upsert(payload={"id": next(_ids), "task": bt.ls_task_id, "completed_by": account.ls_user_id,
                                      "result": result, "lead_time": 60.0, "created_at": at.isoformat()})


def _accept_all(job: Job, staff: User, *, skip: int = 0) -> dict[int, Annotation]:
    """Every photo answered with its gold masks (hidden gold too), every batch handed in by its holder, and every
    photo but the last `skip` accepted; task id -> accepted annotation."""
    answers = {bt.pk: _answer(bt, bt.task.gold_result)
               for bt in BatchTask.objects.filter(batch__job=job, ls_task_id__isnull=False)
               .select_related("task", "batch__assigned_to")}  # a test's own gold rows have their own answers
    for batch in job.batches.select_related("assigned_to"):
        batch_hand_in(batch=batch, contractor=batch.assigned_to)
    own = _own(job)
    return {bt.task_id: annotation_accept(annotation=answers[bt.pk], reviewer=staff)
            for bt in own[:len(own) - skip]}


def _deliver(job: Job, staff: User, *, partial: bool = False) -> Delivery:
    """Start a delivery and run the workers' steps in-process, in the tasks the build step would queue."""
    started = delivering.delivery_start(job=job, actor=staff, partial=partial)
    delivering.delivery_build(delivery_id=started.pk)
    task_ids = [task_id for task_id, *_ in started.items]
    for i in range(0, len(task_ids), 2):
        delivering.delivery_write_photos(delivery_id=started.pk, task_ids=task_ids[i:i + 2])
    started.refresh_from_db()
    return started


def _archive(delivery: Delivery) -> zipfile.ZipFile:
    return zipfile.ZipFile(settings.VAR_DIR / delivery.zip_path)


def _png_mask(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "1"
        return np.asarray(image) > 0


def _decoded(segmentation: dict) -> np.ndarray:
    return coco_mask.decode({"size": segmentation["size"], "counts": segmentation["counts"].encode()}).astype(bool)


# --- what is delivered -------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_zip_holds_each_photos_class_pngs_and_coco_instances_that_are_their_components_bit_for_bit(
        job: Job, crew: list[Contractor], staff: User) -> None:
    accepted = _accept_all(job, staff)
    delivery = _deliver(job, staff)
    assert (delivery.state, delivery.number, delivery.partial) == (DeliveryState.DONE, 1, False)
    assert delivery.photos_written == delivery.photos_total == 5
    top = delivery.report["delivery"]["folder"]
    with _archive(delivery) as archive:
        coco = json.loads(archive.read(f"{top}/coco.json"))
        studio = json.loads(archive.read(f"{top}/labelstudio.json"))
        assert json.loads(archive.read(f"{top}/report.json")) == delivery.report
        pngs = {name: archive.read(name) for name in archive.namelist() if name.endswith(".png")}
        assert sum(name.startswith(f"{top}/thumbnails/") for name in archive.namelist()) == 5
    assert len(pngs) == 5 * len(job.label_classes)
    categories = {c["id"]: c["name"] for c in coco["categories"]}
    assert list(categories.values()) == [c["key"] for c in job.label_classes]
    tasks = {t.key: t for t in job.tasks.all()}
    checked_instances = 0
    for image in coco["images"]:
        task = tasks[image["key"]]
        drawn = masks_of_task(accepted[task.pk].result, task)
        for category_id, key in categories.items():
            label = next(c["label"] for c in job.label_classes if c["key"] == key)
            png = _png_mask(pngs[f"{top}/masks/{task.key}/{key}.png"])
            assert png.shape == (task.height, task.width)
            assert np.array_equal(png, drawn.get(label, np.zeros_like(png)))
            count, components = cv2.connectedComponents(png.view(np.uint8), connectivity=8)
            instances = [a for a in coco["annotations"] if a["image_id"] == image["id"]
                         and a["category_id"] == category_id]
            assert len(instances) == count - 1
            union = np.zeros_like(png)
            for instance in instances:
                mask = _decoded(instance["segmentation"])
                component = np.unique(components[mask])
                assert component.size == 1
                assert component[0] > 0
                assert np.array_equal(mask, components == component[0])  # the whole component, nothing else
                assert instance["area"] == int(mask.sum())
                union |= mask
                checked_instances += 1
            assert np.array_equal(union, png)
    assert checked_instances > 5  # the sample's photos have defects of several classes
    by_key = {item["data"]["key"]: item for item in studio}
    assert set(by_key) == set(tasks)
    for key, item in by_key.items():
        annotation = accepted[tasks[key].pk]
        assert item["annotations"][0]["id"] == annotation.ls_annotation_id
        assert item["annotations"][0]["result"] == annotation.result


@pytest.mark.django_db
def test_the_latest_accepted_answer_on_the_photos_own_batch_task_is_delivered_not_one_on_hidden_gold(
        job: Job, crew: list[Contractor], staff: User) -> None:
    accepted = _accept_all(job, staff)
    photo = _own(job)[0]
    redone = [brush_result(np.ones((photo.task.height, photo.task.width), bool), label="Pit", rid="redone")]
    newer = annotation_accept(annotation=_answer(photo, redone, at=WORKED + timedelta(hours=1)), reviewer=staff)
    gold_bt = BatchTask.objects.filter(task=photo.task, is_gold=True).select_related("batch__assigned_to").first()
    if gold_bt is not None:  # an answer on the photo as someone's hidden gold, even accepted, is not delivered
        annotation_accept(annotation=_answer(gold_bt, [], at=WORKED + timedelta(hours=2)), reviewer=staff)
    delivery = _deliver(job, staff)
    assert [photo.task_id, newer.pk, False] in delivery.items
    assert [photo.task_id, accepted[photo.task_id].pk, False] not in delivery.items


# --- refusals -------------------------------------------------------------------------------

@pytest.mark.django_db
def test_photos_without_an_accepted_mask_refuse_the_delivery_naming_them_unless_it_is_partial(
        job: Job, crew: list[Contractor], staff: User) -> None:
    _accept_all(job, staff, skip=2)
    missing = [bt.task.key for bt in _own(job)[-2:]]
    with pytest.raises(DomainError) as refused:
        delivering.delivery_start(job=job, actor=staff)
    assert refused.value.message.startswith(f"2 photo(s) have no accepted mask: {missing[0]}, {missing[1]}.")
    assert not Delivery.objects.exists()

    delivery = _deliver(job, staff, partial=True)
    assert delivery.state == DeliveryState.DONE
    assert (delivery.partial, delivery.missing_keys, delivery.photos_total) == (True, missing, 3)
    assert delivery.report["delivery"]["missing"] == missing
    assert delivery.report["delivery"]["partial"] is True


@pytest.mark.django_db
def test_a_job_with_nothing_accepted_or_a_delivery_being_written_is_refused(
        job: Job, crew: list[Contractor], staff: User) -> None:
    with pytest.raises(DomainError, match="nothing to deliver"):
        delivering.delivery_start(job=job, actor=staff, partial=True)
    _accept_all(job, staff)
    delivering.delivery_start(job=job, actor=staff)
    with pytest.raises(DomainError, match="Delivery 1 of this job is still being written"):
        delivering.delivery_start(job=job, actor=staff)
    with pytest.raises(DomainError, match="Only operations staff"):
        delivering.delivery_start(job=job, actor=crew[0].user)
    with pytest.raises(DomainError, match="Only operations staff"):  # a reviewer judges masks, never ships them
        delivering.delivery_start(job=job, actor=staff_user(role="reviewer"))


@pytest.mark.django_db
def test_a_delivery_no_worker_finished_within_the_hour_is_given_up_when_the_next_one_starts(
        job: Job, crew: list[Contractor], staff: User) -> None:
    _accept_all(job, staff)
    lost = delivering.delivery_start(job=job, actor=staff)
    Delivery.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=61))
    second = _deliver(job, staff)
    lost.refresh_from_db()
    assert (lost.state, second.number, second.state) == (DeliveryState.FAILED, 2, DeliveryState.DONE)
    assert lost.error.startswith("Abandoned: not finished within 60 minutes")


@pytest.mark.django_db
def test_an_accepted_mask_that_cannot_be_read_fails_the_delivery_naming_the_photo(
        job: Job, crew: list[Contractor], staff: User) -> None:
    _accept_all(job, staff)
    photo = _own(job)[1]
    broken = [dict(photo.task.gold_result[0], value={**photo.task.gold_result[0]["value"], "rle": [1, 2, 3]})]
    Annotation.objects.filter(batch_task=photo).update(result=broken)  # a row damaged after it was accepted
    delivery = _deliver(job, staff)
    assert delivery.state == DeliveryState.FAILED
    assert delivery.error.startswith(f"Photo {photo.task.key}: the accepted mask cannot be read")
    assert delivery.zip_path == ""


# --- pages, downloads and the client's link ----------------------------------------------------

@pytest.mark.django_db
def test_staff_deliver_from_the_job_page_and_download_the_zip_and_report(
        job: Job, crew: list[Contractor], staff: User, client: Client) -> None:
    _accept_all(job, staff, skip=1)
    client.force_login(staff)
    page = client.get(f"/console/jobs/{job.pk}/").content.decode()
    assert "Delivery to the client" in page
    assert "4 of 5 photos have an accepted mask" in page
    response = client.post(f"/console/jobs/{job.pk}/deliver/", follow=True)
    assert "1 photo(s) have no accepted mask" in response.content.decode()
    client.post(f"/console/jobs/{job.pk}/deliver/", {"partial": "on"})
    started = Delivery.objects.get()
    assert client.get(f"/console/jobs/{job.pk}/progress.json").json()["deliveries"] == {
        "1": {"number": 1, "state": "queued", "written": 0, "total": 4, "state_label": "Queued"}}
    assert "<progress" in client.get(f"/console/jobs/{job.pk}/").content.decode()
    delivering.delivery_build(delivery_id=started.pk)
    delivering.delivery_write_photos(delivery_id=started.pk, task_ids=[t for t, *_ in started.items])
    started.refresh_from_db()

    download = client.get(f"/console/deliveries/{started.pk}/delivery.zip")
    body = b"".join(download.streaming_content)
    assert download["Content-Type"] == "application/zip"
    assert hashlib.sha256(body).hexdigest() == started.zip_sha256
    assert len(body) == started.zip_size
    assert client.get(f"/console/deliveries/{started.pk}/report.json").json() == started.report
    report_page = client.get(f"/console/deliveries/{started.pk}/").content.decode()
    assert "Partial delivery" in report_page
    assert "/delivery/" in report_page
    thumbnail = client.get(f"/console/deliveries/{started.pk}/thumbnails/0.jpg")
    assert thumbnail["Content-Type"] == "image/jpeg"
    assert thumbnail.content[:2] == b"\xff\xd8"


@pytest.mark.django_db
def test_contractors_and_visitors_cannot_start_or_download_deliveries(
        job: Job, crew: list[Contractor], staff: User, client: Client) -> None:
    _accept_all(job, staff)
    delivery = _deliver(job, staff)
    urls = [f"/console/deliveries/{delivery.pk}/delivery.zip", f"/console/deliveries/{delivery.pk}/report.json",
            f"/console/deliveries/{delivery.pk}/", f"/console/jobs/{job.pk}/progress.json"]
    for url in urls:
        assert client.get(url)["Location"].startswith("/accounts/login/")
    assert client.post(f"/console/jobs/{job.pk}/deliver/")["Location"].startswith("/accounts/login/")
    client.force_login(crew[0].user)
    for url in urls:
        assert client.get(url).status_code == 403
    assert client.post(f"/console/jobs/{job.pk}/deliver/").status_code == 403
    assert Delivery.objects.count() == 1


@pytest.mark.django_db
def test_the_signed_link_serves_the_delivery_without_login_and_refuses_an_altered_or_expired_one(
        job: Job, crew: list[Contractor], staff: User, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    _accept_all(job, staff)
    delivery = _deliver(job, staff)
    token = delivery_link_token(delivery)
    page = client.get(f"/delivery/{token}/")
    assert page.status_code == 200
    assert "Download the ZIP" in page.content.decode()
    body = b"".join(client.get(f"/delivery/{token}/delivery.zip").streaming_content)
    assert hashlib.sha256(body).hexdigest() == delivery.zip_sha256
    assert client.get(f"/delivery/{token}/report.json").json() == delivery.report
    assert client.get(f"/delivery/{token}/thumbnails/4.jpg").status_code == 200

    other = delivery_link_token(Delivery(pk=delivery.pk + 1))  # a real signature of a delivery that is not there
    altered = f"{delivery.pk + 1}:{token.split(':', 1)[1]}"  # another id under this link's signature
    for bad in (altered, other, token[:-2]):
        refused = client.get(f"/delivery/{bad}/delivery.zip")
        assert refused.status_code == 404
    assert "not a valid delivery link" in client.get(f"/delivery/{altered}/").content.decode()

    signed_at = time.time() - (settings.DELIVERY_LINK_DAYS * 86400 + 60)
    monkeypatch.setattr("django.core.signing.time.time", lambda: signed_at)
    old = delivery_link_token(delivery)
    monkeypatch.undo()
    for url in (f"/delivery/{old}/", f"/delivery/{old}/delivery.zip", f"/delivery/{old}/report.json"):
        expired = client.get(url)
        assert expired.status_code == 410
    assert "This delivery link has expired" in client.get(f"/delivery/{old}/").content.decode()


# --- immutability --------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_delivery_after_more_work_is_number_2_in_its_own_file_and_the_first_is_unchanged(
        job: Job, crew: list[Contractor], staff: User) -> None:
    _accept_all(job, staff)
    first = _deliver(job, staff)
    first_bytes = (settings.VAR_DIR / first.zip_path).read_bytes()
    assert hashlib.sha256(first_bytes).hexdigest() == first.zip_sha256

    photo = _own(job)[2]
    annotation_rework(annotation=Annotation.objects.get(batch_task=photo), reviewer=staff, comment="Missed a pit.")
    fixed = [brush_result(np.eye(photo.task.height, photo.task.width, dtype=bool), label="Crack", rid="fixed")]
    annotation_accept(annotation=_answer(photo, fixed, at=WORKED + timedelta(days=1)), reviewer=staff)
    second = _deliver(job, staff)

    assert (second.number, second.state) == (2, DeliveryState.DONE)
    assert second.zip_path != first.zip_path
    assert second.zip_sha256 != first.zip_sha256
    first.refresh_from_db()
    assert (settings.VAR_DIR / first.zip_path).read_bytes() == first_bytes
    assert first.state == DeliveryState.DONE
    assert first.report["review"]["reworked"] == 0
    assert second.report["review"]["reworked"] == 1
    # Finished deliveries are not written again: a late worker task changes nothing.
    assert delivering.delivery_write_photos(delivery_id=first.pk, task_ids=[photo.task_id]) == 0
    assert delivering.delivery_build(delivery_id=first.pk) == 0
    assert (settings.VAR_DIR / first.zip_path).read_bytes() == first_bytes


# --- the report ----------------------------------------------------------------------------

def _gold_score(annotation_bt: BatchTask, contractor: Contractor, *, iou: float, dice: float, bf1: float,
                per_class: dict) -> QualityScore:
    """A scored answer of the contractor on a hidden gold photo, with the figures the test checks by hand."""
    made = Annotation.objects.create(ls_annotation_id=next(_ids), batch_task=annotation_bt, contractor=contractor,
                                     ls_created_at=WORKED, result=[])
    return QualityScore.objects.create(annotation=made, gold=gold_current(annotation_bt.task), state=ScoreState.SCORED,
                                       macro_iou=iou, macro_dice=dice, macro_boundary_f1=bf1, per_class=per_class,
                                       result_digest="x", scored_at=timezone.now())


@pytest.mark.django_db
def test_the_report_gives_gold_quality_with_intervals_review_counts_and_the_cost_in_decimal(
        job: Job, crew: list[Contractor], staff: User) -> None:
    ana, ben = crew
    own = _own(job)
    # Hidden gold in the holders' batches: photos 3 and 4 in Ana's batch 1, photo 1 in Ben's batch 3.
    gold_bts = [BatchTask.objects.get_or_create(batch=own[holder].batch, task=own[photo].task,
                                                defaults={"is_gold": True})[0] for holder, photo in
                ((0, 2), (0, 3), (4, 0))]
    # Ana's two gold photos: IoU 0.6 and 0.8; Ben's one: a clean photo both left clean (no IoU: counts as 1).
    _gold_score(gold_bts[0], ana, iou=0.6, dice=0.75, bf1=0.5, per_class={"Scratch": {"iou": 0.6, "dice": 0.75,
                                                                                      "boundary_f1": 0.5}})
    _gold_score(gold_bts[1], ana, iou=0.8, dice=0.9, bf1=0.7, per_class={"Scratch": {"iou": 0.8, "dice": 0.9,
                                                                                     "boundary_f1": 0.7}})
    _gold_score(gold_bts[2], ben, iou=None, dice=None, bf1=None, per_class={})
    outsider = ContractorFactory()  # scored on this job's gold but made no delivered mask: not in the report
    _gold_score(gold_bts[0], outsider, iou=0.1, dice=0.1, bf1=0.1, per_class={})
    accepted = _accept_all(job, staff)
    annotation_rework(annotation=accepted[own[0].task_id], reviewer=staff, comment="Paint the scratch.")
    fixed = _answer(own[0], own[0].task.gold_result, at=WORKED + timedelta(hours=1))
    batch_hand_in(batch=own[0].batch, contractor=ana)
    annotation_accept(annotation=fixed, reviewer=staff)
    batch = own[0].batch
    logged = WORKED + timedelta(days=1)  # as they logged it, the day after
    time_entry_create(contractor=ana, batch=batch, start=WORKED, end=WORKED + timedelta(minutes=90), actor=ana.user,
                      now=logged)
    time_entry_create(contractor=ana, batch=batch, start=WORKED + timedelta(hours=2),
                      end=WORKED + timedelta(hours=2, minutes=7), actor=ana.user, now=logged)
    ben_batch = own[-1].batch
    time_entry_create(contractor=ben, batch=ben_batch, start=WORKED, end=WORKED + timedelta(minutes=20),
                      actor=ben.user, now=logged)

    report = _deliver(job, staff).report

    quality = report["quality_on_gold"]
    assert quality["contractors"] == 2
    # Means over the three gold photos; the bootstrap over three photos spans from the lowest to the highest.
    assert quality["overall"]["iou"] == {"mean": 0.8, "low": 0.6, "high": 1.0, "scores": 3, "photos": 3}
    assert quality["overall"]["dice"]["mean"] == round((0.75 + 0.9 + 1) / 3, 4)
    assert quality["overall"]["boundary_f1"]["mean"] == round((0.5 + 0.7 + 1) / 3, 4)
    assert quality["per_class"] == {"Scratch": {
        "iou": {"mean": 0.7, "low": 0.6, "high": 0.8, "scores": 2, "photos": 2},
        "dice": {"mean": 0.825, "low": 0.75, "high": 0.9, "scores": 2, "photos": 2},
        "boundary_f1": {"mean": 0.6, "low": 0.5, "high": 0.7, "scores": 2, "photos": 2}}}
    assert "bootstrap" in quality["method"]
    assert report["review"] == {"photos": 5, "reviewed": 5, "reworked": 1, "accepted": 5}
    # 90 + 7 + 20 = 117 min at 2.00/h: 3.90, summed exactly and rounded once
    assert report["paid_time"] == {"work_hours": "1.95", "work_minutes": 117, "work_cost": "3.90",
                                   "adjustment_minutes": 0, "adjustment_cost": "0.00", "cost": "3.90",
                                   "currency": "USD"}


def test_the_delivery_tasks_go_to_the_default_queue_not_the_label_studio_one() -> None:
    for name in ("annotations.tasks.delivery_build", "annotations.tasks.delivery_write"):
        assert app.amqp.router.route({}, name)["queue"].name == "default"


@pytest.mark.django_db(transaction=True)
def test_a_delivery_is_written_by_the_celery_workers_once_it_is_started(
        job: Job, crew: list[Contractor], staff: User, celery_worker: str) -> None:
    _accept_all(job, staff)
    started = delivering.delivery_start(job=job, actor=staff)  # queued after commit: autocommit here
    deadline = time.monotonic() + 60
    while Delivery.objects.get(pk=started.pk).state in (DeliveryState.QUEUED, DeliveryState.RUNNING):
        assert time.monotonic() < deadline, "waited 60 s for the workers to write the delivery"
        time.sleep(0.2)
    done = Delivery.objects.get(pk=started.pk)
    assert (done.state, done.photos_written, done.error) == (DeliveryState.DONE, 5, "")
    with _archive(done) as archive:
        assert archive.testzip() is None
        assert len([n for n in archive.namelist() if n.endswith(".png")]) == 5 * len(job.label_classes)

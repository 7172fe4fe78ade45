"""Delivering a job's accepted masks to its client: refused or queued here, written by the workers, never changed.

A delivery is started by staff (delivery_start), fanned out by one worker task into tasks of a few photos each
(delivery_build), whose workers write each photo's PNGs, COCO instances and thumbnail to a folder of parts and
count it (delivery_write_photos); the task that writes the last photo assembles the ZIP (written aside, then
linked to a path of its own that nothing overwrites) with the COCO and Label Studio JSON and the report.
"""
import hashlib
import json
import logging
import os
import secrets
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.db.models.functions import Least
from django.utils import timezone
from PIL import Image

from annotations.models import Annotation, Delivery, DeliveryState, Job, PhotoAgreement, Task
from annotations.quality.delivery_formats import coco_document, coco_instances, empty_png, mask_png, thumbnail_jpeg
from annotations.quality.labelstudio_json import ScoringInputError
from annotations.selectors.deliveries import (
    agreement_summary,
    cost_of,
    delivery_items,
    delivery_plan,
    gold_quality,
    review_counts,
)
from annotations.services.dispatch import task_send, tasks_send
from annotations.services.gold import masks_of_task
from common.errors import Conflict, DomainError, NotAllowed
from common.roles import OPERATE_JOBS, staff_role_allows
from common.text import named_few
from workforce.models import User

logger = logging.getLogger(__name__)

DELIVERY_DIR = "deliveries"  # under VAR_DIR
DONE_MARK = "done"  # written last in a photo's folder of parts: the photo is complete
# Entries carry this date, so the same content always gives the same ZIP bytes.
ZIP_DATE = (2000, 1, 1, 0, 0, 0)


# --- starting --------------------------------------------------------------------------------

@transaction.atomic
def delivery_start(*, job: Job, actor: User, partial: bool = False) -> Delivery:
    """Number and queue a delivery of every photo's accepted mask; refused, saying why, when a photo has none (unless
    `partial`: the report then names the photos left out) or another delivery of the job is still being written."""
    if not staff_role_allows(actor, OPERATE_JOBS):
        raise NotAllowed("Only operations staff deliver to the client.")
    job = Job.objects.select_for_update().get(pk=job.pk)  # orders the numbers and the check of a running one
    busy = job.deliveries.filter(state__in=(DeliveryState.QUEUED, DeliveryState.RUNNING)).first()
    if busy is not None:
        stale = timezone.now() - timedelta(minutes=settings.DELIVERY_STALE_MINUTES)
        if busy.created_at > stale:
            raise Conflict(f"Delivery {busy.number} of this job is still being written; wait for it to finish.")
        # A worker lost for good (its task given up) must not block the job's deliveries for ever.
        delivery_fail(delivery_id=busy.pk, error=f"Abandoned: not finished within {settings.DELIVERY_STALE_MINUTES} "
                                                 f"minutes; delivery {busy.number + 1} was started instead.")
    plan = delivery_plan(job)
    if not plan.items:
        raise DomainError("No photo of this job has an accepted mask yet: there is nothing to deliver.")
    if plan.missing and not partial:
        raise DomainError(f"{len(plan.missing)} photo(s) have no accepted mask: {named_few(plan.missing)}. Review "
                          "them, or tick \"partial\" to deliver the others.", field="partial")
    number = (job.deliveries.aggregate(n=Max("number"))["n"] or 0) + 1
    delivery = Delivery.objects.create(
        job=job, number=number, partial=bool(plan.missing), missing_keys=plan.missing,
        items=[list(item) for item in plan.items], photos_total=len(plan.items), created_by=actor)
    task_send("delivery_build", delivery.pk)  # after commit
    logger.info("job %s: delivery %s of %s photos queued (%s missing)", job.pk, number, len(plan.items),
                len(plan.missing))
    return delivery


# --- the workers' steps --------------------------------------------------------------------------

def _parts_dir(delivery: Delivery) -> Path:
    # Named by the moment too: a database restored from a backup never finds another delivery's parts here.
    stamp = f"{delivery.created_at:%Y%m%d%H%M%S%f}"
    return settings.VAR_DIR / DELIVERY_DIR / f"job-{delivery.job_id}" / f".delivery-{delivery.number}-{stamp}.parts"


def delivery_build(*, delivery_id: int) -> int:
    """Start writing a queued delivery: one task per DELIVERY_PHOTOS_PER_TASK photos, queued after commit; returns
    how many. A delivery already started is left alone (a task handed out twice)."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.state != DeliveryState.QUEUED:
            return 0
        delivery.state = DeliveryState.RUNNING
        delivery.save(update_fields=["state"])
        _parts_dir(delivery).mkdir(parents=True, exist_ok=True)
        size = settings.DELIVERY_PHOTOS_PER_TASK
        task_ids = [task_id for task_id, *_ in delivery.items]
        return tasks_send("delivery_write", ((delivery.pk, task_ids[i:i + size])
                                             for i in range(0, len(task_ids), size)))


def delivery_fail(*, delivery_id: int, error: str) -> None:
    """Record why a delivery could not be written; a finished one is never touched."""
    failed = Delivery.objects.filter(pk=delivery_id, state__in=(DeliveryState.QUEUED, DeliveryState.RUNNING)).update(
        state=DeliveryState.FAILED, error=error[:2000], finished_at=timezone.now())
    if failed:
        shutil.rmtree(_parts_dir(Delivery.objects.get(pk=delivery_id)), ignore_errors=True)
        logger.warning("delivery %s failed: %s", delivery_id, error)


def _write_photo(*, task: Task, result: list, classes: list[dict], folder: Path) -> None:
    """One photo's parts: a 1-bit PNG per class of the job, its COCO instances, its thumbnail, then the mark."""
    decoded = masks_of_task(result, task)
    masks = {c["label"]: decoded[c["label"]] for c in classes if c["label"] in decoded}
    folder.mkdir(exist_ok=True)
    instances = []
    for defect in classes:
        mask = masks.get(defect["label"])
        png = empty_png(task.width, task.height) if mask is None else mask_png(mask)
        (folder / f"{defect['key']}.png").write_bytes(png)
        if mask is not None:
            instances += [{"category": defect["key"], "segmentation": found.rle, "area": found.area,
                           "bbox": list(found.bbox)} for found in coco_instances(mask)]
    (folder / "coco.json").write_text(json.dumps(instances))
    try:
        with Image.open(settings.VAR_DIR / task.image_path) as photo:
            jpeg = thumbnail_jpeg(photo=photo, masks=masks, colours={c["label"]: c["colour"] for c in classes},
                                  max_side=settings.DELIVERY_THUMBNAIL_MAX_SIDE)
        (folder / "thumbnail.jpg").write_bytes(jpeg)
    except OSError as exc:  # the masks are the delivery; a missing picture of them is not worth failing it
        logger.warning("delivery: no thumbnail of %s, photo unreadable: %s", task.key, exc)
    (folder / DONE_MARK).touch()


def delivery_write_photos(*, delivery_id: int, task_ids: list[int]) -> int:
    """Write the parts of these photos of a running delivery, counting each; assemble the ZIP when they were the
    last. Returns how many were written. Masks that cannot be read fail the delivery, saying which photo."""
    delivery = Delivery.objects.select_related("job").defer("report").get(pk=delivery_id)
    if delivery.state != DeliveryState.RUNNING:
        return 0
    chosen = {task_id: (annotation_id, merged) for task_id, annotation_id, merged in delivery_items(delivery)}
    annotations = Annotation.objects.in_bulk([chosen[t][0] for t in task_ids if t in chosen])
    merged = {a.task_id: a.merged_result for a in PhotoAgreement.objects.filter(
        task_id__in=[t for t in task_ids if t in chosen and chosen[t][1]])}
    tasks = Task.objects.defer("prediction", "gold_result").in_bulk(task_ids)
    parts = _parts_dir(delivery)
    written = 0
    for task_id in task_ids:
        task = tasks[task_id]
        annotation_id, is_merged = chosen[task_id]
        try:
            _write_photo(task=task, result=merged[task_id] if is_merged else annotations[annotation_id].result,
                         classes=delivery.job.label_classes, folder=parts / str(task_id))
        except ScoringInputError as exc:
            delivery_fail(delivery_id=delivery_id, error=f"Photo {task.key}: the accepted mask cannot be read: {exc}")
            return written
        except Exception as exc:
            delivery_fail(delivery_id=delivery_id, error=f"Photo {task.key}: {exc.__class__.__name__}: {exc}")
            raise
        written += 1
        Delivery.objects.filter(pk=delivery_id, state=DeliveryState.RUNNING).update(
            photos_written=Least(F("photos_written") + 1, F("photos_total")))
    delivery_assemble(delivery_id=delivery_id)
    return written


# --- assembling ------------------------------------------------------------------------------------

def _safe(key: str) -> str:
    """A photo key as one path segment inside the ZIP."""
    return key.replace("/", "_").replace("\\", "_").lstrip(".") or "photo"


def _report(delivery: Delivery, tasks: list[Task], annotations: dict[int, Annotation],
            merged: dict[int, PhotoAgreement], counts: dict[int, dict[str, int]]) -> dict:
    job = delivery.job
    made_by = {a.contractor_id for a in annotations.values()} | set(Annotation.objects.filter(
        pk__in=[pk for m in merged.values() for pk in m.annotation_ids]).values_list("contractor_id", flat=True))
    contractor_ids = sorted(made_by - {None})
    instances = {c["key"]: sum(counts[t.pk].get(c["key"], 0) for t in tasks) for c in job.label_classes}
    return {
        "job": {"id": job.pk, "name": job.name, "client": job.client},
        "delivery": {"number": delivery.number, "started_at": delivery.created_at.isoformat(),
                     "partial": delivery.partial, "photos": len(tasks), "missing": delivery.missing_keys},
        "classes": [{**c, "instances": instances[c["key"]],
                     "photos_with": sum(1 for t in tasks if counts[t.pk].get(c["key"]))} for c in job.label_classes],
        "review": review_counts(job),
        "quality_on_gold": gold_quality(job=job, contractor_ids=contractor_ids),
        "paid_time": cost_of(job),
        "agreement": agreement_summary([t.pk for t in tasks]),
        "photos": [{"key": t.key, "width": t.width, "height": t.height,
                    "label_studio_annotation": None if t.pk in merged else annotations[t.pk].ls_annotation_id,
                    **({"merged_from": _merged_from(merged[t.pk]), "agreement_iou": merged[t.pk].iou}
                       if t.pk in merged else {}),
                    "instances": counts[t.pk], "masks": f"masks/{_safe(t.key)}/",
                    "thumbnail": f"thumbnails/{_safe(t.key)}.jpg"} for t in tasks],
    }


def _merged_from(agreement: PhotoAgreement) -> list[int]:
    """The Label Studio ids of the submissions a merged mask was made of."""
    return sorted(Annotation.objects.filter(pk__in=agreement.annotation_ids).values_list("ls_annotation_id",
                                                                                       flat=True))


def _label_studio_item(task: Task, annotation: Annotation, merged: PhotoAgreement | None) -> dict:
    data = {"image": PurePosixPath(task.image_path).name, "key": task.key}
    if merged is not None:  # no Label Studio annotation is this mask: the majority of those it names
        return {"id": task.pk, "data": data, "annotations": [{
            "id": None, "result": merged.merged_result, "merged_from": _merged_from(merged),
            "created_at": merged.merged_accepted_at.isoformat(), "was_cancelled": False}]}
    return {"id": task.pk, "data": data,
            "annotations": [{"id": annotation.ls_annotation_id, "result": annotation.result,
                             "created_at": annotation.ls_created_at.isoformat() if annotation.ls_created_at else None,
                             "was_cancelled": False}]}


def _entry(archive: zipfile.ZipFile, name: str, data: bytes, *, compress: bool) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED  # PNG and JPEG are compressed
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def _coco(job: Job, tasks: list[Task], parts: Path) -> Iterator[tuple[int, dict]]:
    """(task id, COCO annotation) of every instance, numbered from 1 in photo then class order."""
    category = {c["key"]: index for index, c in enumerate(job.label_classes, start=1)}
    number = 0
    for image_id, task in enumerate(tasks, start=1):
        for found in json.loads((parts / str(task.pk) / "coco.json").read_text()):
            number += 1
            yield task.pk, {"id": number, "image_id": image_id, "category_id": category[found["category"]],
                            "segmentation": found["segmentation"], "area": found["area"], "bbox": found["bbox"],
                            "iscrowd": 0}


def _write_zip(target: Path, delivery: Delivery, tasks: list[Task], annotations: dict[int, Annotation],
               merged: dict[int, PhotoAgreement], parts: Path) -> dict:
    """The ZIP at `target`; returns the report it holds."""
    job = delivery.job
    coco_annotations = list(_coco(job, tasks, parts))
    counts: dict[int, dict[str, int]] = {t.pk: {} for t in tasks}
    key_of = {index: c["key"] for index, c in enumerate(job.label_classes, start=1)}
    for task_id, found in coco_annotations:
        key = key_of[found["category_id"]]
        counts[task_id][key] = counts[task_id].get(key, 0) + 1
    top = f"{_safe(job.name)}-delivery-{delivery.number}"
    report = _report(delivery, tasks, annotations, merged, counts)
    report["delivery"]["folder"] = top  # every file of the ZIP is under it
    coco = coco_document(
        images=[{"id": i, "file_name": PurePosixPath(t.image_path).name, "key": t.key, "width": t.width,
                 "height": t.height} for i, t in enumerate(tasks, start=1)],
        categories=[{"id": i, "name": c["key"], "label": c["label"], "supercategory": "defect"}
                    for i, c in enumerate(job.label_classes, start=1)],
        annotations=[found for _, found in coco_annotations])
    with zipfile.ZipFile(target, "w") as archive:
        _entry(archive, f"{top}/report.json", json.dumps(report, indent=1).encode(), compress=True)
        _entry(archive, f"{top}/coco.json", json.dumps(coco).encode(), compress=True)
        _entry(archive, f"{top}/labelstudio.json",
               json.dumps([_label_studio_item(t, annotations[t.pk], merged.get(t.pk)) for t in tasks]).encode(),
               compress=True)
        for task in tasks:
            folder = parts / str(task.pk)
            for defect in job.label_classes:
                _entry(archive, f"{top}/masks/{_safe(task.key)}/{defect['key']}.png",
                       (folder / f"{defect['key']}.png").read_bytes(), compress=False)
            if (folder / "thumbnail.jpg").is_file():
                _entry(archive, f"{top}/thumbnails/{_safe(task.key)}.jpg", (folder / "thumbnail.jpg").read_bytes(),
                       compress=False)
    return report


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def delivery_assemble(*, delivery_id: int) -> Delivery | None:
    """Write the ZIP of a running delivery once every photo's parts are there, and finish it; None when photos are
    still being written or it is no longer running. The ZIP is written aside and linked to a path of its own,
    which an existing file is never replaced at."""
    delivery = Delivery.objects.select_related("job").get(pk=delivery_id)
    parts = _parts_dir(delivery)
    if delivery.state != DeliveryState.RUNNING or not all(
            (parts / str(task_id) / DONE_MARK).exists() for task_id, *_ in delivery.items):
        return None
    items = delivery_items(delivery)
    order = [task_id for task_id, _, _ in items]
    found = Task.objects.defer("prediction", "gold_result").in_bulk(order)
    tasks = [found[pk] for pk in order]
    by_id = Annotation.objects.in_bulk([annotation_id for _, annotation_id, _ in items])
    annotations = {task_id: by_id[annotation_id] for task_id, annotation_id, _ in items}
    merged = {a.task_id: a for a in PhotoAgreement.objects.filter(
        task_id__in=[task_id for task_id, _, is_merged in items if is_merged])}
    # A random part too: a file left by a database restored from a backup is never in the way.
    relative = Path(DELIVERY_DIR) / f"job-{delivery.job_id}" / f"delivery-{delivery.number}-{secrets.token_hex(4)}.zip"
    target = settings.VAR_DIR / relative
    fd, aside = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    os.close(fd)
    aside = Path(aside)
    try:
        report = _write_zip(aside, delivery, tasks, annotations, merged, parts)
        os.chmod(aside, 0o644)
        with transaction.atomic():
            locked = Delivery.objects.select_for_update().get(pk=delivery_id)
            if locked.state != DeliveryState.RUNNING:
                return None  # another worker finished it, or it failed meanwhile
            try:
                os.link(aside, target)  # never replaces a file: a delivery's bytes are written once
            except FileExistsError:
                raise Conflict(f"{relative} exists already; a delivery's file is never overwritten.") from None
            locked.state, locked.finished_at = DeliveryState.DONE, timezone.now()
            locked.zip_path, locked.zip_size, locked.zip_sha256 = str(relative), target.stat().st_size, _sha256(target)
            locked.report, locked.photos_written = report, locked.photos_total
            locked.save()
    except Conflict as exc:
        delivery_fail(delivery_id=delivery_id, error=exc.message)
        return None
    finally:
        aside.unlink(missing_ok=True)
    shutil.rmtree(parts, ignore_errors=True)
    logger.info("job %s: delivery %s written, %s bytes", delivery.job_id, delivery.number, locked.zip_size)
    return locked

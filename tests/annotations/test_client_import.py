"""A client's pre-annotations and gold into a job: the import service, its Celery task with progress counters,
the job page's upload and progress, and a published batch getting the imported prediction once in Label Studio."""
import json
import shutil
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pycocotools import mask as coco_mask

from annotations import labelstudio
from annotations.defects import DEFECT_CLASSES
from annotations.models import (
    Batch,
    BatchTask,
    GoldSource,
    ImportFormat,
    ImportKind,
    ImportRun,
    ImportState,
    Job,
    PredictionSent,
    Task,
)
from annotations.quality.labelstudio_json import brush_result
from annotations.services import client_import, jobs
from annotations.services.gold import gold_current, masks_of_task
from annotations.services.publishing import batch_publish, image_url
from common.errors import DomainError
from tests.annotations.test_gold_masks import png, zip_of
from tests.annotations.test_jobs import create_sample_job, sample  # noqa: F401 - sample: a module fixture
from tests.factories import contractor_in_state, staff_user
from workforce.models import OnboardingState

MAPPING = {1: "scratch", 2: "crack", 3: "ignore"}


@pytest.fixture
def job(sample: Path) -> Iterator[Job]:  # noqa: F811
    job, _ = create_sample_job(sample, batch_size=2)
    jobs.batches_cut(job=job)
    yield job
    shutil.rmtree(settings.VAR_DIR / client_import.UPLOAD_DIR / f"job-{job.pk}", ignore_errors=True)


def tasks_of(job: Job) -> list[Task]:
    return list(job.tasks.order_by("key"))


def crack_polygons(shift: int = 0) -> list[list[int]]:
    return [[20, 10, 120, 10, 120, 40, 20, 40], [300, 200 + shift, 310, 200 + shift, 310, 260 + shift, 300, 260]]


def source_masks(job: Job, shift: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """Per task, a scratch (random pixels) and a crack (two polygons, as pycocotools paints them)."""
    rng = np.random.default_rng(17 + shift)
    masks = {}
    for task in tasks_of(job):
        rles = coco_mask.frPyObjects(crack_polygons(shift), task.height, task.width)
        masks[task.key] = {"scratch": rng.random((task.height, task.width)) < 0.01,
                           "crack": coco_mask.decode(coco_mask.merge(rles)).astype(bool)}
    return masks


def coco_of(job: Job, masks: dict, shift: int = 0) -> bytes:
    """The masks as COCO: scratch as a compressed RLE, crack as two polygons; a "dust" category beside them."""
    images, annotations = [], []
    for image_id, task in enumerate(tasks_of(job), start=1):
        images.append({"id": image_id, "file_name": Path(task.image_path).name, "width": task.width,
                       "height": task.height})
        rle = coco_mask.encode(np.asfortranarray(masks[task.key]["scratch"].astype(np.uint8)))
        annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                            "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()}})
        for polygon in crack_polygons(shift):
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 2,
                                "segmentation": [polygon]})
        annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 3,
                            "segmentation": [[0, 0, 5, 0, 5, 5]]})
    return json.dumps({"images": images, "annotations": annotations, "categories": [
        {"id": 1, "name": "scratch"}, {"id": 2, "name": "crack"}, {"id": 3, "name": "dust"}]}).encode()


def labelstudio_of(job: Job, masks: dict) -> bytes:
    label = {c["key"]: c["label"] for c in job.label_classes}
    return json.dumps([{"data": {"image": image_url(task.image_path)}, "predictions": [{"result": [
        brush_result(m, label=label[cls], rid=f"{task.key}-{cls}") for cls, m in masks[task.key].items()]}]}
        for task in tasks_of(job)]).encode()


def png_zip_of(job: Job, masks: dict) -> bytes:
    return zip_of({f"{key}_{cls}.png": png(m) for key, of_task in masks.items() for cls, m in of_task.items()})


FILES = {ImportFormat.COCO: ("client.json", coco_of), ImportFormat.LABEL_STUDIO: ("export.json", labelstudio_of),
         ImportFormat.PNG_ZIP: ("masks.zip", png_zip_of)}


def stored(job: Job, name: str, content: bytes) -> Path:
    token = client_import.import_upload_store(job=job, name=name, chunks=[content])
    return client_import.import_upload_path(job=job, token=token)


def imported(job: Job, fmt: str, content: bytes, *, name: str = "", kind: str = ImportKind.PREDICTIONS,
             category_map: dict | None = None) -> ImportRun:
    """Queue the import, then run what the worker runs, here."""
    run = client_import.preannotations_import(
        job=job, upload_path=stored(job, name or FILES[fmt][0], content), fmt=fmt, kind=kind, actor=None,
        category_map=category_map if category_map is not None else (MAPPING if fmt == ImportFormat.COCO else None))
    return client_import.import_run_execute(run_id=run.pk)


def predicted(task: Task) -> dict[str, np.ndarray]:
    task.refresh_from_db()
    label_to_key = {c["label"]: c["key"] for c in task.job.label_classes}
    return {label_to_key[label]: m for label, m in masks_of_task(task.prediction["result"], task).items()}


def predictions_state() -> list[tuple]:
    return list(Task.objects.order_by("pk").values_list("pk", "prediction")) + list(
        PredictionSent.objects.order_by("pk").values_list("pk", "digest"))


# --- the service -------------------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("fmt", list(FILES))
def test_each_format_writes_every_tasks_prediction_pixel_for_pixel_and_counts_its_progress(job: Job,
                                                                                           fmt: str) -> None:
    masks = source_masks(job)
    run = imported(job, fmt, FILES[fmt][1](job, masks))
    assert (run.state, run.error) == (ImportState.DONE, "")
    assert (run.photos_total, run.photos_checked, run.tasks_total, run.tasks_published) == (5, 5, 5, 5)
    assert run.masks_decoded == run.masks_total == {ImportFormat.COCO: 20}.get(fmt, 10)
    assert run.finished_at is not None
    for task in tasks_of(job):
        got = predicted(task)
        assert got.keys() == {"scratch", "crack"}
        assert all(np.array_equal(got[cls], masks[task.key][cls]) for cls in got), task.key
        assert task.prediction["model_version"] == f"client-import: {FILES[fmt][0]}"


@pytest.mark.django_db
def test_gold_comes_through_the_same_upload_as_new_gold_versions(job: Job) -> None:
    masks = source_masks(job)
    run = imported(job, ImportFormat.COCO, coco_of(job, masks), kind=ImportKind.GOLD)
    assert run.state == ImportState.DONE
    for task in tasks_of(job):
        gold = gold_current(task)
        assert (gold.version, gold.source) == (2, GoldSource.IMPORT_COCO)
        decoded = masks_of_task(gold.result, task)
        assert np.array_equal(decoded["Crack"], masks[task.key]["crack"])


def _spoil_coco(job: Job, spoil: object) -> bytes:
    document = json.loads(coco_of(job, source_masks(job)))
    spoil(document)
    return json.dumps(document).encode()


REFUSALS = [
    ("unknown photo", ImportFormat.COCO,
     lambda job: _spoil_coco(job, lambda d: d["images"][4].update(file_name="screen_9999.jpg")),
     "client.json: image 'screen_9999.jpg': no photo of the job is named 'screen_9999.jpg'."),
    ("wrong size", ImportFormat.COCO, lambda job: _spoil_coco(job, lambda d: d["images"][4].update(width=641)),
     "client.json: image 'screen_0005.jpg', photo screen_0005: the file says 641x427 but the photo is 640x427."),
    ("bad rle", ImportFormat.COCO,
     lambda job: _spoil_coco(job, lambda d: d["annotations"][-1].update(segmentation={"size": [427, 640],
                                                                                        "counts": "0"})),
     "client.json: image 'screen_0005.jpg', photo screen_0005, annotation #19 (id 20): bad RLE: its runs cover 0 "
     "pixels, not 273,280, or one is negative."),
    ("corrupted png", ImportFormat.PNG_ZIP,
     lambda job: zip_of({"screen_0001_pit.png": png(np.ones((427, 640), bool)),
                         "screen_0004_pit.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 40}),
     "masks.zip: screen_0004_pit.png, photo screen_0004: cannot be read as a PNG"),
    ("unsafe zip path", ImportFormat.PNG_ZIP,
     lambda job: zip_of({"../screen_0001_pit.png": png(np.ones((427, 640), bool))}),
     "masks.zip: unsafe file names (absolute, with '..' or a backslash): '../screen_0001_pit.png'."),
    ("label studio bad rle", ImportFormat.LABEL_STUDIO,
     lambda job: labelstudio_of(job, source_masks(job)).replace(b'"rle": [', b'"rle": [7, ', 1),
     "export.json: task #0, photo screen_0001: result #0 (id screen_0001-scratch) (Scratch): bad RLE"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("case", [c[0] for c in REFUSALS])
def test_a_refused_file_fails_the_run_saying_file_photo_and_problem_and_changes_nothing(job: Job,
                                                                                       case: str) -> None:
    imported(job, ImportFormat.COCO, coco_of(job, source_masks(job)))  # a first import, to stay as it is
    before = predictions_state()
    _, fmt, content, expected = next(c for c in REFUSALS if c[0] == case)
    run = imported(job, fmt, content(job))
    assert run.state == ImportState.FAILED
    assert run.error.startswith(expected)
    assert run.tasks_published == 0
    assert predictions_state() == before


@pytest.mark.django_db
def test_an_unmapped_coco_category_is_refused_before_anything_is_queued(job: Job) -> None:
    with pytest.raises(DomainError, match="category_map: map every COCO category"):
        imported(job, ImportFormat.COCO, coco_of(job, source_masks(job)), category_map={1: "scratch", 2: "dent"})
    run = imported(job, ImportFormat.COCO, coco_of(job, source_masks(job)), category_map={1: "scratch", 2: "crack"})
    assert run.state == ImportState.FAILED
    assert run.error.startswith("client.json: categories dust are mapped to no defect class")
    assert ImportRun.objects.count() == 1


@pytest.mark.django_db
def test_published_tasks_get_the_prediction_in_label_studio_once_and_again_only_when_it_changes(
        job: Job, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[int, str]] = []
    monkeypatch.setattr(labelstudio, "prediction_create", lambda *, ls_task_id, result, model_version:
                        sent.append((ls_task_id, result[0]["value"]["rle"][:3])) or len(sent))
    batch = job.batches.get(number=1)
    rows = list(batch.batch_tasks.order_by("id"))
    for number, bt in enumerate(rows, start=1000):  # as batch_publish leaves them
        bt.ls_task_id = number
    BatchTask.objects.bulk_update(rows, ["ls_task_id"])
    content = coco_of(job, source_masks(job))

    imported(job, ImportFormat.COCO, content)
    assert sorted(ls_id for ls_id, _ in sent) == [bt.ls_task_id for bt in rows]
    again = imported(job, ImportFormat.COCO, content)
    assert (again.state, again.tasks_published, len(sent)) == (ImportState.DONE, 5, len(rows))
    imported(job, ImportFormat.COCO, coco_of(job, source_masks(job, shift=3), shift=3))
    assert len(sent) == 2 * len(rows)


@pytest.mark.django_db
def test_a_task_published_with_the_same_prediction_is_not_sent_it_again(job: Job,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    imported(job, ImportFormat.COCO, coco_of(job, source_masks(job)))  # Task.prediction, then "publish" it
    sent: list[int] = []
    monkeypatch.setattr(labelstudio, "prediction_create",
                        lambda *, ls_task_id, result, model_version: sent.append(ls_task_id) or 1)
    bt = BatchTask.objects.filter(batch__job=job).order_by("id").first()
    BatchTask.objects.filter(pk=bt.pk).update(ls_task_id=2000)
    imported(job, ImportFormat.LABEL_STUDIO, labelstudio_of(job, source_masks(job)))
    assert sent == []


# --- Celery ------------------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_a_queued_import_and_its_counters_reach_the_totals(sample: Path,  # noqa: F811
                                                                          celery_worker: str) -> None:
    job, _ = create_sample_job(sample, batch_size=2)
    try:
        path = stored(job, "client.json", coco_of(job, source_masks(job)))
        run = client_import.preannotations_import(job=job, upload_path=path, fmt=ImportFormat.COCO,
                                                  category_map=MAPPING, actor=None)
        assert run.state == ImportState.QUEUED
        deadline = time.monotonic() + 60
        while run.state not in (ImportState.DONE, ImportState.FAILED) and time.monotonic() < deadline:
            time.sleep(0.2)
            run.refresh_from_db()
        assert (run.state, run.error) == (ImportState.DONE, "")
        assert (run.photos_checked, run.masks_decoded, run.tasks_published) == (5, 20, 5)
        assert all(t.prediction["model_version"] == "client-import: client.json" for t in tasks_of(job))
    finally:
        shutil.rmtree(settings.VAR_DIR / client_import.UPLOAD_DIR / f"job-{job.pk}", ignore_errors=True)


# --- the job page ------------------------------------------------------------------------------------------

def _messages(response: object) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def staff_client() -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user())
    return client


def _post(client: Client, url: str, data: dict, page: object) -> object:
    return client.post(url, {**data, "csrfmiddlewaretoken": page.cookies[settings.CSRF_COOKIE_NAME].value})


@pytest.mark.django_db
def test_staff_upload_a_coco_file_map_its_categories_and_see_the_run_with_its_progress(job: Job) -> None:
    staff = staff_client()
    page = staff.get(f"/console/jobs/{job.pk}/")
    assert "Import pre-annotations" in page.content.decode()
    shown = _post(staff, f"/console/jobs/{job.pk}/import/", {
        "file": SimpleUploadedFile("client.json", coco_of(job, source_masks(job))), "format": "coco",
        "kind": "predictions"}, page)
    assert shown.status_code == 200
    html = shown.content.decode()
    assert "COCO category 3: dust" in html
    assert 'name="category_3"' in html
    assert shown.context["form"]["category_1"].initial == "scratch"  # named like a class: chosen already
    assert ImportRun.objects.count() == 0  # nothing before the operator confirms
    token = shown.context["form"]["token"].initial

    unmapped = _post(staff, f"/console/jobs/{job.pk}/import/confirm/", {
        "token": token, "kind": "predictions", "category_1": "scratch", "category_2": "crack"}, page)
    assert unmapped.status_code == 200
    assert "This field is required." in unmapped.content.decode()
    assert ImportRun.objects.count() == 0

    confirmed = _post(staff, f"/console/jobs/{job.pk}/import/confirm/", {
        "token": token, "kind": "predictions", "category_1": "scratch", "category_2": "crack",
        "category_3": "ignore"}, page)
    assert confirmed.status_code == 302
    run = ImportRun.objects.get()
    assert (run.format, run.category_map, run.file_name) == ("coco", {"1": "scratch", "2": "crack", "3": "ignore"},
                                                             "client.json")
    client_import.import_run_execute(run_id=run.pk)
    progress = staff.get(f"/console/imports/{run.pk}.json").json()
    assert (progress["state"], progress["finished"]) == ("done", True)
    assert (progress["photos_checked"], progress["photos_total"]) == (5, 5)
    again = staff.get(f"/console/jobs/{job.pk}/").content.decode()
    assert f'<progress id="import-{run.pk}-photos" data-value="photos_checked" data-max="photos_total" max="5" ' \
           'value="5">' in again


@pytest.mark.django_db
def test_a_label_studio_export_upload_is_queued_at_once(job: Job) -> None:
    staff = staff_client()
    page = staff.get(f"/console/jobs/{job.pk}/")
    response = _post(staff, f"/console/jobs/{job.pk}/import/", {
        "file": SimpleUploadedFile("export.json", labelstudio_of(job, source_masks(job))), "format": "labelstudio",
        "kind": "predictions"}, page)
    assert response.status_code == 302
    assert _messages(response) == ["Importing export.json in the background: every photo is checked before "
                                   "anything is written; the progress is below."]
    assert ImportRun.objects.get().state == ImportState.QUEUED


@pytest.mark.django_db
@pytest.mark.parametrize(("data", "expected"), [
    ({"format": "coco", "kind": "predictions"}, "Pre-annotation import: Pre-annotation file: This field is required."),
    ({"format": "yaml", "kind": "predictions", "file": ("a.json", b"[]")},
     "Pre-annotation import: Format: Select a valid choice. yaml is not one of the available choices."),
    ({"format": "coco", "kind": "predictions", "file": ("client.json", b"{not json")},
     "Import refused, nothing changed: file: client.json: not JSON"),
    ({"format": "coco", "kind": "predictions", "file": ("client.json", b'{"images": []}')},
     "Import refused, nothing changed: file: client.json: a COCO file is an object with the lists"),
])
def test_bad_input_on_the_upload_says_which_field_or_file_and_is_no_500(job: Job, data: dict,
                                                                        expected: str) -> None:
    staff = Client()
    staff.force_login(staff_user())
    if "file" in data:
        data = {**data, "file": SimpleUploadedFile(*data["file"])}
    response = staff.post(f"/console/jobs/{job.pk}/import/", data)
    assert response.status_code == 302
    assert _messages(response)[0].startswith(expected)
    assert ImportRun.objects.count() == 0


@pytest.mark.django_db
def test_a_forged_upload_token_is_refused(job: Job) -> None:
    staff = Client()
    staff.force_login(staff_user())
    response = staff.post(f"/console/jobs/{job.pk}/import/confirm/", {"token": "../../etc", "kind": "predictions"})
    assert response.status_code == 302
    assert _messages(response) == ["Import refused, nothing changed: upload: not an upload of this page; upload "
                                   "the file again."]


@pytest.mark.django_db
def test_the_import_pages_are_for_staff_only_and_need_csrf(job: Job) -> None:
    run = imported(job, ImportFormat.COCO, coco_of(job, source_masks(job)))
    contractor = Client()
    contractor.force_login(contractor_in_state(OnboardingState.ACTIVE).user)
    upload = {"file": SimpleUploadedFile("export.json", b"[]"), "format": "labelstudio", "kind": "predictions"}
    assert contractor.post(f"/console/jobs/{job.pk}/import/", upload).status_code == 403
    assert contractor.get(f"/console/imports/{run.pk}.json").status_code == 403
    assert Client().get(f"/console/imports/{run.pk}.json").status_code == 302  # to the login page
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff_user())
    upload["file"].seek(0)
    assert strict.post(f"/console/jobs/{job.pk}/import/", upload).status_code == 403
    assert ImportRun.objects.count() == 1


# --- the real Label Studio ---------------------------------------------------------------------------------

@pytest.mark.labelstudio
@pytest.mark.django_db
def test_a_published_batch_gets_the_imported_prediction_once_not_twice_on_reimport(job: Job,
                                                                                  label_studio: str) -> None:
    batch = job.batches.get(number=1)
    batch_publish(batch_id=batch.pk)
    batch.refresh_from_db()
    try:
        content = coco_of(job, source_masks(job))
        for _ in range(2):
            run = imported(job, ImportFormat.COCO, content)
            assert (run.state, run.error) == (ImportState.DONE, "")
        for bt in batch.batch_tasks.all():
            task = labelstudio.call(lambda ls, bt=bt: ls.tasks.get(id=bt.ls_task_id), what="read task")
            versions = sorted(p["model_version"] if isinstance(p, dict) else p.model_version
                              for p in task.predictions)
            assert versions == ["client-import: client.json", "sample-defect-model-v1"]
    finally:
        labelstudio.project_delete(project_id=batch.ls_project_id)
        Batch.objects.filter(pk=batch.pk).update(ls_project_id=None)


# --- a new job from a ZIP of photos ------------------------------------------------------------------------

@pytest.fixture
def uploads() -> Iterator[None]:
    """Removes what a new job's uploads leave under VAR_DIR."""
    yield
    shutil.rmtree(settings.VAR_DIR / client_import.UPLOAD_DIR / "new-jobs", ignore_errors=True)
    for run in ImportRun.objects.filter(kind=ImportKind.PHOTOS):
        shutil.rmtree(settings.VAR_DIR / client_import.PHOTOS_DIR / f"run-{run.pk}", ignore_errors=True)


def photos_zip(sample: Path, extra: dict[str, bytes] | None = None) -> bytes:  # noqa: F811
    return zip_of({f"client-photos/{p.name}": p.read_bytes() for p in sorted((sample / "images").glob("*.jpg"))}
                  | (extra or {}))


def job_form(**fields: object) -> dict:
    return {"name": "Zipped", "client": "Refurb Co", "instructions": "Paint defects.", "source_kind": "zip",
            "classes": "scratch | Scratch | #e6194b\ncrack | Crack | #f58231", "batch_size": 2, "gold_rate": "0",
            "quality_threshold": "0.5", "hourly_rate": "2.00", "weekly_cap_hours": "20", **fields}


@pytest.mark.django_db
def test_a_job_made_from_an_uploaded_zip_of_photos_gets_its_pre_annotations_before_it_is_published(
        sample: Path, uploads: None) -> None:  # noqa: F811
    staff = Client()
    staff.force_login(staff_user())
    expected = {Path(t["image"]).stem: t for t in json.loads((sample / "manifest.json").read_text())["tasks"]}
    masks = {key: {"crack": np.zeros((t["height"], t["width"]), bool)} for key, t in expected.items()}
    masks["screen_0002"]["crack"][5:50, 5:80] = True
    export = json.dumps([{"data": {"image": f"/data/local-files/?d=client/{key}.jpg"}, "predictions": [{"result": [
        brush_result(m, label="Crack", rid="c") for m in of_photo.values() if m.any()]}]}
        for key, of_photo in masks.items()]).encode()
    response = staff.post("/console/jobs/new/", job_form(
        photos_zip=SimpleUploadedFile("photos.zip", photos_zip(sample)),
        preannotations=SimpleUploadedFile("export.json", export), preannotations_format="labelstudio"))
    run = ImportRun.objects.get(kind=ImportKind.PHOTOS)
    assert response.status_code == 302
    assert response["Location"] == f"/console/imports/{run.pk}/"
    assert "photos.zip" in staff.get(response["Location"]).content.decode()

    run = client_import.job_from_zip_execute(run_id=run.pk)
    assert (run.state, run.error, run.photos_total, run.photos_checked) == (ImportState.DONE, "", 5, 5)
    job = Job.objects.get(name="Zipped")
    assert run.job == job
    assert job.tasks.count() == job.batches.count() * 2 - 1 == 5
    assert all((settings.VAR_DIR / t.image_path).is_file() for t in job.tasks.all())
    assert not (settings.VAR_DIR / run.upload_path).exists()  # unpacked, the ZIP is not kept twice
    follow = ImportRun.objects.get(job=job, kind=ImportKind.PREDICTIONS)
    assert follow.publish_when_done
    assert client_import.import_run_execute(run_id=follow.pk).state == ImportState.DONE
    task = job.tasks.get(key="screen_0002")
    assert np.array_equal(predicted(task)["crack"], masks["screen_0002"]["crack"])


@pytest.mark.django_db
def test_a_job_made_from_a_zip_with_a_coco_file_waits_for_its_category_map_then_publishes_with_it(
        sample: Path, uploads: None) -> None:  # noqa: F811
    staff = Client()
    staff.force_login(staff_user())
    photos = sorted((sample / "images").glob("*.jpg"))
    coco = json.dumps({"images": [{"id": 1, "file_name": photos[1].name, "width": 640, "height": 427}],
                       "annotations": [{"id": 1, "image_id": 1, "category_id": 7,
                                        "segmentation": [crack_polygons()[0]]}],
                       "categories": [{"id": 7, "name": "Crack"}]}).encode()
    response = staff.post("/console/jobs/new/", job_form(
        photos_zip=SimpleUploadedFile("photos.zip", photos_zip(sample)),
        preannotations=SimpleUploadedFile("model.json", coco), preannotations_format="coco"))
    assert response.status_code == 302
    run = client_import.job_from_zip_execute(run_id=ImportRun.objects.get(kind=ImportKind.PHOTOS).pk)
    assert run.state == ImportState.DONE, run.error
    job = run.job
    assert not ImportRun.objects.filter(job=job, kind=ImportKind.PREDICTIONS).exists()
    page = staff.get(f"/console/imports/{run.pk}/").content.decode()
    assert "Map the COCO categories of model.json" in page
    assert "The batches wait for the pre-annotations" in staff.get(f"/console/jobs/{job.pk}/").content.decode()

    mapping = staff.get(f"/console/jobs/{job.pk}/import/confirm/")
    form = mapping.context["form"]
    assert form["category_7"].initial == "crack"  # matched by name, for the operator to confirm
    confirmed = staff.post(f"/console/jobs/{job.pk}/import/confirm/", {
        "token": form["token"].initial, "kind": "predictions", "category_7": "crack"})
    assert confirmed.status_code == 302
    follow = ImportRun.objects.get(job=job, kind=ImportKind.PREDICTIONS)
    assert (follow.format, follow.publish_when_done, follow.category_map) == ("coco", True, {"7": "crack"})
    assert "The batches wait" not in staff.get(f"/console/jobs/{job.pk}/").content.decode()
    assert staff.get(f"/console/jobs/{job.pk}/import/confirm/").status_code == 302  # nothing waits any more
    assert client_import.import_run_execute(run_id=follow.pk).state == ImportState.DONE
    expected = coco_mask.decode(coco_mask.merge(coco_mask.frPyObjects([crack_polygons()[0]], 427, 640))).astype(bool)
    assert np.array_equal(predicted(job.tasks.get(key=photos[1].stem))["crack"], expected)


@pytest.mark.django_db
def test_a_coco_file_without_categories_refuses_the_new_job_at_once(sample: Path, uploads: None) -> None:  # noqa: F811
    staff = Client()
    staff.force_login(staff_user())
    response = staff.post("/console/jobs/new/", job_form(
        photos_zip=SimpleUploadedFile("photos.zip", photos_zip(sample)),
        preannotations=SimpleUploadedFile("model.json", b'{"images": []}'), preannotations_format="coco"))
    assert response.status_code == 200
    assert "model.json" in " ".join(response.context["form"].errors["preannotations"])
    assert ImportRun.objects.count() == 0
    assert not any((settings.VAR_DIR / client_import.UPLOAD_DIR / "new-jobs").glob("*/*"))  # nothing kept


@pytest.mark.django_db
@pytest.mark.parametrize(("extra", "expected"), [
    ({"../evil.jpg": b"x"}, "photos: photos.zip: unsafe file names (absolute, with '..' or a backslash): "
                            "'../evil.jpg'."),
    ({"notes.txt": b"x"}, "photos: photos.zip holds files that are no photo: 'notes.txt'."),
    ({"client-photos/broken.jpg": b"\xff\xd8 not a jpeg"}, "images: broken.jpg is not a readable image"),
])
def test_a_bad_zip_of_photos_makes_no_job_and_leaves_no_photo_behind(sample: Path, uploads: None,  # noqa: F811
                                                                     extra: dict, expected: str) -> None:
    token = client_import.import_upload_store(job=None, name="photos.zip", chunks=[photos_zip(sample, extra)])
    run = client_import.job_from_zip_enqueue(
        archive_token=token, actor=None, name="Zipped", client="Refurb Co", instructions="x", batch_size=2,
        gold_rate=Decimal("0"), quality_threshold=Decimal("0.5"), hourly_rate=None, weekly_cap_hours=None,
        classes=DEFECT_CLASSES)
    run = client_import.job_from_zip_execute(run_id=run.pk)
    assert run.state == ImportState.FAILED
    assert run.error.startswith(expected)
    assert not Job.objects.filter(name="Zipped").exists()
    assert not (settings.VAR_DIR / client_import.PHOTOS_DIR / f"run-{run.pk}").exists()


@pytest.mark.django_db
def test_the_new_job_form_asks_for_the_zip_when_zip_is_chosen(uploads: None) -> None:
    staff = Client()
    staff.force_login(staff_user())
    response = staff.post("/console/jobs/new/", job_form())
    assert response.status_code == 200
    assert response.context["form"].errors == {"photos_zip": ["Choose the ZIP of photos."]}
    assert ImportRun.objects.count() == 0


@pytest.mark.django_db
def test_label_studio_down_keeps_the_run_waiting_and_a_retry_sends_only_what_is_missing(
        job: Job, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = list(job.batches.get(number=1).batch_tasks.order_by("id"))
    for number, bt in enumerate(rows, start=3000):
        bt.ls_task_id = number
    BatchTask.objects.bulk_update(rows, ["ls_task_id"])
    sent: list[int] = []

    def flaky(*, ls_task_id: int, result: list, model_version: str) -> int:
        if len(sent) == 1:
            raise labelstudio.LabelStudioUnavailable("Label Studio unavailable while trying to add a prediction.")
        sent.append(ls_task_id)
        return ls_task_id

    monkeypatch.setattr(labelstudio, "prediction_create", flaky)
    path = stored(job, "client.json", coco_of(job, source_masks(job)))
    run = client_import.preannotations_import(job=job, upload_path=path, fmt=ImportFormat.COCO,
                                              category_map=MAPPING, actor=None)
    with pytest.raises(labelstudio.LabelStudioUnavailable):
        client_import.import_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.state == ImportState.RUNNING
    assert "Retrying" in run.error
    monkeypatch.setattr(labelstudio, "prediction_create", lambda *, ls_task_id, result, model_version:
                        sent.append(ls_task_id) or 1)
    assert client_import.import_run_execute(run_id=run.pk).state == ImportState.DONE
    assert sorted(sent) == sorted(bt.ls_task_id for bt in rows)  # each once

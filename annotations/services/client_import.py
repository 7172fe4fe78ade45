"""A client's data in: pre-annotations (or gold) into a job from an uploaded Label Studio export, COCO file or ZIP of
PNG masks, and a new job from an uploaded ZIP of photos. Each upload is kept under VAR_DIR, then checked whole and
written by Celery (annotations.tasks.run_import, create_job_from_zip), all or nothing.

Unpublished tasks get Task.prediction (publishing sends it); tasks already in Label Studio also get the prediction
added there, once: PredictionSent keeps the digest of what each one holds, so importing the same file again adds
nothing.
"""
import json
import logging
import re
import shutil
import uuid
import zipfile
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotations import labelstudio
from annotations.defects import DefectClass
from annotations.models import (
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
from annotations.quality.mask_archive import MaskArchiveError, archive_files, listed, unpacked
from annotations.quality.preannotations import (
    IGNORE,
    Photo,
    PhotoMasks,
    PreannotationError,
    brush_results,
    coco_categories,
    masks_from_coco,
    masks_from_labelstudio,
    masks_from_png_zip,
    results_digest,
)
from annotations.selectors.imports import coco_awaited
from annotations.services import dispatch, jobs, publishing
from annotations.services.gold import TaskFinder, gold_set_many
from common.errors import DomainError
from workforce.models import User

logger = logging.getLogger(__name__)

UPLOAD_DIR = "imports"  # under VAR_DIR: job-<pk>/<token>/<file>
MODEL_VERSION = "client-import"
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_GOLD_SOURCES = {ImportFormat.LABEL_STUDIO: GoldSource.IMPORT, ImportFormat.COCO: GoldSource.IMPORT_COCO,
                 ImportFormat.PNG_ZIP: GoldSource.IMPORT_PNG}


# --- the upload ---------------------------------------------------------------------------------------------

def _upload_folder(job: Job | None, token: str) -> Path:
    if not _TOKEN.match(token):
        raise DomainError("upload: not an upload of this page; upload the file again.", field="file")
    return settings.VAR_DIR / UPLOAD_DIR / (f"job-{job.pk}" if job else "new-jobs") / token


def import_upload_store(*, job: Job | None, name: str, chunks: Iterable[bytes], max_bytes: int | None = None) -> str:
    """Keep an uploaded file under VAR_DIR for the import that follows (job None: for a job still to make);
    returns its token (the file's folder)."""
    limit = max_bytes or settings.GOLD_IMPORT_MAX_BYTES
    token = uuid.uuid4().hex
    folder = _upload_folder(job, token)
    folder.mkdir(parents=True)
    # Only the name's last part and a few characters are kept: it is shown and used as a file name.
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name)[-100:].lstrip(".") or "upload"
    size = 0
    with (folder / safe).open("wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if size > limit:
                shutil.rmtree(folder, ignore_errors=True)
                raise DomainError(f"file: more than the limit of {limit:,} bytes.", field="file")
            out.write(chunk)
    return token


def import_upload_path(*, job: Job | None, token: str) -> Path:
    """The file an earlier upload of this job's page kept under `token`."""
    folder = _upload_folder(job, token)
    files = sorted(folder.glob("*")) if folder.is_dir() else []
    if len(files) != 1:
        raise DomainError("upload: the uploaded file is gone; upload it again.", field="file")
    return files[0]


def import_upload_discard(*, job: Job | None, token: str) -> None:
    """Remove an upload kept for an import that was refused."""
    if token:
        shutil.rmtree(_upload_folder(job, token), ignore_errors=True)


def import_upload_categories(*, job: Job, token: str) -> dict[int, str]:
    """The COCO categories of an uploaded file, id -> name, for the operator to map."""
    path = import_upload_path(job=job, token=token)
    try:
        return coco_categories(path.read_bytes(), file=path.name)
    except PreannotationError as exc:
        raise DomainError(f"file: {exc}", field="file") from None


# --- queueing -----------------------------------------------------------------------------------------------

@transaction.atomic
def preannotations_import(*, job: Job, upload_path: Path, fmt: str, category_map: dict[int, str] | None,
                          actor: User | None, kind: str = ImportKind.PREDICTIONS) -> ImportRun:
    """Queue the import of an uploaded file (under VAR_DIR) into the job, after commit; returns its run.

    COCO needs a category_map (category id -> class key or "ignore") covering every category of the file. A job
    whose batches were held back for it (never published: made from a ZIP with a COCO file whose categories the
    operator maps once the photos are in) is published when the run is done.
    """
    if fmt not in ImportFormat.values:
        raise DomainError(f"format: one of {', '.join(ImportFormat.values)}.", field="format")
    if kind not in (ImportKind.PREDICTIONS, ImportKind.GOLD):
        raise DomainError(f"kind: {ImportKind.PREDICTIONS} or {ImportKind.GOLD}.", field="kind")
    try:
        relative = upload_path.resolve().relative_to(settings.VAR_DIR.resolve())
    except ValueError:
        raise DomainError(f"file: {upload_path} is outside {settings.VAR_DIR}.", field="file") from None
    if not upload_path.is_file():
        raise DomainError(f"file: {upload_path.name} does not exist.", field="file")
    if fmt == ImportFormat.COCO:
        keys = {c["key"] for c in job.label_classes} | {IGNORE}
        wrong = sorted(str(v) for v in (category_map or {}).values() if v not in keys)
        if category_map is None or wrong:
            raise DomainError("category_map: map every COCO category to a class of the job or to ignore"
                              + (f" (not {', '.join(wrong)})." if wrong else "."), field="category_map")
    run = ImportRun.objects.create(job=job, kind=kind, format=fmt, file_name=upload_path.name,
                                   upload_path=str(relative), created_by=actor,
                                   category_map={str(k): v for k, v in (category_map or {}).items()},
                                   publish_when_done=kind == ImportKind.PREDICTIONS and bool(coco_awaited(job)))
    dispatch.task_send("run_import", run.pk)
    return run


# --- the Celery side --------------------------------------------------------------------------------------

def _progress(run: ImportRun, **fields: object) -> None:
    """Counters and state written at once, outside any transaction, so the page's progress bar sees them."""
    ImportRun.objects.filter(pk=run.pk).update(**fields)


def _photo_masks(run: ImportRun, finder: TaskFinder, classes: list[DefectClass]) -> Iterable[PhotoMasks]:
    path = settings.VAR_DIR / run.upload_path
    content = path.read_bytes()
    photos = {task.key: Photo(task.key, task.width, task.height) for task in finder.tasks.values()}

    def locate(data: dict, where: str) -> Photo:
        try:
            return photos[finder.find(data, where).key]
        except DomainError as exc:  # TaskFinder speaks of gold's "document" field; here it is the file
            raise PreannotationError(exc.message.removeprefix(f"{exc.field}: ")) from None

    def totals(photos_total: int, masks_total: int) -> None:
        _progress(run, photos_total=photos_total, masks_total=masks_total)

    if run.format == ImportFormat.COCO:
        return masks_from_coco(content, file=run.file_name, locate=locate, classes=classes, totals=totals,
                               category_map={int(k): v for k, v in run.category_map.items()})
    if run.format == ImportFormat.PNG_ZIP:
        return masks_from_png_zip(content, file=run.file_name, photos=photos, classes=classes, totals=totals,
                                  max_files=settings.GOLD_IMPORT_MAX_FILES, max_bytes=settings.GOLD_IMPORT_MAX_BYTES)
    return masks_from_labelstudio(content, file=run.file_name, locate=locate, classes=classes, totals=totals)


def _converted(run: ImportRun) -> dict[int, tuple[Task, str]]:
    """Every photo of the file as its brush results (compact JSON: a 20 MP job's results as Python lists would
    not fit in memory), by task id; raises PreannotationError or DomainError before anything is written."""
    finder = TaskFinder(run.job)
    by_key = {task.key: task for task in finder.tasks.values()}
    classes = [DefectClass(c["key"], c["label"], c["colour"]) for c in run.job.label_classes]
    source = "gold" if run.kind == ImportKind.GOLD else "prediction"
    converted: dict[int, tuple[Task, str]] = {}
    checked = decoded = 0
    for photo, masks, sources in _photo_masks(run, finder, classes):
        results = brush_results(photo, masks, classes=classes, source=source)
        del masks
        converted[by_key[photo.key].pk] = (by_key[photo.key], json.dumps(results, separators=(",", ":")))
        checked, decoded = checked + 1, decoded + sources
        _progress(run, photos_checked=checked, masks_decoded=decoded)
    return converted


def import_run_execute(*, run_id: int) -> ImportRun:
    """Run a queued import: convert and check the whole file, then write (all or nothing); a refusal fails the
    run with its reason and changes nothing. Safe to run again (a retry after Label Studio went down)."""
    run = ImportRun.objects.select_related("job").get(pk=run_id)
    if run.state in (ImportState.DONE, ImportState.FAILED):
        return run
    _progress(run, state=ImportState.RUNNING, error="")
    try:
        converted = _converted(run)
        _progress(run, tasks_total=len(converted), tasks_published=0)
        if run.kind == ImportKind.GOLD:
            gold_set_many(answers=[(task, json.loads(text), run.file_name) for task, text in converted.values()],
                          source=_GOLD_SOURCES[run.format], actor=run.created_by, field="file")
            _progress(run, tasks_published=len(converted))
        else:
            _predictions_write(run, converted)
    except (PreannotationError, DomainError, OSError) as exc:
        message = exc.message if isinstance(exc, DomainError) else str(exc)
        _progress(run, state=ImportState.FAILED, error=message, finished_at=timezone.now())
        logger.info("import %s refused: %s", run.pk, message)
    else:
        _progress(run, state=ImportState.DONE, finished_at=timezone.now())
        if run.publish_when_done:
            publishing.job_publish_enqueue(job=run.job)
    run.refresh_from_db()
    return run


def import_run_abandon(*, run_id: int, reason: str) -> None:
    """Fail a run whose Label Studio sends kept failing: its tasks' predictions are written, some published tasks
    lack it in Label Studio; importing the same file again sends only those."""
    _progress(ImportRun(pk=run_id), state=ImportState.FAILED, finished_at=timezone.now(),
              error=f"{reason} Gave up: every task's prediction is saved, but some tasks already in Label Studio "
                    "do not have it there yet; import the same file again to send only those.")


def _predictions_write(run: ImportRun, converted: dict[int, tuple[Task, str]]) -> None:
    """Task.prediction of every task, in one transaction; then, for tasks already in Label Studio, the prediction
    added there unless it holds it already (each send recorded as it happens, so a retry resumes)."""
    model_version = f"{MODEL_VERSION}: {run.file_name}"[:200]
    in_studio = list(BatchTask.objects.filter(task_id__in=converted, ls_task_id__isnull=False)
                     .select_related("prediction_sent").order_by("id"))
    with transaction.atomic():
        unsent = [bt for bt in in_studio if not hasattr(bt, "prediction_sent")]
        # What Label Studio holds for a task published with Task.prediction, before it is replaced here.
        published_with = dict(Task.objects.filter(pk__in={bt.task_id for bt in unsent})
                              .values_list("pk", "prediction"))
        for bt in unsent:
            prediction = published_with[bt.task_id]
            bt.prediction_sent = PredictionSent.objects.create(
                batch_task=bt, digest=results_digest(prediction.get("result", [])) if prediction else "")
        for pk, (_, text) in converted.items():
            Task.objects.filter(pk=pk).update(prediction={"model_version": model_version,
                                                          "result": json.loads(text)})
    by_task: dict[int, list[BatchTask]] = {}
    for bt in in_studio:  # a gold photo is in several batches, so in several projects
        by_task.setdefault(bt.task_id, []).append(bt)
    _progress(run, tasks_published=len(converted) - len(by_task))
    for task_id, rows in by_task.items():
        result = json.loads(converted[task_id][1])
        digest = results_digest(result)
        for bt in rows:
            if bt.prediction_sent.digest != digest:
                try:
                    labelstudio.prediction_create(ls_task_id=bt.ls_task_id, result=result,
                                                  model_version=model_version)
                except labelstudio.LabelStudioUnavailable as exc:  # Celery retries; the run says why it waits
                    _progress(run, error=f"{exc} Retrying; the photos already sent are not sent again.")
                    raise
                PredictionSent.objects.filter(pk=bt.prediction_sent.pk).update(digest=digest, sent_at=timezone.now())
        ImportRun.objects.filter(pk=run.pk).update(tasks_published=F("tasks_published") + 1)


# --- a new job from a ZIP of photos -------------------------------------------------------------------------

PHOTOS_DIR = "media/uploads"  # under VAR_DIR, where Label Studio serves the photos from: run-<pk>/


def _job_params(*, name: str, client: str, instructions: str, batch_size: int, gold_rate: Decimal,
                quality_threshold: Decimal, hourly_rate: Decimal | None, weekly_cap_hours: Decimal | None,
                classes: tuple[DefectClass, ...], annotators_per_photo: int = 1, listed: bool = False,
                guideline_languages: list[str] | None = None) -> dict:
    """job_create's arguments as JSON, for the Celery message."""
    return {"name": name, "client": client, "instructions": instructions, "batch_size": batch_size,
            "annotators_per_photo": annotators_per_photo,
            "gold_rate": str(gold_rate), "quality_threshold": str(quality_threshold),
            "hourly_rate": None if hourly_rate is None else str(hourly_rate),
            "weekly_cap_hours": None if weekly_cap_hours is None else str(weekly_cap_hours),
            "classes": [[c.key, c.label, c.colour] for c in classes],
            "listed": listed, "guideline_languages": guideline_languages}


@transaction.atomic
def job_from_zip_enqueue(*, archive_token: str, actor: User | None, preannotations_token: str = "",
                         preannotations_format: str = "", **job: object) -> ImportRun:
    """Queue the making of a job from an uploaded ZIP of photos (kept by import_upload_store with job None), its
    batches and, when given, its pre-annotations (imported before the batches are published); returns the run.
    `job` holds job_create's settings: name, client, instructions, batch_size, gold_rate, quality_threshold,
    hourly_rate, weekly_cap_hours, classes, annotators_per_photo, listed, guideline_languages."""
    archive = import_upload_path(job=None, token=archive_token)
    if preannotations_token and preannotations_format not in ImportFormat.values:
        raise DomainError(f"preannotations_format: one of {', '.join(ImportFormat.values)}.",
                          field="preannotations_format")
    later = {"token": preannotations_token, "format": preannotations_format} if preannotations_token else {}
    if later:
        kept = import_upload_path(job=None, token=preannotations_token)  # still there
        later["name"] = kept.name
        if preannotations_format == ImportFormat.COCO:  # a file without readable categories is refused now
            try:
                coco_categories(kept.read_bytes(), file=kept.name)
            except PreannotationError as exc:
                raise DomainError(f"preannotations: {exc}", field="preannotations") from None
    run = ImportRun.objects.create(kind=ImportKind.PHOTOS, format=ImportFormat.PNG_ZIP, file_name=archive.name,
                                   upload_path=str(archive.relative_to(settings.VAR_DIR)), created_by=actor,
                                   job_settings={"job": _job_params(**job), "preannotations": later})
    dispatch.task_send("create_job_from_zip", run.pk)
    return run


def _photos_unpacked(run: ImportRun, dest: Path) -> None:
    """The photos of the run's ZIP written flat into `dest`: safe names, count and size within limits, only photos,
    no two with one name; refused otherwise, with nothing left behind."""
    try:
        opened = zipfile.ZipFile(settings.VAR_DIR / run.upload_path)  # read in place: it may weigh gigabytes
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DomainError(f"photos: {run.file_name} is not a ZIP file ({exc}).", field="photos") from None
    with opened:
        try:
            files = archive_files(opened, max_files=settings.PHOTOS_UPLOAD_MAX_FILES,
                                  max_bytes=settings.PHOTOS_UPLOAD_MAX_BYTES,
                                  holds=f"photos ({', '.join(jobs.IMAGE_SUFFIXES)})",
                                  limits=("PHOTOS_UPLOAD_MAX_FILES", "PHOTOS_UPLOAD_MAX_BYTES"))
        except MaskArchiveError as exc:
            raise DomainError(f"photos: {run.file_name}: {exc}", field="photos") from None
        names = [PurePosixPath(info.filename).name for info in files]
        others = [info.filename for info in files if PurePosixPath(info.filename).suffix.lower()
                  not in jobs.IMAGE_SUFFIXES]
        twice = sorted({name for name in names if names.count(name) > 1})
        if others or twice:
            problem = (f"files that are no photo: {listed(others)}" if others
                       else f"several photos named {listed(twice)}")
            raise DomainError(f"photos: {run.file_name} holds {problem}.", field="photos")
        _progress(run, photos_total=len(files))
        dest.mkdir(parents=True)
        for done, (info, name) in enumerate(zip(files, names, strict=True), start=1):
            try:
                (dest / name).write_bytes(unpacked(opened, info))
            except MaskArchiveError as exc:
                raise DomainError(f"photos: {run.file_name}: {exc}", field="photos") from None
            _progress(run, photos_checked=done)


def job_from_zip_execute(*, run_id: int) -> ImportRun:
    """Unpack the run's photos under VAR_DIR, make the job with job_create's checks (all or nothing) and cut its
    batches; then queue its pre-annotations, whose run publishes the batches when done, or publish them now."""
    run = ImportRun.objects.get(pk=run_id)
    if run.state in (ImportState.DONE, ImportState.FAILED):
        return run
    _progress(run, state=ImportState.RUNNING, error="")
    dest = settings.VAR_DIR / PHOTOS_DIR / f"run-{run.pk}"
    shutil.rmtree(dest, ignore_errors=True)  # a retry starts again
    params, later = run.job_settings["job"], run.job_settings["preannotations"]
    decimal = {k: None if params[k] is None else Decimal(params[k])
               for k in ("gold_rate", "quality_threshold", "hourly_rate", "weekly_cap_hours")}
    try:
        _photos_unpacked(run, dest)
        with transaction.atomic():
            job, added = jobs.job_create(
                name=params["name"], client=params["client"], instructions=params["instructions"],
                specs=jobs.specs_from_folder(dest), image_source=f"{run.file_name} (uploaded)",
                actor=run.created_by, batch_size=params["batch_size"], **decimal,
                annotators_per_photo=params.get("annotators_per_photo", 1),
                listed=params.get("listed", False), guideline_languages=params.get("guideline_languages"),
                classes=tuple(DefectClass(*c) for c in params["classes"]))
            jobs.batches_cut(job=job)
            ImportRun.objects.filter(pk=run.pk).update(job=job, tasks_total=added, tasks_published=added,
                                                       state=ImportState.DONE, finished_at=timezone.now())
            if later and later["format"] == ImportFormat.COCO:
                # Kept with the job's uploads: the operator maps its categories (the run's page links there), and
                # that import publishes the batches when it is done.
                _upload_folder(job, later["token"]).parent.mkdir(parents=True, exist_ok=True)
                shutil.move(_upload_folder(None, later["token"]), _upload_folder(job, later["token"]))
            elif later:
                follow = preannotations_import(job=job, fmt=later["format"], category_map=None, actor=run.created_by,
                                               upload_path=import_upload_path(job=None, token=later["token"]))
                ImportRun.objects.filter(pk=follow.pk).update(publish_when_done=True)
            else:
                publishing.job_publish_enqueue(job=job)
    except DomainError as exc:
        shutil.rmtree(dest, ignore_errors=True)
        _progress(run, state=ImportState.FAILED, error=exc.message, finished_at=timezone.now())
    else:  # the photos now live unpacked under PHOTOS_DIR; the ZIP would only double their weight on disk
        (settings.VAR_DIR / run.upload_path).unlink(missing_ok=True)
    run.refresh_from_db()
    return run

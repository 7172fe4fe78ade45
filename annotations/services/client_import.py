"""A client's pre-annotations (or gold) into a job: an uploaded Label Studio export, COCO file or ZIP of PNG masks,
stored under VAR_DIR, then checked whole and written by Celery (annotations.tasks.run_import), all or nothing.

Unpublished tasks get Task.prediction (publishing sends it); tasks already in Label Studio also get the prediction
added there, once: PredictionSent keeps the digest of what each one holds, so importing the same file again adds
nothing.
"""
import json
import logging
import re
import uuid
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotations import labelstudio
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
from annotations.quality.preannotations import (
    IGNORE,
    DefectLabel,
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
from annotations.services import dispatch
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

def _upload_folder(job: Job, token: str) -> Path:
    if not _TOKEN.match(token):
        raise DomainError("upload: not an upload of this page; upload the file again.", field="file")
    return settings.VAR_DIR / UPLOAD_DIR / f"job-{job.pk}" / token


def import_upload_store(*, job: Job, name: str, chunks: Iterable[bytes]) -> str:
    """Keep an uploaded file under VAR_DIR for the import that follows; returns its token (the file's folder)."""
    token = uuid.uuid4().hex
    folder = _upload_folder(job, token)
    folder.mkdir(parents=True)
    # Only the name's last part and a few characters are kept: it is shown and used as a file name.
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name)[-100:].lstrip(".") or "upload"
    size = 0
    with (folder / safe).open("wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if size > settings.GOLD_IMPORT_MAX_BYTES:
                raise DomainError(f"file: more than the limit of {settings.GOLD_IMPORT_MAX_BYTES:,} bytes "
                                  "(GOLD_IMPORT_MAX_BYTES).", field="file")
            out.write(chunk)
    return token


def import_upload_path(*, job: Job, token: str) -> Path:
    """The file an earlier upload of this job's page kept under `token`."""
    files = sorted(_upload_folder(job, token).glob("*")) if _upload_folder(job, token).is_dir() else []
    if len(files) != 1:
        raise DomainError("upload: the uploaded file is gone; upload it again.", field="file")
    return files[0]


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

    COCO needs a category_map (category id -> class key or "ignore") covering every category of the file.
    """
    if fmt not in ImportFormat.values:
        raise DomainError(f"format: one of {', '.join(ImportFormat.values)}.", field="format")
    if kind not in ImportKind.values:
        raise DomainError(f"kind: one of {', '.join(ImportKind.values)}.", field="kind")
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
                                   category_map={str(k): v for k, v in (category_map or {}).items()})
    dispatch.task_send("run_import", run.pk)
    return run


# --- the Celery side --------------------------------------------------------------------------------------

def _progress(run: ImportRun, **fields: object) -> None:
    """Counters and state written at once, outside any transaction, so the page's progress bar sees them."""
    ImportRun.objects.filter(pk=run.pk).update(**fields)


def _photo_masks(run: ImportRun, finder: TaskFinder, classes: list[DefectLabel]) -> Iterable[PhotoMasks]:
    path = settings.VAR_DIR / run.upload_path
    content = path.read_bytes()
    photos = {task.key: Photo(task.key, task.width, task.height) for task in finder.tasks.values()}

    def locate(data: dict, where: str) -> Photo:
        task = finder.find(data, where)
        return photos[task.key]

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
    classes = [DefectLabel(c["key"], c["label"]) for c in run.job.label_classes]
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
    run.refresh_from_db()
    return run


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

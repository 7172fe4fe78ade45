"""Gold from a ZIP of PNG masks, one file per task and defect class, and the one entry point for an uploaded
gold file of either kind (that, or a Label Studio JSON export)."""
import io
import logging
import zipfile

from django.conf import settings

from annotations.models import GoldSource, Job, Task
from annotations.quality.labelstudio_json import brush_result, result_id
from annotations.quality.mask_archive import NAMING, MaskArchiveError, archive_files, files_by_photo, unpacked_png
from annotations.quality.png_masks import PNG_SIGNATURE, MaskImageError, mask_from_png
from annotations.services.gold import TaskFinder, gold_import, gold_set_many
from common.errors import DomainError
from workforce.models import User

logger = logging.getLogger(__name__)

ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # a ZIP with files; an empty ZIP
JSON_MAX_BYTES = 50 * 2**20


def _refused(message: str) -> DomainError:
    return DomainError(f"archive: {message}", field="archive")


def _gold_result(archive: zipfile.ZipFile, task: Task, files: dict[str, zipfile.ZipInfo], job: Job) -> list[dict]:
    """The task's brush results as the sample job writes its gold: one per painted class, in the job's class
    order; a class without a file, or with an empty mask, is not painted."""
    result = []
    for cls in job.label_classes:
        info = files.get(cls["key"])
        if info is None:
            continue
        try:
            mask = mask_from_png(unpacked_png(archive, info, width=task.width, height=task.height),
                                 width=task.width, height=task.height)
        except MaskImageError as exc:
            raise _refused(f"{info.filename} {exc}.") from None
        except MaskArchiveError as exc:
            raise _refused(str(exc)) from None
        if mask.any():
            result.append(brush_result(mask, label=cls["label"], rid=result_id(task.key, "gold", cls["key"])))
    return result


def gold_import_masks(*, job: Job, archive: bytes, actor: User | None = None) -> int:
    """Gold from a ZIP of PNG masks; returns how many tasks got a new gold version.

    One PNG per task and class, named `<task key>_<class key>.png` or `<task key>/<class key>.png`, the
    lot optionally inside one top folder; a pixel above zero (alpha, when the PNG has an alpha channel)
    paints the class; each PNG is the size of its task's photo. A task with files gets exactly the classes
    painted in them; a task without keeps its gold. All or nothing: any bad file refuses the archive,
    and every file is read before anything is written.
    """
    try:
        opened = zipfile.ZipFile(io.BytesIO(archive))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _refused(f"not a ZIP file ({exc}).") from None
    with opened:
        finder = TaskFinder(job)
        try:
            files = archive_files(opened, max_files=settings.GOLD_IMPORT_MAX_FILES,
                                  max_bytes=settings.GOLD_IMPORT_MAX_BYTES)
            by_task = files_by_photo(files, finder.by_key, [c["key"] for c in job.label_classes], str(job))
        except MaskArchiveError as exc:
            raise _refused(str(exc)) from None
        answers = [(task, _gold_result(opened, task, of_task, job), f"{len(of_task)} PNG mask(s)")
                   for task, of_task in by_task]
    updated = gold_set_many(answers=answers, source=GoldSource.IMPORT_PNG, actor=actor, field="archive")
    logger.info("job %s: PNG gold for %s tasks, %s new versions", job.pk, len(answers), updated)
    return updated


def gold_import_file(*, job: Job, content: bytes, name: str = "", actor: User | None = None) -> int:
    """Gold from an uploaded file, a ZIP of PNG masks (by its content or a .zip name) or else a Label Studio
    JSON export; returns how many tasks got a new gold version."""
    if len(content) > settings.GOLD_IMPORT_MAX_BYTES:
        raise DomainError(f"file: {len(content):,} bytes, more than the limit of {settings.GOLD_IMPORT_MAX_BYTES:,} "
                          "(GOLD_IMPORT_MAX_BYTES).", field="file")
    if content.startswith(ZIP_SIGNATURES) or name.lower().endswith(".zip"):
        return gold_import_masks(job=job, archive=content, actor=actor)
    if content.startswith(PNG_SIGNATURE):
        raise DomainError(f"file: a single PNG; put the masks in a ZIP, named {NAMING}.", field="file")
    if len(content) > JSON_MAX_BYTES:  # parsed whole, a JSON export takes many times its size in memory
        raise DomainError(f"document: {len(content):,} bytes, more than the {JSON_MAX_BYTES // 2**20} MB a Label "
                          "Studio export may weigh.", field="document")
    return gold_import(job=job, document=content, actor=actor)

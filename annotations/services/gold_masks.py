"""Gold from a ZIP of PNG masks, one file per task and defect class, and the one entry point for an uploaded
gold file of either kind (that, or a Label Studio JSON export)."""
import io
import logging
import zipfile
import zlib
from pathlib import PurePosixPath

from django.conf import settings

from annotations.models import GoldSource, Job, Task
from annotations.quality.labelstudio_json import brush_result, result_id
from annotations.quality.png_masks import PNG_SIGNATURE, MaskImageError, mask_from_png
from annotations.services.gold import TaskFinder, gold_import, gold_set_many
from common.errors import DomainError
from workforce.models import User

logger = logging.getLogger(__name__)

ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # a ZIP with files; an empty ZIP
NAMING = "<task key>_<class key>.png or <task key>/<class key>.png"
JSON_MAX_BYTES = 50 * 2**20
_SHOWN = 5  # file names an error lists before "and N more"
# What an archiver adds beside the files (macOS Finder's resource forks and folder settings).
_METADATA_FOLDER, _METADATA_FILE = "__MACOSX", ".DS_Store"


def _refused(message: str) -> DomainError:
    return DomainError(f"archive: {message}", field="archive")


def _listed(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def _unsafe(name: str) -> bool:
    """Absolute, climbing out with '..', or a Windows path: never written to disk here, refused all the same."""
    return (not name or name.startswith("/") or "\\" in name or ".." in PurePosixPath(name).parts
            or name[1:2] == ":")


def _files(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The archive's files (not folders or archiver metadata) once its names, count and unpacked size pass."""
    unsafe = [info.filename for info in archive.infolist() if _unsafe(info.filename)]
    if unsafe:
        raise _refused(f"unsafe file names (absolute, with '..' or a backslash): {_listed(unsafe)}.")
    files = [info for info in archive.infolist() if not info.is_dir()
             and PurePosixPath(info.filename).parts[0] != _METADATA_FOLDER
             and PurePosixPath(info.filename).name != _METADATA_FILE]
    if not files:
        raise _refused(f"no file in the ZIP; it holds one PNG mask per task and class, named {NAMING}.")
    if len(files) > settings.GOLD_IMPORT_MAX_FILES:
        raise _refused(f"{len(files):,} files, more than the limit of {settings.GOLD_IMPORT_MAX_FILES:,} "
                       "(GOLD_IMPORT_MAX_FILES).")
    unpacked = sum(info.file_size for info in files)
    if unpacked > settings.GOLD_IMPORT_MAX_BYTES:
        raise _refused(f"its files unpack to {unpacked:,} bytes, more than the limit of "
                       f"{settings.GOLD_IMPORT_MAX_BYTES:,} (GOLD_IMPORT_MAX_BYTES).")
    return files


def _relative_parts(files: list[zipfile.ZipInfo],
                    by_key: dict[str, Task]) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """Each file with its path parts below the one top folder the whole archive may sit in (a folder
    named like a task is that task's folder, not a top folder)."""
    parts = [(info, PurePosixPath(info.filename).parts) for info in files]
    tops = {p[0] for _, p in parts}
    if len(tops) == 1 and all(len(p) > 1 for _, p in parts) and next(iter(tops)) not in by_key:
        return [(info, p[1:]) for info, p in parts]
    return parts


def _match(parts: tuple[str, ...], by_key: dict[str, Task], class_keys: list[str]) -> tuple[Task, str] | None:
    """(task, class key) that `<task key>_<class key>.png` or `<task key>/<class key>.png` names, if exactly one."""
    if len(parts) > 2 or not parts[-1].lower().endswith(".png"):
        return None
    stem = parts[-1][:-len(".png")]
    if len(parts) == 2:
        return (by_key[parts[0]], stem) if parts[0] in by_key and stem in class_keys else None
    # Both task and class keys may hold underscores: try every class suffix.
    found = [(by_key[stem[:-len(key) - 1]], key) for key in class_keys
             if stem.endswith(f"_{key}") and stem[:-len(key) - 1] in by_key]
    return found[0] if len(found) == 1 else None


def _masks_by_task(files: list[zipfile.ZipInfo], job: Job,
                   finder: TaskFinder) -> list[tuple[Task, dict[str, zipfile.ZipInfo]]]:
    """The matched tasks in key order, each with its file per class; refuses names that match nothing
    and a task and class given twice."""
    class_keys = [c["key"] for c in job.label_classes]
    matched: dict[int, tuple[Task, dict[str, zipfile.ZipInfo]]] = {}
    unmatched, twice = [], []
    for info, parts in _relative_parts(files, finder.by_key):
        found = _match(parts, finder.by_key, class_keys)
        if found is None:
            unmatched.append(info.filename)
            continue
        task, key = found
        of_task = matched.setdefault(task.pk, (task, {}))[1]
        if key in of_task:  # two names for one mask, or one name twice in the ZIP
            twice.append(f"{of_task[key].filename} and {info.filename}")
        else:
            of_task[key] = info
    if unmatched:
        raise _refused(f"{len(unmatched)} file(s) name no task and class of the job {job}: {_listed(unmatched)}. "
                       f"Name each {NAMING}, with a class among {', '.join(class_keys)}.")
    if twice:
        raise _refused(f"the same task and class given twice: {_listed(twice)}.")
    return sorted(matched.values(), key=lambda item: item[0].key)


def _unpacked(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A file's bytes, never more than its header declared (the total of which passed the limit)."""
    try:
        with archive.open(info) as file:
            data = file.read(info.file_size + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
        # RuntimeError: encrypted; NotImplementedError: a compression method zipfile lacks.
        raise _refused(f"{info.filename} cannot be unpacked ({exc}).") from None
    if len(data) != info.file_size:
        raise _refused(f"{info.filename} unpacks to another size than the ZIP declares.")
    return data


def _gold_result(archive: zipfile.ZipFile, task: Task, files: dict[str, zipfile.ZipInfo], job: Job) -> list[dict]:
    """The task's brush results as the sample job writes its gold: one per painted class, in the job's class
    order; a class without a file, or with an empty mask, is not painted."""
    result = []
    for cls in job.label_classes:
        info = files.get(cls["key"])
        if info is None:
            continue
        try:
            mask = mask_from_png(_unpacked(archive, info), width=task.width, height=task.height)
        except MaskImageError as exc:
            raise _refused(f"{info.filename} {exc}.") from None
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
        files = _files(opened)
        finder = TaskFinder(job)
        answers = [(task, _gold_result(opened, task, of_task, job), f"{len(of_task)} PNG mask(s)")
                   for task, of_task in _masks_by_task(files, job, finder)]
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

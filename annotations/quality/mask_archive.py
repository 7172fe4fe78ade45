"""A ZIP of PNG masks, one per photo and defect class: safe listing, naming and reading (pure, no Django).

Names are `<photo key>_<class key>.png` or `<photo key>/<class key>.png`, the lot optionally inside one top
folder. Nothing is written to disk; unsafe names are refused all the same, and the unpacked size is capped. A PNG
is read from its entry's first bytes before the rest is unpacked: not a PNG, or not the photo's size, and it is not.
"""
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import TypeVar

from annotations.quality.png_masks import PNG_HEAD_BYTES, png_head_check

NAMING = "<task key>_<class key>.png or <task key>/<class key>.png"
_SHOWN = 5  # file names an error lists before "and N more"
# What an archiver adds beside the files (macOS Finder's resource forks and folder settings).
_METADATA_FOLDER, _METADATA_FILE = "__MACOSX", ".DS_Store"
T = TypeVar("T")


class MaskArchiveError(ValueError):
    """A ZIP that cannot be read as masks; the message names the files and the problem."""


def listed(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def unsafe_name(name: str) -> bool:
    """Absolute, climbing out with '..', or a Windows path."""
    return (not name or name.startswith("/") or "\\" in name or ".." in PurePosixPath(name).parts
            or name[1:2] == ":")


GOLD_LIMITS = ("GOLD_IMPORT_MAX_FILES", "GOLD_IMPORT_MAX_BYTES")


def archive_files(archive: zipfile.ZipFile, *, max_files: int, max_bytes: int,
                  holds: str = f"one PNG mask per task and class, named {NAMING}",
                  limits: tuple[str, str] = GOLD_LIMITS) -> list[zipfile.ZipInfo]:
    """The archive's files (not folders or archiver metadata) once its names, count and unpacked size pass;
    `limits` names the settings of the two limits in the errors."""
    unsafe = [info.filename for info in archive.infolist() if unsafe_name(info.filename)]
    if unsafe:
        raise MaskArchiveError(f"unsafe file names (absolute, with '..' or a backslash): {listed(unsafe)}.")
    files = [info for info in archive.infolist() if not info.is_dir()
             and PurePosixPath(info.filename).parts[0] != _METADATA_FOLDER
             and PurePosixPath(info.filename).name != _METADATA_FILE]
    if not files:
        raise MaskArchiveError(f"no file in the ZIP; it holds {holds}.")
    if len(files) > max_files:
        raise MaskArchiveError(f"{len(files):,} files, more than the limit of {max_files:,} ({limits[0]}).")
    unpacked = sum(info.file_size for info in files)
    if unpacked > max_bytes:
        raise MaskArchiveError(f"its files unpack to {unpacked:,} bytes, more than the limit of "
                               f"{max_bytes:,} ({limits[1]}).")
    return files


def _relative_parts(files: list[zipfile.ZipInfo],
                    by_key: Mapping[str, object]) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    """Each file with its path parts below the one top folder the whole archive may sit in (a folder
    named like a photo is that photo's folder, not a top folder)."""
    parts = [(info, PurePosixPath(info.filename).parts) for info in files]
    tops = {p[0] for _, p in parts}
    if len(tops) == 1 and all(len(p) > 1 for _, p in parts) and next(iter(tops)) not in by_key:
        return [(info, p[1:]) for info, p in parts]
    return parts


def _match(parts: tuple[str, ...], by_key: Mapping[str, T], class_keys: list[str]) -> tuple[str, str] | None:
    """(photo key, class key) that `<key>_<class key>.png` or `<key>/<class key>.png` names, if exactly one."""
    if len(parts) > 2 or not parts[-1].lower().endswith(".png"):
        return None
    stem = parts[-1][:-len(".png")]
    if len(parts) == 2:
        return (parts[0], stem) if parts[0] in by_key and stem in class_keys else None
    # Both photo and class keys may hold underscores: try every class suffix.
    found = [(stem[:-len(key) - 1], key) for key in class_keys
             if stem.endswith(f"_{key}") and stem[:-len(key) - 1] in by_key]
    return found[0] if len(found) == 1 else None


def files_by_photo(files: list[zipfile.ZipInfo], by_key: Mapping[str, T], class_keys: list[str],
                   owner: str) -> list[tuple[T, dict[str, zipfile.ZipInfo]]]:
    """The matched photos (by_key's values) in key order, each with its file per class; refuses names that
    match nothing and a photo and class given twice. `owner` names the job in the error."""
    matched: dict[str, tuple[T, dict[str, zipfile.ZipInfo]]] = {}
    unmatched, twice = [], []
    for info, parts in _relative_parts(files, by_key):
        found = _match(parts, by_key, class_keys)
        if found is None:
            unmatched.append(info.filename)
            continue
        key, class_key = found
        of_photo = matched.setdefault(key, (by_key[key], {}))[1]
        if class_key in of_photo:  # two names for one mask, or one name twice in the ZIP
            twice.append(f"{of_photo[class_key].filename} and {info.filename}")
        else:
            of_photo[class_key] = info
    if unmatched:
        raise MaskArchiveError(f"{len(unmatched)} file(s) name no task and class of the job {owner}: "
                               f"{listed(unmatched)}. Name each {NAMING}, with a class among {', '.join(class_keys)}.")
    if twice:
        raise MaskArchiveError(f"the same task and class given twice: {listed(twice)}.")
    return [matched[key] for key in sorted(matched)]


def unpacked(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A file's bytes, never more than its header declared (the total of which passed the limit)."""
    try:
        with archive.open(info) as file:
            data = file.read(info.file_size + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
        # RuntimeError: encrypted; NotImplementedError: a compression method zipfile lacks.
        raise MaskArchiveError(f"{info.filename} cannot be unpacked ({exc}).") from None
    if len(data) != info.file_size:
        raise MaskArchiveError(f"{info.filename} unpacks to another size than the ZIP declares.")
    return data


def unpacked_png(archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, width: int, height: int) -> bytes:
    """A PNG's bytes once its first bytes, read from the ZIP stream, show a PNG of width x height no larger than
    such a PNG can be (png_head_check, MaskImageError naming the problem); only then is the rest unpacked, never
    more than its header declared. 250 MB of zeros named .png is refused after reading 33 bytes of it."""
    try:
        with archive.open(info) as file:
            head = file.read(PNG_HEAD_BYTES)
            png_head_check(head, width=width, height=height, file_bytes=info.file_size)
            data = head + file.read(info.file_size + 1 - len(head))
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
        raise MaskArchiveError(f"{info.filename} cannot be unpacked ({exc}).") from None
    if len(data) != info.file_size:
        raise MaskArchiveError(f"{info.filename} unpacks to another size than the ZIP declares.")
    return data

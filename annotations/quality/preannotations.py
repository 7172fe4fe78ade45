"""A client's pre-annotations (or gold) to per-photo, per-class bool masks and back to Label Studio brush results:
from a Label Studio JSON export, COCO instance segmentation or a ZIP of PNG masks (pure numpy, Pillow, pycocotools,
OpenCV).

Each converter yields one photo at a time, so a job of 20 MP photos never holds more than one photo's masks.
Every error names the file, the photo and the problem.
"""
import hashlib
import io
import json
import math
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from pycocotools import mask as coco_mask

from annotations.quality import json_bounded
from annotations.quality.classes import DefectClass
from annotations.quality.labelstudio_json import ScoringInputError, brush_result, masks_from_results, result_id
from annotations.quality.mask_archive import MaskArchiveError, archive_files, files_by_photo, unpacked_png
from annotations.quality.png_masks import MaskImageError, mask_from_png

IGNORE = "ignore"  # what an operator maps a COCO category to when its masks are not wanted


class PreannotationError(ValueError):
    """A pre-annotation file that cannot be converted; the message names the file, the photo and the problem."""


@dataclass(frozen=True)
class Photo:
    key: str
    width: int
    height: int


# Finds the photo that a task's data ({"image": ..., ...}) or a COCO file name ({"image": file_name}) points at;
# `where` goes into its error. Raises for no photo or several.
PhotoLocator = Callable[[dict, str], Photo]
# (photo, class key -> bool H x W mask of the painted classes, how many source masks were decoded for it)
PhotoMasks = tuple[Photo, dict[str, np.ndarray], int]
# Told once, before the first photo: (photos in the file, source masks in the file), for a progress bar.
Totals = Callable[[int, int], None]


def _no_totals(photos: int, masks: int) -> None:
    """The default Totals: nobody is watching."""


def _painted(masks: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {key: mask for key, mask in masks.items() if mask.any()}


# --- Label Studio JSON export -----------------------------------------------------------------------------

def _ls_results(item: dict, where: str, file: str) -> list | None:
    """The first prediction's results; else the first non-cancelled annotation's; None when there is neither."""
    for field in ("predictions", "annotations"):
        entries = item.get(field) or []
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise PreannotationError(f"{file}: {where}: '{field}' must be a list of objects.")
        for entry in entries:
            if not entry.get("was_cancelled"):
                return entry.get("result")
    return None


def _brush_count(results: object) -> int:
    return sum(isinstance(r, dict) and r.get("type") == "brushlabels" for r in results) \
        if isinstance(results, list) else 0


def masks_from_labelstudio(document: bytes | str | list, *, file: str, locate: PhotoLocator,
                           classes: Sequence[DefectClass], totals: Totals = _no_totals) -> Iterator[PhotoMasks]:
    """Per photo, the masks of a Label Studio JSON export's tasks (each task's first prediction, else its first
    non-cancelled annotation; brush RLE results). A task with neither is passed over."""
    if not isinstance(document, list):
        try:
            document = json_bounded.loads(document)
        except json_bounded.JSONTooDeep as exc:
            raise PreannotationError(f"{file}: {exc}.") from None
        except ValueError as exc:
            raise PreannotationError(f"{file}: not JSON ({exc}).") from None
    if not isinstance(document, list) or not all(isinstance(item, dict) for item in document):
        raise PreannotationError(f"{file}: a Label Studio JSON export is a list of tasks.")
    key_of = {c.label: c.key for c in classes}
    answers = [_ls_results(item, f"task #{index}", file) for index, item in enumerate(document)]
    totals(sum(a is not None for a in answers), sum(_brush_count(a) for a in answers))
    seen: set[str] = set()
    for index, (item, results) in enumerate(zip(document, answers, strict=True)):
        where = f"task #{index}" + (f" (id {item['id']})" if "id" in item else "")
        data = item.get("data")
        if not isinstance(data, dict):
            raise PreannotationError(f"{file}: {where} has no 'data' object.")
        photo = locate(data, f"{file}: {where}")
        if results is None:
            continue
        where = f"{file}: {where}, photo {photo.key}"
        if photo.key in seen:
            raise PreannotationError(f"{where}: the photo is given twice.")
        seen.add(photo.key)
        if isinstance(results, list) and not _brush_count(results):
            yield photo, {}, 0
            continue
        try:
            by_label, height, width = masks_from_results(results)
        except ScoringInputError as exc:
            raise PreannotationError(f"{where}: {exc}.") from None
        if (width, height) != (photo.width, photo.height):
            raise PreannotationError(f"{where}: the masks are {width}x{height} but the photo is "
                                     f"{photo.width}x{photo.height}.")
        unknown = sorted(set(by_label) - set(key_of))
        if unknown:
            raise PreannotationError(f"{where}: labels {', '.join(unknown)} are no class of the job "
                                     f"({', '.join(key_of)}).")
        yield photo, _painted({key_of[label]: mask for label, mask in by_label.items()}), _brush_count(results)


# --- COCO instance segmentation ----------------------------------------------------------------------------

def _coco_document(document: bytes | str | dict, file: str) -> dict:
    if not isinstance(document, dict):
        try:
            document = json_bounded.loads(document)
        except json_bounded.JSONTooDeep as exc:
            raise PreannotationError(f"{file}: {exc}.") from None
        except ValueError as exc:
            raise PreannotationError(f"{file}: not JSON ({exc}).") from None
    if not isinstance(document, dict) or not all(isinstance(document.get(k), list)
                                                 for k in ("images", "annotations", "categories")):
        raise PreannotationError(f"{file}: a COCO file is an object with the lists 'images', 'annotations' and "
                                 "'categories'.")
    return document


def coco_categories(document: bytes | str | dict, *, file: str) -> dict[int, str]:
    """The categories of a COCO file, id -> name, for the operator to map to defect classes."""
    categories = {}
    for index, category in enumerate(_coco_document(document, file)["categories"]):
        if not isinstance(category, dict) or not isinstance(category.get("id"), int):
            raise PreannotationError(f"{file}: category #{index} has no integer 'id'.")
        categories[category["id"]] = str(category.get("name", category["id"]))
    return categories


def _compressed_counts(counts: str | bytes, where: str) -> np.ndarray:
    """The run lengths of a COCO compressed RLE string, checked: pycocotools decodes a malformed one into
    whatever memory holds rather than refusing it."""
    raw = counts.encode() if isinstance(counts, str) else counts
    chars = np.frombuffer(raw, dtype=np.uint8).astype(np.int64) - 48
    if chars.size == 0 or chars.min() < 0 or chars.max() > 63 or chars[-1] & 0x20:
        raise PreannotationError(f"{where}: the compressed RLE 'counts' is not a COCO RLE string.")
    ends = (chars & 0x20) == 0
    starts = np.flatnonzero(np.concatenate(([True], ends[:-1])))
    lengths = np.diff(np.append(starts, chars.size))
    if lengths.max() > 7:  # 35 bits: more than any run of a photo
        raise PreannotationError(f"{where}: the compressed RLE 'counts' holds a run too long for any photo.")
    position = np.arange(chars.size) - np.repeat(starts, lengths)
    values = np.add.reduceat((chars & 0x1F) << (5 * position), starts)
    negative = (chars[ends] & 0x10) != 0
    values[negative] -= np.left_shift(1, 5 * lengths[negative])
    # From the fourth run on, each is stored as its difference to the run two before it.
    for tail in (values[1::2], values[2::2]):
        np.cumsum(tail, out=tail)
    return values


def _coco_rle(segmentation: object, height: int, width: int, where: str) -> dict:
    """A COCO segmentation (compressed RLE, uncompressed RLE or polygons) as one compressed RLE, checked."""
    if isinstance(segmentation, dict):
        size, counts = segmentation.get("size"), segmentation.get("counts")
        if size != [height, width]:
            raise PreannotationError(f"{where}: the RLE is {size} (height, width) but the image is "
                                     f"[{height}, {width}].")
        if isinstance(counts, str | bytes):
            runs = _compressed_counts(counts, where)
        elif isinstance(counts, list) and all(isinstance(c, int) and not isinstance(c, bool) for c in counts):
            runs = np.asarray(counts, dtype=np.int64)
        else:
            raise PreannotationError(f"{where}: the RLE 'counts' must be a string or a list of integers.")
        if runs.size and (runs.min() < 0 or runs.sum() != height * width):
            raise PreannotationError(f"{where}: bad RLE: its runs cover {int(runs.sum()):,} pixels, not "
                                     f"{height * width:,}, or one is negative.")
        if isinstance(counts, list):
            return coco_mask.frPyObjects(segmentation, height, width)
        return {"size": size, "counts": counts.encode() if isinstance(counts, str) else counts}
    if isinstance(segmentation, list) and segmentation and all(
            isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0
            and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in p)
            for p in segmentation):
        return coco_mask.merge(coco_mask.frPyObjects(segmentation, height, width))
    raise PreannotationError(f"{where}: 'segmentation' must be an RLE object or a list of polygons "
                             "(each at least 3 points as [x1, y1, x2, y2, ...]).")


def _row_major(decoded: np.ndarray) -> np.ndarray:
    """pycocotools' column-major 0/1 uint8 mask as a row-major bool one: the Label Studio encoder reads rows,
    and OpenCV transposes a 20 MP mask about twice as fast as numpy's copy does."""
    return cv2.transpose(np.ascontiguousarray(decoded.T)).view(bool)


def masks_from_coco(document: bytes | str | dict, *, file: str, locate: PhotoLocator,
                    category_map: Mapping[int, str], classes: Sequence[DefectClass],
                    totals: Totals = _no_totals) -> Iterator[PhotoMasks]:
    """Per photo, the masks of a COCO instance segmentation file: each annotation's segmentation joins the class
    its category maps to (IGNORE: dropped). An unmapped category, or one mapped to no class, is refused."""
    document = _coco_document(document, file)
    categories = coco_categories(document, file=file)
    class_keys = {c.key for c in classes}
    unmapped = sorted(name for cid, name in categories.items()
                      if category_map.get(cid) not in class_keys | {IGNORE})
    if unmapped:
        raise PreannotationError(f"{file}: categories {', '.join(unmapped)} are mapped to no defect class; map "
                                 f"each to one of {', '.join(sorted(class_keys))} or to {IGNORE!r}.")
    by_image: dict[object, list[tuple[int, dict]]] = {}
    for index, annotation in enumerate(document["annotations"]):
        if not isinstance(annotation, dict) or annotation.get("category_id") not in categories:
            raise PreannotationError(f"{file}: annotation #{index} has no 'category_id' among the categories.")
        by_image.setdefault(annotation.get("image_id"), []).append((index, annotation))
    images = {image.get("id"): image for image in document["images"] if isinstance(image, dict)}
    stray = sorted(str(i) for i in by_image if i not in images)
    if stray:
        raise PreannotationError(f"{file}: annotations point at images {', '.join(stray[:5])} that the file "
                                 "does not list.")
    totals(len(document["images"]), len(document["annotations"]))
    seen: set[str] = set()
    for index, image in enumerate(document["images"]):
        if not isinstance(image, dict) or not isinstance(image.get("file_name"), str):
            raise PreannotationError(f"{file}: image #{index} has no 'file_name'.")
        name = image["file_name"]
        photo = locate({"image": name}, f"{file}: image {name!r}")
        where = f"{file}: image {name!r}, photo {photo.key}"
        if (image.get("width"), image.get("height")) != (photo.width, photo.height):
            raise PreannotationError(f"{where}: the file says {image.get('width')}x{image.get('height')} but the "
                                     f"photo is {photo.width}x{photo.height}.")
        if photo.key in seen:
            raise PreannotationError(f"{where}: the photo is given twice.")
        seen.add(photo.key)
        rles: dict[str, list[dict]] = {}
        annotations = by_image.get(image.get("id"), [])
        for number, annotation in annotations:
            target = category_map[annotation["category_id"]]
            rle = _coco_rle(annotation.get("segmentation"), photo.height, photo.width,
                            f"{where}, annotation #{number} (id {annotation.get('id')})")
            if target != IGNORE:
                rles.setdefault(target, []).append(rle)
        yield photo, _painted({key: _row_major(coco_mask.decode(coco_mask.merge(of_class)))
                               for key, of_class in rles.items()}), len(annotations)


# --- ZIP of PNG masks --------------------------------------------------------------------------------------

def masks_from_png_zip(archive: bytes, *, file: str, photos: Mapping[str, Photo], classes: Sequence[DefectClass],
                       max_files: int, max_bytes: int, totals: Totals = _no_totals) -> Iterator[PhotoMasks]:
    """Per photo, the masks of a ZIP of PNGs named `<photo key>_<class key>.png` or `<photo key>/<class key>.png`
    (a pixel above zero, or alpha when there is an alpha channel, paints the class), each the photo's size."""
    try:
        opened = zipfile.ZipFile(io.BytesIO(archive))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise PreannotationError(f"{file}: not a ZIP file ({exc}).") from None
    with opened:
        try:
            matched = files_by_photo(archive_files(opened, max_files=max_files, max_bytes=max_bytes), photos,
                                     [c.key for c in classes], "")
        except MaskArchiveError as exc:
            raise PreannotationError(f"{file}: {exc}") from None
        totals(len(matched), sum(len(files) for _, files in matched))
        for photo, files in matched:
            masks = {}
            for key, info in files.items():
                try:
                    masks[key] = mask_from_png(unpacked_png(opened, info, width=photo.width, height=photo.height),
                                               width=photo.width, height=photo.height)
                except MaskImageError as exc:
                    raise PreannotationError(f"{file}: {info.filename}, photo {photo.key}: {exc}.") from None
                except MaskArchiveError as exc:
                    raise PreannotationError(f"{file}: photo {photo.key}: {exc}") from None
            yield photo, _painted(masks), len(files)


# --- back to Label Studio ----------------------------------------------------------------------------------

def brush_results(photo: Photo, masks: Mapping[str, np.ndarray], *, classes: Sequence[DefectClass],
                  source: str) -> list[dict]:
    """One brush result per painted class, in the classes' order, with ids stable for the photo, class and
    source ("prediction", "gold"): the same masks give the same JSON."""
    return [brush_result(masks[c.key], label=c.label, rid=result_id(photo.key, source, c.key))
            for c in classes if c.key in masks and masks[c.key].any()]


def results_digest(results: list[dict]) -> str:
    """A digest of a result list that does not depend on key order: what was sent to Label Studio."""
    return hashlib.sha256(json.dumps(results, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

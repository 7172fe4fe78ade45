"""Label Studio JSON (a result list, an annotation or a task export item) to per-class bool brush masks, and back.

Only results of ``type == "brushlabels"`` are read; other result types (choices, rectangles...) are
skipped. Each brush result is ``{"original_width", "original_height", "value": {"format": "rle",
"rle": [...], "brushlabels": [label, ...]}}``; results with the same label are unioned.
"""
import hashlib
from collections.abc import Iterator

import numpy as np

from annotations.quality.packed import PackedMask
from annotations.quality.rle import RLEError, mask_to_rle, rle_to_mask

# The control names of LabelCrew's labeling config (annotations.defects.labeling_config): brush results
# carry them as from_name / to_name.
BRUSH_FROM_NAME = "defect"
IMAGE_TO_NAME = "image"


class ScoringInputError(ValueError):
    """A Label Studio document that cannot be turned into masks; the message says what and where."""


def _describe(index: int, result: dict) -> str:
    """'result #3 (id abc)' for error messages: contractors' results are found by their LS id."""
    rid = result.get("id")
    return f"result #{index}" + (f" (id {rid})" if rid is not None else "")


def _result_list(value: object, where: str) -> list[dict]:
    if not isinstance(value, list):
        raise ScoringInputError(f"{where}: 'result' must be a list of results, not {type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ScoringInputError(f"{where}: result #{i} must be an object, not {type(item).__name__}")
    return value


def _results_of_task(task: dict) -> list[dict]:
    """The first non-cancelled annotation's results; the first prediction's when there is no annotation."""
    where = f"task {task['id']}" if "id" in task else "task"
    annotations = task.get("annotations") or []
    if not isinstance(annotations, list):
        raise ScoringInputError(f"{where}: 'annotations' must be a list")
    for i, annotation in enumerate(annotations):
        if not isinstance(annotation, dict):
            raise ScoringInputError(f"{where}: annotation #{i} must be an object")
        if not annotation.get("was_cancelled"):
            return _result_list(annotation.get("result"), f"{where}, annotation #{i}")
    if annotations:
        # A skipped task has no answer to score; falling back to its predictions would score the model.
        raise ScoringInputError(f"{where}: all {len(annotations)} annotations were cancelled (skipped)")
    predictions = task.get("predictions") or []
    if not isinstance(predictions, list) or not predictions or not isinstance(predictions[0], dict):
        raise ScoringInputError(f"{where}: has neither annotations nor predictions")
    return _result_list(predictions[0].get("result"), f"{where}, prediction #0")


def _is_task(item: object) -> bool:
    return isinstance(item, dict) and "type" not in item and ("annotations" in item or "predictions" in item)


def results_from_document(doc: object) -> list[dict]:
    """The result list of a parsed Label Studio JSON document.

    Accepts a bare result list, an annotation ``{"result": [...]}``, a task export item
    ``{"annotations": [...], "predictions": [...], ...}`` (its first non-cancelled annotation, or its
    first prediction when it has no annotation at all), or a JSON export holding exactly one task.
    """
    if isinstance(doc, list):
        if doc and all(_is_task(item) for item in doc):
            if len(doc) != 1:
                raise ScoringInputError(f"a Label Studio export of {len(doc)} tasks: pass a single task")
            return _results_of_task(doc[0])
        return _result_list(doc, "document")
    if isinstance(doc, dict):
        if "result" in doc:
            return _result_list(doc["result"], "annotation")
        if _is_task(doc):
            return _results_of_task(doc)
    raise ScoringInputError(
        "expected a list of results, an annotation {'result': [...]} or a task {'annotations': [...]}, "
        f"got {type(doc).__name__}" + (f" with keys {sorted(doc)[:8]}" if isinstance(doc, dict) else "")
    )


def _positive_int(result: dict, key: str, what: str) -> int:
    value = result.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ScoringInputError(f"{what}: '{key}' must be a positive integer, got {value!r}")
    return value


def _brush_value(result: dict, what: str) -> tuple[list[str], object]:
    """(labels, rle) of a brushlabels result, checked."""
    value = result.get("value")
    if not isinstance(value, dict):
        raise ScoringInputError(f"{what}: missing 'value' object")
    fmt = value.get("format")
    if fmt != "rle":
        raise ScoringInputError(f"{what}: unknown brush format {fmt!r}, only 'rle' is supported")
    if "rle" not in value:
        raise ScoringInputError(f"{what}: missing 'value.rle'")
    labels = value.get("brushlabels")
    if not isinstance(labels, list) or not labels or not all(isinstance(label, str) for label in labels):
        raise ScoringInputError(f"{what}: 'value.brushlabels' must be a non-empty list of label names, got {labels!r}")
    return labels, value["rle"]


def _decoded(results: list[dict]) -> Iterator[tuple[list[str], np.ndarray]]:
    """(labels, bool H x W mask) of each brushlabels result in order, checked; raises
    ScoringInputError when there is none or one is malformed."""
    size: tuple[int, int] | None = None
    for index, result in enumerate(_result_list(results, "document")):
        what = _describe(index, result)
        kind = result.get("type")
        if not isinstance(kind, str):
            raise ScoringInputError(f"{what}: missing 'type'")
        if kind != "brushlabels":
            continue
        labels, rle = _brush_value(result, what)
        this_size = (
            _positive_int(result, "original_height", what),
            _positive_int(result, "original_width", what),
        )
        if size is None:
            size = this_size
        elif this_size != size:
            raise ScoringInputError(
                f"{what}: image is {this_size[1]}x{this_size[0]} but earlier results say {size[1]}x{size[0]}"
            )
        try:
            mask = rle_to_mask(rle, *size)
        except RLEError as exc:
            raise ScoringInputError(f"{what} ({', '.join(labels)}): bad RLE: {exc}") from exc
        yield labels, mask
        del mask  # before the next result is decoded
    if size is None:
        raise ScoringInputError("no brushlabels result with an RLE mask")


def masks_from_results(results: list[dict]) -> tuple[dict[str, np.ndarray], int, int]:
    """(label -> bool H x W mask, height, width) from the brushlabels results of one annotation.

    Several results with the same label are unioned; a result with several labels counts for each.
    Raises ScoringInputError when there is no brush result, the results disagree on the image
    size, or a result is malformed (including an RLE that does not decode to that size).
    """
    masks: dict[str, np.ndarray] = {}
    size = (0, 0)
    for labels, mask in _decoded(results):
        size = mask.shape
        for label in labels:
            if label in masks:
                np.logical_or(masks[label], mask, out=masks[label])
            else:
                # Each label needs its own array: a later union into it must not leak into another label.
                masks[label] = mask if len(labels) == 1 else mask.copy()
    return masks, size[0], size[1]


def packed_masks_from_results(results: list[dict]) -> tuple[dict[str, PackedMask], int, int]:
    """masks_from_results with each mask bit-packed as soon as it is decoded: one full-size mask at a time."""
    masks: dict[str, PackedMask] = {}
    size = (0, 0)
    for labels, mask in _decoded(results):
        size = mask.shape
        packed = PackedMask.of(mask)
        del mask
        for label in labels:
            masks[label] = masks[label].union(packed) if label in masks else packed
    return masks, size[0], size[1]


def result_id(task_key: str, source: str, class_key: str) -> str:
    """A stable id for the result of one class on one task ("gold", "prediction"...): the same masks
    written again give the same JSON, so an unchanged gold compares equal."""
    return hashlib.sha256(f"{task_key}/{source}/{class_key}".encode()).hexdigest()[:10]


def brush_result(mask: np.ndarray, *, label: str, rid: str, from_name: str = BRUSH_FROM_NAME,
                 to_name: str = IMAGE_TO_NAME) -> dict:
    """The Label Studio brush result painting a bool H x W mask with one label (our own RLE encoder)."""
    height, width = mask.shape
    return {
        "id": rid,
        "type": "brushlabels",
        "from_name": from_name,
        "to_name": to_name,
        "original_width": width,
        "original_height": height,
        "image_rotation": 0,
        "value": {"format": "rle", "rle": mask_to_rle(mask), "brushlabels": [label]},
    }

"""Reads for showing what a defect class looks like: the largest defect a current gold mask of one of a job's public
example photos paints, on its photo. Only public examples: a close-up of hidden gold would tell a contractor which
photo of their batch is the gold one."""
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import OuterRef, Subquery

from annotations.models import GoldVersion, Job, Task
from annotations.quality.close_up import largest_defect
from annotations.quality.labelstudio_json import ScoringInputError, packed_masks_from_results
from annotations.quality.packed import Box

# Candidates decoded per class: a 20 MP gold mask takes a good fraction of a second to decode.
CANDIDATES = 8


@dataclass(frozen=True)
class GoldExample:
    photo: Path  # the task's photo on disk
    box: Box  # (top, left, bottom, right) around the largest defect of the class's gold mask on it


def _painting(label: str) -> list[dict]:
    """A JSON containment pattern matching a result list with a brush result of the label (found without decoding)."""
    return [{"type": "brushlabels", "value": {"brushlabels": [label]}}]


def _current_golds(job: Job, label: str) -> list[tuple[Task, list]]:
    """(task, current gold result) of the job's public examples whose current gold paints the label, newest first.

    A task's current gold is its highest gold version, or its gold_result while no version was recorded."""
    paints = _painting(label)
    newest = GoldVersion.objects.filter(task=OuterRef("task")).order_by("-version").values("pk")[:1]
    versions = (GoldVersion.objects.filter(task__job=job, task__public_example=True, pk=Subquery(newest),
                                           result__contains=paints)
                .select_related("task").order_by("-created_at", "-pk")[:CANDIDATES])
    found = [(version.task, version.result) for version in versions]
    unrecorded = (Task.objects.filter(job=job, public_example=True, gold_versions__isnull=True,
                                      gold_result__contains=paints)
                  .order_by("-pk")[:CANDIDATES - len(found)])
    return found + [(task, task.gold_result) for task in unrecorded]


def _mask_box(task: Task, result: list, label: str) -> tuple[int, Box] | None:
    """(pixels, box) of the largest defect of the label's mask in a gold result, None when the mask is empty or does
    not fit the photo."""
    own = [r for r in result if isinstance(r, dict) and label in (r.get("value") or {}).get("brushlabels", [])]
    try:
        masks, height, width = packed_masks_from_results(own)
    except ScoringInputError:
        return None
    mask = masks.get(label)
    box = mask.box() if mask is not None else None
    if box is None or (height, width) != (task.height, task.width):
        return None
    found = largest_defect(mask.unpack(box))  # only the mask's own box is unpacked, not the whole photo
    if found is None:
        return None
    area, (top, left, bottom, right) = found
    return area, (box[0] + top, box[1] + left, box[0] + bottom, box[1] + right)


def gold_example(*, job: Job, class_key: str) -> GoldExample | None:
    """The largest defect of the class that the current gold of one of the job's public examples paints, or None.

    The class is found by its key in the job's classes, since jobs may give it another label."""
    label = next((c["label"] for c in job.label_classes if c.get("key") == class_key), None)
    if label is None:
        return None
    measured = [(size_box, task) for task, result in _current_golds(job, label)
                if (size_box := _mask_box(task, result, label)) is not None
                and (settings.VAR_DIR / task.image_path).is_file()]
    if not measured:
        return None
    (_, box), task = max(measured, key=lambda item: item[0][0])
    return GoldExample(photo=settings.VAR_DIR / task.image_path, box=box)


def classes_with_examples(job: Job) -> set[str]:
    """Keys of the job's classes that some current gold of its public examples paints (found without decoding)."""
    return {c["key"] for c in job.label_classes if _current_golds(job, c["label"])}

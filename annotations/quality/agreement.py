"""Annotators of one photo against each other, and against the model: agreement, the merged mask, edit evidence.

Pure numpy (no Django, labels passed in). Masks are bool H x W arrays per class key; a class missing from an
annotator's mapping is an empty mask.

* **Agreement** of a class is the mean over annotator pairs of pixel IoU, Dice and instance F1 (8-connected
  components matched one to one at IoU >= 0.5, as metrics.py scores gold). A pair where both masks are empty
  has no value and is left out; a class no annotator painted has none. The photo's agreement is the mean over
  the classes that have one.
* **Merged mask**: per pixel, majority vote: set when more than half of the annotators set it. With an even
  number of annotators a pixel set by exactly half is a tie; the tie goes to the annotator ranked first (the
  caller passes the ranking: the best rolling quality score first), i.e. the pixel is set when that annotator
  set it. With 3 annotators (or any odd number) there is never a tie.
* **Edit evidence** of a submission against the photo's pre-annotation: per class, pixels added and removed,
  defects added (submitted components matching none of the prediction's) and deleted (the other way); the
  submission is *unchanged* when no pixel of any class differs.

Every full-size mask is read once, to an occupancy grid; the work runs on the crops around the painted pixels.
"""
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import fmean

import numpy as np

from annotations.quality.metrics import occupied_regions, overlaps

Masks = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class ClassAgreement:
    iou: float | None  # mean over the pairs that have a value
    dice: float | None
    instance_f1: float | None
    pairs: int  # pairs with a value (at least one of the two painted the class)


@dataclass(frozen=True)
class PhotoAgreement:
    classes: dict[str, ClassAgreement]
    iou: float | None  # mean over the classes that have a value
    dice: float | None
    instance_f1: float | None


@dataclass(frozen=True)
class ClassEdit:
    pixels_added: int
    pixels_removed: int
    defects_added: int
    defects_deleted: int


@dataclass(frozen=True)
class Edits:
    classes: dict[str, ClassEdit]

    @property
    def unchanged(self) -> bool:
        return not any(e.pixels_added or e.pixels_removed for e in self.classes.values())


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


def _of_class(annotators: Sequence[Masks], key: str) -> list[np.ndarray | None]:
    return [masks.get(key) for masks in annotators]


def photo_agreement(annotators: Sequence[Masks], classes: Sequence[str], *, iou_match: float = 0.5) -> PhotoAgreement:
    """Agreement of two or more annotators' masks of one photo, per class and overall."""
    if len(annotators) < 2:
        raise ValueError(f"agreement needs at least 2 annotators, got {len(annotators)}")
    per_class = {}
    for key in classes:
        found = [o for o in overlaps(_of_class(annotators, key), iou_match=iou_match).values() if o["iou"] is not None]
        per_class[key] = ClassAgreement(iou=_mean([o["iou"] for o in found]), dice=_mean([o["dice"] for o in found]),
                                        instance_f1=_mean([o["instance_f1"] for o in found]), pairs=len(found))
    return PhotoAgreement(classes=per_class, iou=_mean([c.iou for c in per_class.values()]),
                          dice=_mean([c.dice for c in per_class.values()]),
                          instance_f1=_mean([c.instance_f1 for c in per_class.values()]))


def merge_masks(annotators: Sequence[Masks], classes: Sequence[str], *, ranking: Sequence[int],
                shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Per class, the per-pixel majority of the annotators' masks (H x W = `shape`); `ranking` lists the
    annotators' indexes best first, and its first breaks ties (only with an even number of annotators)."""
    count = len(annotators)
    if count < 1:
        raise ValueError("merging needs at least 1 annotator")
    if sorted(ranking) != list(range(count)):
        raise ValueError(f"ranking must list each of the {count} annotators once, got {list(ranking)}")
    best = ranking[0]
    merged = {}
    for key in classes:
        masks = _of_class(annotators, key)
        for mask in masks:
            if mask is not None and mask.shape != shape:
                raise ValueError(f"a {key} mask is {mask.shape[1]}x{mask.shape[0]}, not {shape[1]}x{shape[0]}")
        out = np.zeros(shape, bool)
        for rows, cols, keep in occupied_regions(masks):
            votes = np.zeros((rows.stop - rows.start, cols.stop - cols.start), np.uint8)
            for mask in masks:
                if mask is not None:
                    votes += mask[rows, cols]
            chosen = votes * 2 > count
            if count % 2 == 0 and masks[best] is not None:
                chosen |= (votes * 2 == count) & masks[best][rows, cols]
            if keep is not None:
                chosen &= keep
            out[rows, cols] |= chosen
        merged[key] = out
    return merged


def edit_evidence(submitted: Masks, prediction: Masks, classes: Sequence[str], *,
                  iou_match: float = 0.5) -> Edits:
    """What a submission changed against the pre-annotation it started from, per class."""
    edits = {}
    for key in classes:
        overlap = overlaps([prediction.get(key), submitted.get(key)], iou_match=iou_match)[(0, 1)]
        predicted, made, both = overlap["pixels"]
        predicted_defects, made_defects, matched = overlap["instances"]
        edits[key] = ClassEdit(pixels_added=made - both, pixels_removed=predicted - both,
                               defects_added=made_defects - matched, defects_deleted=predicted_defects - matched)
    return Edits(classes=edits)

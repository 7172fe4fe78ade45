"""A photo's masks kept bit-packed for scoring, and the rubber-stamp check run on the crop around them (pure numpy)."""
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from annotations.quality.packed import Box, PackedMask, union_box
from annotations.quality.rubber_stamp import detect_rubber_stamp


@dataclass(frozen=True)
class CompactMasks:
    """A task's non-empty masks, bit-packed (annotations.quality.packed): a 20 MP gold of six classes is
    130 MB as bool arrays but a few MB packed, and unpacking costs a fraction of decoding the RLE again."""

    shape: tuple[int, int]
    masks: dict[str, PackedMask]

    @classmethod
    def of(cls, masks: Mapping[str, np.ndarray | PackedMask], shape: tuple[int, int]) -> "CompactMasks":
        packed = {label: _packed(m) for label, m in masks.items()}
        return cls(shape=shape, masks={label: m for label, m in packed.items() if m.box() is not None})

    def box(self) -> Box | None:
        """(top, left, bottom, right) around every mask, None when all are empty."""
        return union_box(m.box() for m in self.masks.values())

    def within(self, box: Box) -> dict[str, PackedMask]:
        """The masks as masks of the box's size; `box` must hold every mask."""
        return {label: mask.crop(box) for label, mask in self.masks.items()}


def _packed(mask: np.ndarray | PackedMask) -> PackedMask:
    return mask if isinstance(mask, PackedMask) else PackedMask.of(mask)


def clearly_edited(candidate: Mapping[str, PackedMask], prediction: Mapping[str, PackedMask], *,
                   identical_iou: float) -> str | None:
    """Why the candidate cannot be the pre-annotation unchanged, from pixel counts alone; None if it might be.

    Two masks with IoU >= identical_iou differ in size by at most 1 - identical_iou, so counting pixels
    (cheap) settles most annotations without the per-class IoUs of detect_rubber_stamp.
    """
    for label in sorted({*candidate, *prediction}):
        drawn = candidate[label].count() if label in candidate else 0
        predicted = prediction[label].count() if label in prediction else 0
        if min(drawn, predicted) < identical_iou * max(drawn, predicted):
            return (f"Not flagged: the candidate edited the pre-annotation ({label}: {drawn} px drawn, "
                    f"{predicted} px predicted).")
    return None


def rubber_stamp_on_crops(*, candidate: Mapping[str, np.ndarray | PackedMask], prediction: CompactMasks,
                          gold: CompactMasks, identical_iou: float,
                          labels: Sequence[str] = ()) -> tuple[bool, str]:
    """detect_rubber_stamp's verdict and message, computed on the box around all three sets of masks.

    Every IoU of the rule is the same on that box, and far cheaper; a candidate whose pixel counts show it
    was edited is settled without any IoU (clearly_edited).
    """
    if not prediction.masks:
        return False, "Not flagged: the pre-annotation is empty, so submitting it says nothing."
    packed = {label: _packed(m) for label, m in candidate.items()}
    box = union_box([gold.box(), prediction.box(), *(m.box() for m in packed.values())])
    predicted = prediction.within(box)
    drawn = {label: mask.crop(box) for label, mask in packed.items()}
    edited = clearly_edited(drawn, predicted, identical_iou=identical_iou)
    if edited is not None:
        return False, edited
    # PackedMasks: detect_rubber_stamp unpacks one class at a time.
    verdict = detect_rubber_stamp(candidate=drawn, prediction=predicted, gold=gold.within(box),
                                  identical_iou=identical_iou, labels=labels)
    return verdict.flagged, verdict.message

"""Rubber-stamp detection: a candidate that submitted a wrong model pre-annotation without changing it.

Rule (all IoUs are pixel IoUs of bool masks; a label missing from a dict is an empty mask)
----------------------------------------------------------------------------------------
For each label (the given ``labels``, the job's classes, in order; then any other label found in the
candidate, prediction or gold dicts):

* ``candidate_vs_prediction_iou``: IoU of the candidate's and the prediction's mask of the label,
  None when both are empty;
* ``prediction_vs_gold_iou``: IoU of the prediction's and gold's mask of the label, None when both
  are empty.

The candidate is flagged when all three hold:

1. the prediction has at least one pixel. An empty pre-annotation submitted empty is also what an
   honest "nothing found" looks like, so it is no evidence of not looking (the score report
   already shows what was missed);
2. unchanged: every label's ``candidate_vs_prediction_iou`` is None (empty in both) or
   >= ``identical_iou``. Redrawing, adding or deleting any one class breaks this;
3. wrong: some label's ``prediction_vs_gold_iou`` is not None and < ``wrong_iou`` (this includes
   a class gold has and the prediction lacks, or the reverse: IoU 0), or the class-agnostic IoU
   of the prediction's union of labels against gold's union is < ``wrong_iou``.

A prediction that was already right (every class, and all classes together, at IoU >= wrong_iou)
may be submitted unchanged: that is not flagged. Everything empty everywhere is not flagged.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypedDict

import numpy as np

from annotations.quality.metrics import iou


class ClassAgreement(TypedDict):
    candidate_vs_prediction_iou: float | None
    prediction_vs_gold_iou: float | None


@dataclass(frozen=True)
class RubberStamp:
    flagged: bool
    # Why it was flagged or not, in one sentence a reviewer can read.
    message: str
    per_class: dict[str, ClassAgreement]
    # Class-agnostic IoU of the prediction's defect pixels against gold's; None when both are empty.
    prediction_vs_gold_iou: float | None


def _common_shape(masks: Mapping[str, np.ndarray], side: str, shape: tuple[int, int] | None,
                  ) -> tuple[int, int] | None:
    """The shape of `side`'s masks and those before (read without converting any mask), checked."""
    for label, mask in masks.items():
        this = np.shape(mask)
        if len(this) != 2:
            raise ValueError(f"{side} mask {label!r} must be a 2-D mask, got shape {this}")
        if shape is not None and this != shape:
            raise ValueError(f"{side} mask {label!r} is {this[1]}x{this[0]} but other masks are "
                             f"{shape[1]}x{shape[0]}")
        shape = this
    return shape


def _nonempty(mask: np.ndarray | None) -> np.ndarray | None:
    """The mask as a bool array, None when it is missing or empty."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    mask = mask if mask.dtype == bool else mask != 0
    return mask if mask.any() else None


def _iou(a: np.ndarray | None, b: np.ndarray | None) -> float | None:
    """IoU where None is an empty mask (masks here are never empty arrays, see _nonempty)."""
    if a is None and b is None:
        return None
    if a is None or b is None:
        return 0.0
    return iou(a, b)


def _add(union: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray | None:
    if mask is None:
        return union
    return mask.copy() if union is None else np.logical_or(union, mask, out=union)


def _check_threshold(name: str, value: float) -> None:
    if not 0 < value <= 1:
        raise ValueError(f"{name} must be in (0, 1], got {value!r}")


def _listing(items: list[tuple[str, float]], what: str) -> str:
    return ", ".join(f"{label} IoU {value:.2f} {what}" for label, value in items)


def detect_rubber_stamp(*, candidate: Mapping[str, np.ndarray], prediction: Mapping[str, np.ndarray],
                        gold: Mapping[str, np.ndarray], identical_iou: float = 0.99,
                        wrong_iou: float = 0.9, labels: Sequence[str] = ()) -> RubberStamp:
    """Was a wrong pre-annotation submitted unchanged? See the module docstring for the exact rule.

    Masks are label -> H x W arrays (bool, or nonzero = set), all of one shape.
    """
    _check_threshold("identical_iou", identical_iou)
    _check_threshold("wrong_iou", wrong_iou)
    shape = _common_shape(candidate, "candidate", None)
    shape = _common_shape(prediction, "prediction", shape)
    _common_shape(gold, "gold", shape)

    labels = list(dict.fromkeys(labels))
    labels += [label for label in dict.fromkeys([*candidate, *prediction, *gold]) if label not in labels]
    # One label's masks at a time (a PackedMask is unpacked only here), with the unions built on the way.
    per_class: dict[str, ClassAgreement] = {}
    pred_union = gold_union = None
    for label in labels:
        cand, pred, gold_mask = (_nonempty(masks.get(label)) for masks in (candidate, prediction, gold))
        per_class[label] = {
            "candidate_vs_prediction_iou": _iou(cand, pred),
            "prediction_vs_gold_iou": _iou(pred, gold_mask),
        }
        # In place: logical_or.reduce of a list would first stack every mask into one n x H x W array.
        pred_union, gold_union = _add(pred_union, pred), _add(gold_union, gold_mask)
        del cand, pred, gold_mask
    overall = _iou(pred_union, gold_union)

    changed = [(label, s["candidate_vs_prediction_iou"]) for label, s in per_class.items()
               if s["candidate_vs_prediction_iou"] is not None and s["candidate_vs_prediction_iou"] < identical_iou]
    wrong = [(label, s["prediction_vs_gold_iou"]) for label, s in per_class.items()
             if s["prediction_vs_gold_iou"] is not None and s["prediction_vs_gold_iou"] < wrong_iou]
    wrong_overall = overall is not None and overall < wrong_iou

    if pred_union is None:
        flagged, message = False, "Not flagged: the pre-annotation is empty, so submitting it says nothing."
    elif changed:
        flagged = False
        message = f"Not flagged: the candidate edited the pre-annotation ({_listing(changed, 'with the prediction')})."
    elif not wrong and not wrong_overall:
        flagged = False
        message = (f"Not flagged: submitted unchanged, but the pre-annotation already agrees with gold "
                   f"(every class IoU >= {wrong_iou:g}).")
    else:
        flagged = True
        reasons = _listing(wrong, "against gold")
        if wrong_overall:
            reasons += ("; " if reasons else "") + f"all classes together IoU {overall:.2f}"
        message = (f"Submitted the pre-annotation unchanged: every class matches the model's prediction "
                   f"(IoU >= {identical_iou:g}) but the prediction is wrong ({reasons}; threshold {wrong_iou:g}).")
    return RubberStamp(flagged=flagged, message=message, per_class=per_class, prediction_vs_gold_iou=overall)

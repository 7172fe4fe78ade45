"""annotations.quality.rubber_stamp flags a wrong pre-annotation submitted unchanged, and nothing else."""

import numpy as np
import pytest

from annotations.quality.classes import DEFECT_CLASSES
from annotations.quality.rubber_stamp import RubberStamp, detect_rubber_stamp

SHAPE = (20, 30)
LABELS = [d.label for d in DEFECT_CLASSES]


def box(*rects: tuple[int, int, int, int]) -> np.ndarray:
    """Bool SHAPE mask with the given (row0, col0, row1, col1) half-open rectangles set."""
    mask = np.zeros(SHAPE, dtype=bool)
    for r0, c0, r1, c1 in rects:
        mask[r0:r1, c0:c1] = True
    return mask


# Gold: a 10 x 10 scratch block (100 px) and a 4 x 4 pit (16 px).
GOLD = {"Scratch": box((0, 0, 10, 10)), "Pit": box((15, 20, 19, 24))}
# A wrong prediction: the scratch shifted 5 columns (IoU 50/150), the pit right.
WRONG = {"Scratch": box((0, 5, 10, 15)), "Pit": box((15, 20, 19, 24))}


def detect(candidate: dict, prediction: dict, gold: dict, **kwargs: float) -> RubberStamp:
    return detect_rubber_stamp(candidate=candidate, prediction=prediction, gold=gold, labels=LABELS, **kwargs)


def test_unchanged_wrong_prediction_is_flagged() -> None:
    result = detect({k: v.copy() for k, v in WRONG.items()}, WRONG, GOLD)
    assert result.flagged
    assert result.message.startswith("Submitted the pre-annotation unchanged")
    assert "Scratch IoU 0.33 against gold" in result.message
    assert "Pit" not in result.message  # the pit was right
    assert result.per_class["Scratch"] == {"candidate_vs_prediction_iou": 1.0,
                                           "prediction_vs_gold_iou": pytest.approx(50 / 150)}
    assert result.per_class["Pit"] == {"candidate_vs_prediction_iou": 1.0, "prediction_vs_gold_iou": 1.0}
    assert result.prediction_vs_gold_iou == pytest.approx(66 / 166)


def test_unchanged_correct_prediction_is_not_flagged() -> None:
    result = detect(GOLD, GOLD, GOLD)
    assert not result.flagged
    assert "already agrees with gold" in result.message
    assert result.per_class["Scratch"]["prediction_vs_gold_iou"] == 1.0


def test_prediction_close_enough_to_gold_is_not_wrong() -> None:
    # Gold scratch 100 px, prediction one row shorter: IoU 0.9 is not < wrong_iou 0.9.
    prediction = {"Scratch": box((0, 0, 9, 10)), "Pit": GOLD["Pit"]}
    assert not detect(prediction, prediction, GOLD).flagged
    assert detect(prediction, prediction, GOLD, wrong_iou=0.95).flagged


def test_one_class_redrawn_is_not_flagged() -> None:
    # The pit is left as predicted (and is right), the wrong scratch is redrawn: an edit.
    candidate = {"Scratch": box((0, 0, 10, 11)), "Pit": WRONG["Pit"]}
    result = detect(candidate, WRONG, GOLD)
    assert not result.flagged
    assert "edited" in result.message
    assert "Scratch" in result.message
    assert result.per_class["Scratch"]["candidate_vs_prediction_iou"] == pytest.approx(60 / 150)
    assert result.per_class["Pit"]["candidate_vs_prediction_iou"] == 1.0


def test_deleting_or_adding_a_class_is_an_edit() -> None:
    deleted = {"Scratch": WRONG["Scratch"]}
    assert not detect(deleted, WRONG, GOLD).flagged
    added = {**WRONG, "Crack": box((12, 0, 13, 20))}
    result = detect(added, WRONG, GOLD)
    assert not result.flagged
    assert result.per_class["Crack"] == {"candidate_vs_prediction_iou": 0.0, "prediction_vs_gold_iou": None}


def test_tiny_change_still_counts_as_unchanged() -> None:
    # One pixel of 100 removed from the scratch: IoU 0.99 >= identical_iou.
    candidate = {k: v.copy() for k, v in WRONG.items()}
    candidate["Scratch"][0, 5] = False
    result = detect(candidate, WRONG, GOLD)
    assert result.per_class["Scratch"]["candidate_vs_prediction_iou"] == pytest.approx(0.99)
    assert result.flagged
    assert not detect(candidate, WRONG, GOLD, identical_iou=0.995).flagged


def test_everything_empty_is_not_flagged() -> None:
    result = detect({}, {}, {})
    assert not result.flagged
    assert list(result.per_class) == LABELS
    assert all(v == {"candidate_vs_prediction_iou": None, "prediction_vs_gold_iou": None}
               for v in result.per_class.values())
    assert result.prediction_vs_gold_iou is None
    # All-False arrays are the same as missing labels.
    empty = {label: np.zeros(SHAPE, bool) for label in LABELS}
    assert detect(empty, empty, empty) == result


def test_empty_prediction_submitted_empty_is_not_flagged() -> None:
    # Gold has defects and the model found none: an empty submission is a miss, not a rubber stamp.
    result = detect({}, {}, GOLD)
    assert not result.flagged
    assert "empty" in result.message
    assert result.per_class["Scratch"] == {"candidate_vs_prediction_iou": None, "prediction_vs_gold_iou": 0.0}


def test_class_missing_from_prediction_makes_it_wrong() -> None:
    prediction = {"Scratch": GOLD["Scratch"]}  # the model missed the pit
    result = detect(prediction, prediction, GOLD)
    assert result.flagged
    assert result.per_class["Pit"] == {"candidate_vs_prediction_iou": None, "prediction_vs_gold_iou": 0.0}
    assert "Pit IoU 0.00 against gold" in result.message


def test_spurious_class_in_prediction_makes_it_wrong() -> None:
    prediction = {**GOLD, "Blemish": box((12, 0, 14, 4))}
    result = detect(prediction, prediction, GOLD)
    assert result.flagged
    assert result.per_class["Blemish"]["prediction_vs_gold_iou"] == 0.0


def test_wrong_label_on_right_pixels_is_wrong() -> None:
    # The model drew the scratch right but called it a crack: class-agnostic IoU is 1, per class 0.
    prediction = {"Crack": GOLD["Scratch"], "Pit": GOLD["Pit"]}
    result = detect(prediction, prediction, GOLD)
    assert result.flagged
    assert result.prediction_vs_gold_iou == 1.0
    assert result.per_class["Scratch"]["prediction_vs_gold_iou"] == 0.0
    assert result.per_class["Crack"]["prediction_vs_gold_iou"] == 0.0


def test_overlapping_pixels_hand_counted() -> None:
    # Candidate 3 x 4 = 12 px; prediction 3 x 5 = 15 px over the same rows, sharing 12: IoU 12/15.
    # Gold 4 x 5 = 20 px, sharing 3 x 5 = 15 with the prediction: IoU 15/20.
    candidate = {"Blemish": box((2, 2, 5, 6))}
    prediction = {"Blemish": box((2, 2, 5, 7))}
    gold = {"Blemish": box((1, 2, 5, 7))}
    result = detect(candidate, prediction, gold)
    assert result.per_class["Blemish"]["candidate_vs_prediction_iou"] == pytest.approx(0.8)
    assert result.per_class["Blemish"]["prediction_vs_gold_iou"] == pytest.approx(0.75)
    assert not result.flagged  # 0.8 < 0.99: edited


def test_other_labels_are_reported_after_the_defect_classes() -> None:
    prediction = {"Smudge": box((0, 0, 2, 2))}
    result = detect(prediction, prediction, {})
    assert list(result.per_class) == [*LABELS, "Smudge"]
    assert result.flagged


def test_nonzero_masks_of_any_dtype() -> None:
    as_u8 = {k: v.astype(np.uint8) * 255 for k, v in WRONG.items()}
    assert detect(as_u8, WRONG, GOLD) == detect(WRONG, WRONG, GOLD)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="identical_iou"):
        detect({}, {}, {}, identical_iou=0)
    with pytest.raises(ValueError, match="wrong_iou"):
        detect({}, {}, {}, wrong_iou=1.5)
    with pytest.raises(ValueError, match="gold mask 'Pit'"):
        detect(WRONG, WRONG, {"Pit": np.zeros((5, 5), bool)})
    with pytest.raises(ValueError, match="2-D"):
        detect({"Pit": np.zeros((2, 2, 2), bool)}, {}, {})

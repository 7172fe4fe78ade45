"""Agreement between annotators, their merged mask and edit evidence, on masks small enough to count by hand."""
import numpy as np
import pytest

from annotations.quality.agreement import edit_evidence, merge_masks, photo_agreement

SHAPE = (10, 12)


def box(top: int, left: int, bottom: int, right: int) -> np.ndarray:
    """A SHAPE mask with the half-open box set."""
    mask = np.zeros(SHAPE, bool)
    mask[top:bottom, left:right] = True
    return mask


def test_two_annotators_iou_dice_and_instance_f1_of_one_class_by_hand() -> None:
    # a: 2x2 at the corner (4 px); b: 2x3 one column to the right (6 px); they share 2 px, 8 px in all.
    a, b = box(0, 0, 2, 2), box(0, 1, 2, 4)
    found = photo_agreement([{"scratch": a}, {"scratch": b}], ["scratch", "pit"])
    scratch = found.classes["scratch"]
    assert scratch.iou == pytest.approx(2 / 8)
    assert scratch.dice == pytest.approx(2 * 2 / (4 + 6))
    assert scratch.instance_f1 == 0.0  # one defect each, IoU 0.25 < 0.5: no match
    assert scratch.pairs == 1
    assert (found.classes["pit"].iou, found.classes["pit"].pairs) == (None, 0)  # painted by nobody: left out
    assert found.iou == pytest.approx(0.25)


def test_three_annotators_average_their_three_pairs() -> None:
    # a = b (4 px), c shares 2 of them and adds 2: IoU(a,b) = 1, IoU(a,c) = IoU(b,c) = 2/6.
    a, b, c = box(4, 4, 6, 6), box(4, 4, 6, 6), box(4, 5, 6, 7)
    # A second class only c painted: pairs (a,c) and (b,c) are 0, (a,b) has no value.
    found = photo_agreement([{"crack": a}, {"crack": b}, {"crack": c, "pit": box(0, 0, 1, 1)}], ["crack", "pit"])
    assert found.classes["crack"].iou == pytest.approx((1 + 2 / 6 + 2 / 6) / 3)
    assert found.classes["crack"].dice == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert found.classes["crack"].instance_f1 == pytest.approx((1 + 0 + 0) / 3)  # 2/6 < 0.5: c matches neither
    assert (found.classes["pit"].iou, found.classes["pit"].pairs) == (0.0, 2)
    assert found.iou == pytest.approx(((1 + 2 / 3) / 3 + 0) / 2)


def test_instances_match_one_to_one_between_annotators() -> None:
    # a paints two defects, b the first one exactly and nothing else: 1 matched of 2 and 1, F1 = 2/3.
    a, b = box(0, 0, 2, 2) | box(6, 6, 8, 8), box(0, 0, 2, 2)
    assert photo_agreement([{"pit": a}, {"pit": b}], ["pit"]).classes["pit"].instance_f1 == pytest.approx(2 / 3)


def test_the_merged_mask_is_the_per_pixel_majority_of_three() -> None:
    # a: rows 0-2 x cols 0-2; b: rows 1-3 x cols 1-3; c: rows 0-1 x cols 2-4. Pixels set by two or three:
    # a&b (1,1) (1,2) (2,1) (2,2); a&c adds (0,2); b&c adds (1,3).
    a, b, c = box(0, 0, 3, 3), box(1, 1, 4, 4), box(0, 2, 2, 5)
    merged = merge_masks([{"scratch": a}, {"scratch": b}, {"scratch": c}], ["scratch", "crack"], ranking=[2, 0, 1],
                         shape=SHAPE)
    assert sorted(zip(*np.nonzero(merged["scratch"]), strict=True)) == [(0, 2), (1, 1), (1, 2), (1, 3), (2, 1),
                                                                        (2, 2)]
    assert not merged["crack"].any()


def test_a_tie_of_two_goes_to_the_annotator_ranked_first() -> None:
    a, b = box(0, 0, 2, 2), box(0, 1, 2, 3)
    by_a = merge_masks([{"pit": a}, {"pit": b}], ["pit"], ranking=[0, 1], shape=SHAPE)["pit"]
    by_b = merge_masks([{"pit": a}, {"pit": b}], ["pit"], ranking=[1, 0], shape=SHAPE)["pit"]
    assert np.array_equal(by_a, a)
    assert np.array_equal(by_b, b)
    # Four annotators: two of four is a tie too, three of four is a majority.
    four = [{"pit": box(0, 0, 1, 4)}, {"pit": box(0, 0, 1, 2)}, {"pit": box(0, 1, 1, 3)}, {}]
    merged = merge_masks(four, ["pit"], ranking=[2, 0, 1, 3], shape=SHAPE)["pit"]
    # votes along row 0: col 0: 2 (tie, 2nd-ranked... ranked first is #2, which lacks col 0) -> off;
    # col 1: 3 -> on; col 2: 2 (tie, #2 has it) -> on; col 3: 1 -> off.
    assert merged[0, :5].tolist() == [False, True, True, False, False]


def test_edit_evidence_counts_pixels_and_defects_added_and_deleted() -> None:
    prediction = {"scratch": box(0, 0, 2, 4) | box(6, 6, 8, 8), "pit": box(9, 0, 10, 2)}
    # Kept the first scratch and grew it by one column (2 px added), deleted the second (4 px), drew a new one
    # (1 px); the pit is as predicted.
    submitted = {"scratch": box(0, 0, 2, 5) | box(5, 0, 6, 1), "pit": box(9, 0, 10, 2)}
    edits = edit_evidence(submitted, prediction, ["scratch", "pit", "crack"])
    scratch = edits.classes["scratch"]
    assert (scratch.pixels_added, scratch.pixels_removed) == (2 + 1, 4)
    assert (scratch.defects_added, scratch.defects_deleted) == (1, 1)
    assert edits.classes["pit"].pixels_added == edits.classes["pit"].pixels_removed == 0
    assert edits.classes["crack"].defects_added == 0
    assert not edits.unchanged
    assert edit_evidence(prediction, prediction, ["scratch", "pit"]).unchanged


def test_bad_input_is_refused_saying_what() -> None:
    with pytest.raises(ValueError, match="at least 2 annotators"):
        photo_agreement([{"pit": box(0, 0, 1, 1)}], ["pit"])
    with pytest.raises(ValueError, match="ranking must list each of the 2 annotators once"):
        merge_masks([{}, {}], ["pit"], ranking=[0, 0], shape=SHAPE)
    with pytest.raises(ValueError, match="a pit mask is 3x2, not 12x10"):
        merge_masks([{"pit": np.zeros((2, 3), bool)}, {}], ["pit"], ranking=[0, 1], shape=SHAPE)
    with pytest.raises(ValueError, match="mask 1 is 3x2"):
        photo_agreement([{"pit": box(0, 0, 1, 1)}, {"pit": np.zeros((2, 3), bool)}], ["pit"])

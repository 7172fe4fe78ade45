"""Tests of annotations.quality.metrics: hand-counted cases, a naive reference, pycocotools and a 20 MP pair."""

import itertools
from collections import deque

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from annotations.quality import metrics
from annotations.quality.classes import DEFECT_CLASSES
from annotations.quality.metrics import (
    boundary,
    boundary_f1,
    iou,
    match_instances,
    round_report,
    score_class,
    score_masks,
)

LABELS = [d.label for d in DEFECT_CLASSES]


def box(shape: tuple[int, int], *rects: tuple[int, int, int, int]) -> np.ndarray:
    """Bool mask with the given (row0, col0, row1, col1) half-open rectangles set."""
    mask = np.zeros(shape, dtype=bool)
    for r0, c0, r1, c1 in rects:
        mask[r0:r1, c0:c1] = True
    return mask


# --- hand-counted cases -------------------------------------------------------------------------

# 6x6 frame, gold = 4x4 square at rows 1-4, cols 1-4; candidate = the same square moved one
# column right (cols 2-5), so it touches the right image edge.
GOLD_SQ = box((6, 6), (1, 1, 5, 5))
CAND_SQ = box((6, 6), (1, 2, 5, 6))


def test_boundary_is_mask_minus_3x3_erosion_with_outside_as_background() -> None:
    square = box((6, 6), (1, 1, 5, 5))
    ring = square.copy()
    ring[2:4, 2:4] = False  # the 2x2 interior survives the erosion
    assert np.array_equal(boundary(square), ring)
    # A mask filling the frame: its edge pixels border the outside, so only the 2x2 centre is interior.
    full = np.ones((4, 4), dtype=bool)
    assert np.array_equal(boundary(full), ~box((4, 4), (1, 1, 3, 3)))
    # Every pixel of a 1-px line or of a 3x3 block's rim is boundary; the block's centre is not.
    assert boundary(box((5, 5), (1, 1, 4, 4))).sum() == 8
    assert boundary(box((5, 5), (2, 0, 3, 5))).sum() == 5


def test_pixel_scores_of_a_one_column_shift_hand_counted() -> None:
    # TP = 4 rows x 3 cols = 12, gold = candidate = 16 px.
    score = score_class(GOLD_SQ, CAND_SQ)
    assert score["gold_pixels"] == 16
    assert score["candidate_pixels"] == 16
    assert score["iou"] == pytest.approx(12 / 20, abs=1e-12)
    assert score["dice"] == pytest.approx(24 / 32, abs=1e-12)
    assert score["precision"] == pytest.approx(12 / 16, abs=1e-12)
    assert score["recall"] == pytest.approx(12 / 16, abs=1e-12)


def test_boundary_f1_of_a_one_pixel_shift_depends_on_tolerance() -> None:
    # Each ring has 12 px. At tolerance 0 only the top and bottom rows' shared columns 2-4 coincide:
    # 6 px on each side, so BP = BR = 0.5. Every ring pixel has a shifted partner 1 px away.
    assert boundary_f1(GOLD_SQ, CAND_SQ, tolerance=0) == pytest.approx(0.5, abs=1e-12)
    assert boundary_f1(GOLD_SQ, CAND_SQ, tolerance=1) == pytest.approx(1.0, abs=1e-12)
    assert boundary_f1(GOLD_SQ, CAND_SQ, tolerance=2) == pytest.approx(1.0, abs=1e-12)
    assert score_class(GOLD_SQ, CAND_SQ)["boundary_f1"] == pytest.approx(1.0, abs=1e-12)


def test_boundary_f1_asymmetric_hand_counted() -> None:
    # Gold 2x2 (4 boundary px), candidate 2x3 (6 boundary px, none interior), sharing the 2x2.
    gold = box((6, 6), (1, 1, 3, 3))
    cand = box((6, 6), (1, 1, 3, 4))
    # Tolerance 0: BR = 4/4, BP = 4/6, BF1 = 2 * (2/3) / (5/3) = 0.8.
    assert boundary_f1(gold, cand, tolerance=0) == pytest.approx(0.8, abs=1e-12)
    # Tolerance 0.99 is still below the 1 px of the extra column.
    assert boundary_f1(gold, cand, tolerance=0.99) == pytest.approx(0.8, abs=1e-12)
    assert boundary_f1(gold, cand, tolerance=1) == pytest.approx(1.0, abs=1e-12)


def test_boundary_tolerance_is_euclidean() -> None:
    # Single pixels diagonally 2 apart (distance sqrt(8) ~ 2.83): no match at 2.8, a match at 2.83.
    gold = box((8, 8), (2, 2, 3, 3))
    cand = box((8, 8), (4, 4, 5, 5))
    assert boundary_f1(gold, cand, tolerance=2.8) == 0.0
    assert boundary_f1(gold, cand, tolerance=2.83) == pytest.approx(1.0)
    # A 3 px shift is not perfect at tolerance 2.
    shifted = box((12, 12), (2, 5, 8, 11))
    assert boundary_f1(box((12, 12), (2, 2, 8, 8)), shifted, tolerance=2) < 1.0


# --- empty classes ------------------------------------------------------------------------------


def test_both_empty_is_none_and_one_empty_is_zero() -> None:
    empty = np.zeros((6, 6), dtype=bool)
    both = score_class(empty, empty)
    assert both["gold_pixels"] == both["candidate_pixels"] == 0
    for key in ("iou", "dice", "precision", "recall", "boundary_f1"):
        assert both[key] is None, key
    assert both["instances"] == {
        "gold": 0, "candidate": 0, "matched": 0, "precision": None, "recall": None, "f1": None,
        "missed": [], "spurious": [],
    }

    missed = score_class(GOLD_SQ, empty)  # the candidate drew nothing
    assert (missed["iou"], missed["dice"], missed["boundary_f1"]) == (0.0, 0.0, 0.0)
    assert missed["precision"] is None
    assert missed["recall"] == 0.0
    assert missed["instances"]["precision"] is None
    assert missed["instances"]["recall"] == 0.0
    assert missed["instances"]["f1"] == 0.0
    assert missed["instances"]["missed"] == [{"bbox": [1, 1, 4, 4], "area": 16}]

    invented = score_class(empty, CAND_SQ)  # the candidate drew a defect gold does not have
    assert (invented["iou"], invented["dice"], invented["boundary_f1"]) == (0.0, 0.0, 0.0)
    assert invented["precision"] == 0.0
    assert invented["recall"] is None
    assert invented["instances"]["spurious"] == [{"bbox": [2, 1, 4, 4], "area": 16}]


def test_score_masks_reports_every_class_and_leaves_empty_ones_out_of_the_means() -> None:
    empty = np.zeros((6, 6), dtype=bool)
    gold = {"Scratch": GOLD_SQ, "Pit": GOLD_SQ, "Crack": empty}
    cand = {"Scratch": CAND_SQ, "Blemish": CAND_SQ}
    report = score_masks(gold, cand, labels=LABELS)
    assert list(report["classes"]) == LABELS
    scratch, pit, blemish = (report["classes"][k] for k in ("Scratch", "Pit", "Blemish"))
    assert scratch["iou"] == pytest.approx(0.6)
    assert pit["iou"] == 0.0  # gold only
    assert blemish["iou"] == 0.0  # candidate only
    for label in ("Crack", "Missing surface", "Discoloration"):  # empty or absent on both sides
        c = report["classes"][label]
        assert (c["gold_pixels"], c["candidate_pixels"], c["iou"], c["boundary_f1"]) == (0, 0, None, None)
    overall = report["overall"]
    assert overall["macro_iou"] == pytest.approx(0.6 / 3)
    assert overall["macro_dice"] == pytest.approx(0.75 / 3)
    assert overall["macro_boundary_f1"] == pytest.approx(1.0 / 3)
    # Class-agnostic: gold's union is GOLD_SQ, the candidate's is CAND_SQ.
    assert overall["iou"] == pytest.approx(0.6)


def test_overall_iou_ignores_the_class() -> None:
    report = score_masks({"Scratch": GOLD_SQ}, {"Crack": GOLD_SQ})
    assert report["overall"]["iou"] == 1.0
    assert report["overall"]["macro_iou"] == 0.0


def test_unknown_labels_are_reported_after_the_defect_classes() -> None:
    report = score_masks({"Smudge": GOLD_SQ}, {"Smudge": GOLD_SQ}, labels=LABELS)
    assert list(report["classes"]) == [*LABELS, "Smudge"]
    assert report["classes"]["Smudge"]["iou"] == 1.0


def test_nothing_anywhere_gives_none() -> None:
    report = score_masks({}, {})
    assert report["overall"] == {"iou": None, "macro_iou": None, "macro_dice": None, "macro_boundary_f1": None}


def test_bad_arguments_raise_value_error() -> None:
    with pytest.raises(ValueError, match="6x6"):
        score_masks({"Scratch": GOLD_SQ}, {"Scratch": np.zeros((6, 7), dtype=bool)})
    with pytest.raises(ValueError, match="tolerance"):
        score_class(GOLD_SQ, CAND_SQ, tolerance=-1)
    with pytest.raises(ValueError, match="iou_match"):
        score_class(GOLD_SQ, CAND_SQ, iou_match=0)
    with pytest.raises(ValueError, match="2-D"):
        iou(np.zeros(5, dtype=bool), np.zeros(5, dtype=bool))


def test_integer_masks_count_non_zero_and_inputs_are_not_modified() -> None:
    gold = GOLD_SQ.astype(np.uint8) * 255
    before = gold.copy()
    assert iou(gold, CAND_SQ) == pytest.approx(0.6)
    assert np.array_equal(gold, before)


def test_round_report() -> None:
    report = round_report(score_masks({"Scratch": box((7, 7), (0, 0, 3, 3))}, {"Scratch": box((7, 7), (0, 0, 3, 2))}))
    assert report["classes"]["Scratch"]["iou"] == 0.666667


# --- instances ----------------------------------------------------------------------------------

# Gold defect: rows 2-11, cols 2-21 (200 px). Pieces: cols 2-15 (140 px) and cols 17-21 (50 px).
WHOLE = box((14, 24), (2, 2, 12, 22))
BIG_PIECE = box((14, 24), (2, 2, 12, 16))
SMALL_PIECE = box((14, 24), (2, 17, 12, 22))


def test_split_defect_matches_one_piece_the_other_is_spurious() -> None:
    result = match_instances(WHOLE, BIG_PIECE | SMALL_PIECE)  # IoUs 0.7 and 0.25
    assert (result["gold"], result["candidate"], result["matched"]) == (1, 2, 1)
    assert result["precision"] == 0.5
    assert result["recall"] == 1.0
    assert result["f1"] == pytest.approx(2 / 3)
    assert result["missed"] == []
    assert result["spurious"] == [{"bbox": [17, 2, 5, 10], "area": 50}]


def test_merged_defects_match_one_gold_the_other_is_missed() -> None:
    result = match_instances(BIG_PIECE | SMALL_PIECE, WHOLE)
    assert (result["gold"], result["candidate"], result["matched"]) == (2, 1, 1)
    assert (result["precision"], result["recall"]) == (1.0, 0.5)
    assert result["missed"] == [{"bbox": [17, 2, 5, 10], "area": 50}]
    assert result["spurious"] == []
    # Even when the small piece's IoU (0.25) clears the threshold, the blob is taken by the
    # higher-IoU pair first: one-to-one.
    assert match_instances(BIG_PIECE | SMALL_PIECE, WHOLE, iou_match=0.2)["matched"] == 1


def test_iou_match_threshold_is_inclusive_and_configurable() -> None:
    half = box((14, 24), (2, 2, 12, 12))  # 100 of the 200 px: IoU exactly 0.5
    assert match_instances(WHOLE, half)["matched"] == 1
    assert match_instances(WHOLE, half, iou_match=0.51)["matched"] == 0
    assert match_instances(GOLD_SQ, CAND_SQ, iou_match=0.7)["missed"] == [{"bbox": [1, 1, 4, 4], "area": 16}]


def test_instances_are_eight_connected() -> None:
    diagonal = np.eye(5, dtype=bool)  # touching only at corners: one instance
    assert match_instances(diagonal, diagonal)["gold"] == 1
    assert match_instances(diagonal, diagonal)["matched"] == 1


def test_greedy_matching_takes_the_highest_iou_pair_first() -> None:
    # Gold boxes at cols 0-9 and 11-20; the candidate spans cols 3-18: IoU 70/190 with the first
    # and 80/180 with the second. Both clear 0.3; the better pair wins although the first gold
    # comes first in raster order, and the first gold is missed.
    gold = box((10, 24), (0, 0, 10, 10), (0, 11, 10, 21))
    cand = box((10, 24), (0, 3, 10, 19))
    result = match_instances(gold, cand, iou_match=0.3)
    assert result["matched"] == 1
    assert result["missed"] == [{"bbox": [0, 0, 10, 10], "area": 100}]
    assert match_instances(gold, cand, iou_match=0.45)["matched"] == 0


# --- agreement with a naive full-frame reference on random masks ------------------------------


def _ref_boundary(mask: np.ndarray) -> np.ndarray:
    padded = np.pad(mask, 1)
    eroded = np.ones_like(mask)
    for dy, dx in itertools.product(range(3), range(3)):
        eroded &= padded[dy : dy + mask.shape[0], dx : dx + mask.shape[1]]
    return mask & ~eroded


def _ref_matched(own: np.ndarray, other: np.ndarray, tolerance: float) -> int:
    a, b = np.argwhere(own), np.argwhere(other)
    if not len(a) or not len(b):
        return 0
    d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
    return int((d2.min(axis=1) <= tolerance**2).sum())


def _ref_components(mask: np.ndarray) -> list[np.ndarray]:
    """8-connected components by breadth-first search, as bool masks, in raster order."""
    seen = np.zeros_like(mask)
    out = []
    for y, x in np.argwhere(mask):
        if seen[y, x]:
            continue
        comp = np.zeros_like(mask)
        queue = deque([(y, x)])
        seen[y, x] = True
        while queue:
            cy, cx = queue.popleft()
            comp[cy, cx] = True
            for dy, dx in itertools.product((-1, 0, 1), repeat=2):
                ny, nx = cy + dy, cx + dx
                if 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1] and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    queue.append((ny, nx))
        out.append(comp)
    return out


def _ref_score(gold: np.ndarray, cand: np.ndarray, tolerance: float, iou_match: float) -> dict:
    tp, ng, nc = int((gold & cand).sum()), int(gold.sum()), int(cand.sum())
    bg, bc = _ref_boundary(gold), _ref_boundary(cand)
    bp = _ref_matched(bc, bg, tolerance) / bc.sum() if bc.sum() else None
    br = _ref_matched(bg, bc, tolerance) / bg.sum() if bg.sum() else None
    gcomps, ccomps = _ref_components(gold), _ref_components(cand)
    pairs = []
    for (i, g), (j, c) in itertools.product(enumerate(gcomps), enumerate(ccomps)):
        inter = int((g & c).sum())
        if inter and inter / int((g | c).sum()) >= iou_match:
            pairs.append((-inter / int((g | c).sum()), i, j))
    used_g, used_c = set(), set()
    for _, i, j in sorted(pairs):
        if i not in used_g and j not in used_c:
            used_g.add(i)
            used_c.add(j)
    return {
        "iou": tp / (ng + nc - tp) if ng + nc else None,
        "precision": tp / nc if nc else None,
        "recall": tp / ng if ng else None,
        "boundary_precision": bp,
        "boundary_recall": br,
        "gold_instances": len(gcomps),
        "candidate_instances": len(ccomps),
        "matched": len(used_g),
    }


def random_pair(seed: int, shape: tuple[int, int] = (150, 230)) -> tuple[np.ndarray, np.ndarray]:
    """Gold blobs, lines and an L-shape enclosing a blob; the candidate jittered, with drops and speckles."""
    rng = np.random.default_rng(seed)
    gold = np.zeros(shape, np.uint8)
    cand = np.zeros(shape, np.uint8)
    h, w = shape
    for _ in range(8):
        kind = rng.integers(3)
        y, x = int(rng.integers(-5, h + 5)), int(rng.integers(-5, w + 5))  # some touch the edges
        jy, jx = (int(v) for v in rng.integers(-2, 3, size=2))
        drop = rng.random() < 0.15
        for canvas, oy, ox in ((gold, 0, 0), (cand, jy, jx)):
            if canvas is cand and drop:
                continue
            if kind == 0:
                cv2.circle(canvas, (x + ox, y + oy), int(rng.integers(1, 12)), 1, -1)
            elif kind == 1:
                cv2.line(canvas, (x + ox, y + oy), (x + ox + 60, y + oy + 25), 1, int(rng.integers(1, 4)))
            else:
                cv2.ellipse(canvas, (x + ox, y + oy), (14, 6), 30.0, 0.0, 360.0, 1, -1)
    # An L whose bounding box encloses a separate blob: regions must not count that blob twice.
    cv2.rectangle(gold, (100, 60), (104, 140), 1, -1)
    cv2.rectangle(gold, (100, 136), (200, 140), 1, -1)
    cv2.circle(gold, (170, 90), 6, 1, -1)
    cv2.rectangle(cand, (101, 60), (105, 140), 1, -1)
    cv2.circle(cand, (171, 91), 6, 1, -1)
    speckles = rng.random(shape) < 0.002
    return gold.astype(bool), cand.astype(bool) | speckles


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("tolerance", [0, 1, 1.5, 2, 3, 7.5, 16.5, 20])
def test_agrees_with_naive_full_frame_reference(seed: int, tolerance: float) -> None:
    gold, cand = random_pair(seed)
    iou_match = 0.5 if seed % 2 else 0.3
    ref = _ref_score(gold, cand, tolerance, iou_match)
    got = score_class(gold, cand, tolerance=tolerance, iou_match=iou_match)
    assert got["iou"] == pytest.approx(ref["iou"], abs=1e-12)
    assert got["precision"] == pytest.approx(ref["precision"], abs=1e-12)
    assert got["recall"] == pytest.approx(ref["recall"], abs=1e-12)
    bp, br = ref["boundary_precision"], ref["boundary_recall"]
    assert got["boundary_f1"] == pytest.approx(2 * bp * br / (bp + br) if bp + br else 0.0, abs=1e-12)
    inst = got["instances"]
    assert (inst["gold"], inst["candidate"], inst["matched"]) == (
        ref["gold_instances"], ref["candidate_instances"], ref["matched"],
    )
    assert len(inst["missed"]) == inst["gold"] - inst["matched"]
    assert len(inst["spurious"]) == inst["candidate"] - inst["matched"]


def test_regions_cover_each_pixel_once() -> None:
    gold, cand = random_pair(0)
    occupied = metrics._coarse(gold) | metrics._coarse(cand)
    for margin in (0, 4, 40):
        seen = np.zeros(gold.shape, np.int32)
        for region in metrics._regions(occupied, gold.shape, margin):
            part = np.ones((region.rows.stop - region.rows.start, region.cols.stop - region.cols.start), bool)
            if region.keep is not None:
                part &= region.keep
            seen[region.rows, region.cols] += part & (gold | cand)[region.rows, region.cols]
        assert np.array_equal(seen, (gold | cand).astype(np.int32)), margin


def test_iou_agrees_with_pycocotools() -> None:
    for seed in range(10):
        gold, cand = random_pair(seed, shape=(97 + seed, 181))
        encoded = mask_utils.encode(np.asfortranarray(np.stack([gold, cand], axis=2).astype(np.uint8)))
        expected = float(mask_utils.iou([encoded[1]], [encoded[0]], [0])[0, 0])
        assert iou(gold, cand) == pytest.approx(expected, abs=1e-12)
        assert score_masks({"Pit": gold}, {"Pit": cand})["overall"]["iou"] == pytest.approx(expected, abs=1e-12)


# --- a realistic 20 MP pair ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_realistic_20_mp_pair_reports_the_missed_and_invented_defects() -> None:
    # Its speed is measured by bench/scoring.py, not here: this machine is shared and noisy.
    height, width = 3648, 5472
    rng = np.random.default_rng(7)
    gold = {d.label: np.zeros((height, width), np.uint8) for d in DEFECT_CLASSES}
    cand = {d.label: np.zeros((height, width), np.uint8) for d in DEFECT_CLASSES}
    # 25 defects on a 5x5 grid of 1000 x 700 px cells, so none touch; the candidate draws each one
    # 1 px to the right, except that it misses the first Scratch and invents one Pit.
    for n, (gy, gx) in enumerate(itertools.product(range(5), range(5))):
        label = LABELS[n % len(LABELS)]
        cy, cx = 200 + gy * 700 + int(rng.integers(0, 200)), 200 + gx * 1000 + int(rng.integers(0, 300))
        radius = int(rng.integers(8, 150))
        end = (cx + int(rng.integers(100, 600)), cy + int(rng.integers(-250, 250)))
        for masks, shift in ((gold, 0), (cand, 1)):
            if masks is cand and n == 0:
                continue
            if n % 2:
                cv2.circle(masks[label][:, shift:], (cx, cy), radius, 1, -1)
            else:
                cv2.line(masks[label][:, shift:], (cx, cy), end, 1, 6)
    cv2.circle(cand["Pit"], (5300, 3500), 20, 1, -1)
    gold_b = {k: v.astype(bool) for k, v in gold.items()}
    cand_b = {k: v.astype(bool) for k, v in cand.items()}

    report = score_masks(gold_b, cand_b)
    assert list(report["classes"]) == LABELS
    scratch, pit = report["classes"]["Scratch"], report["classes"]["Pit"]
    assert scratch["instances"]["missed"][0]["area"] > 0
    assert len(scratch["instances"]["missed"]) == 1
    invented_area = int(cand["Pit"][3480:, 5280:].sum())
    assert pit["instances"]["spurious"] == [{"bbox": [5280, 3480, 41, 41], "area": invented_area}]
    for label, score in report["classes"].items():
        instances = score["instances"]
        assert instances["matched"] == instances["gold"] - (label == "Scratch"), label
        if label not in ("Scratch", "Pit"):
            # Every boundary pixel has its 1-px-shifted copy: perfect at tolerance 2.
            assert score["boundary_f1"] == pytest.approx(1.0), label
            assert score_class(gold_b[label], cand_b[label], tolerance=0)["boundary_f1"] < 0.9, label

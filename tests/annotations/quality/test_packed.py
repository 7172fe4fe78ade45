"""annotations.quality.packed: bit-packed masks read back exactly, and every scorer gives the same answer on them."""

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from annotations.quality.labelstudio_json import masks_from_results, packed_masks_from_results
from annotations.quality.metrics import score_masks
from annotations.quality.overlay import render_overlay
from annotations.quality.packed import PackedMask, union_box
from annotations.quality.rle import mask_to_rle
from annotations.quality.rubber_stamp import detect_rubber_stamp


def blobs(shape: tuple[int, int], *rects: tuple[int, int, int, int]) -> np.ndarray:
    out = np.zeros(shape, bool)
    for r0, c0, r1, c1 in rects:
        out[r0:r1, c0:c1] = True
    return out


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.bool_, st.tuples(st.integers(1, 40), st.integers(1, 40))), st.data())
def test_a_packed_mask_reads_back_whole_by_rows_and_by_count(mask: np.ndarray, data: st.DataObject) -> None:
    packed = PackedMask.of(mask)
    assert packed.shape == mask.shape
    np.testing.assert_array_equal(np.asarray(packed), mask)
    assert packed.count() == np.count_nonzero(mask)
    y0 = data.draw(st.integers(0, mask.shape[0] - 1))
    y1 = data.draw(st.integers(y0 + 1, mask.shape[0]))
    np.testing.assert_array_equal(packed.rows(y0, y1), mask[y0:y1])
    if not mask[y0:y1].any():
        assert not packed.rows(y0, y1).any()


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.bool_, (17, 23)), hnp.arrays(np.bool_, (17, 23)))
def test_a_union_of_packed_masks_is_the_or_of_the_masks(a: np.ndarray, b: np.ndarray) -> None:
    union = PackedMask.of(a).union(PackedMask.of(b))
    np.testing.assert_array_equal(np.asarray(union), a | b)
    assert union.count() == np.count_nonzero(a | b)
    np.testing.assert_array_equal(union.rows(3, 11), (a | b)[3:11])
    box = union.box()
    if box is None:
        assert not (a | b).any()
    else:
        np.testing.assert_array_equal(np.asarray(union.crop(box)), (a | b)[box[0]:box[2], box[1]:box[3]])


def test_a_box_that_cuts_a_mask_is_refused_and_union_box_skips_empty_ones() -> None:
    packed = PackedMask.of(blobs((20, 30), (5, 5, 10, 12)))
    assert packed.box() == (5, 5, 10, 12)
    with pytest.raises(ValueError, match="does not hold"):
        packed.crop((6, 0, 20, 30))
    with pytest.raises(ValueError, match="cannot unite"):
        packed.union(PackedMask.of(np.zeros((20, 31), bool)))
    assert union_box([None, (1, 2, 3, 4), (0, 5, 2, 9)]) == (0, 2, 3, 9)
    assert union_box([None]) is None


def _results(masks: dict[str, list[np.ndarray]]) -> list[dict]:
    h, w = next(iter(masks.values()))[0].shape
    return [{"type": "brushlabels", "original_width": w, "original_height": h,
             "value": {"format": "rle", "rle": mask_to_rle(m), "brushlabels": [label]}}
            for label, pieces in masks.items() for m in pieces]


SHAPE = (300, 420)
GOLD = {"Scratch": [blobs(SHAPE, (10, 10, 12, 200)), blobs(SHAPE, (100, 300, 180, 302))],
        "Pit": [blobs(SHAPE, (250, 40, 258, 47))],
        "Discoloration": [blobs(SHAPE, (150, 100, 240, 260))]}
CANDIDATE = {"Scratch": [blobs(SHAPE, (11, 12, 13, 190))],
             "Pit": [blobs(SHAPE, (250, 41, 257, 47)), blobs(SHAPE, (20, 400, 25, 405))],
             "Crack": [blobs(SHAPE, (150, 110, 230, 250))]}


def test_packed_masks_from_results_match_the_bool_masks() -> None:
    arrays, h, w = masks_from_results(_results(GOLD))
    packed, ph, pw = packed_masks_from_results(_results(GOLD))
    assert (ph, pw) == (h, w) == SHAPE
    assert packed.keys() == arrays.keys()
    for label in arrays:
        np.testing.assert_array_equal(np.asarray(packed[label]), arrays[label])


def test_scores_rubber_stamp_and_overlay_are_the_same_on_packed_masks() -> None:
    gold, _, _ = masks_from_results(_results(GOLD))
    cand, _, _ = masks_from_results(_results(CANDIDATE))
    gold_p, _, _ = packed_masks_from_results(_results(GOLD))
    cand_p, _, _ = packed_masks_from_results(_results(CANDIDATE))
    assert score_masks(gold_p, cand_p) == score_masks(gold, cand)
    assert score_masks(gold_p, cand_p)["overall"]["iou"] is not None
    for c, p in ((cand, cand), (cand, gold)):
        packed_c = {k: PackedMask.of(v) for k, v in c.items()}
        packed_p = {k: PackedMask.of(v) for k, v in p.items()}
        assert detect_rubber_stamp(candidate=packed_c, prediction=packed_p, gold=gold_p) == \
            detect_rubber_stamp(candidate=c, prediction=p, gold=gold)
    photo = np.full((*SHAPE, 3), 128, np.uint8)
    assert render_overlay(photo=photo, gold=gold_p, candidate=cand_p, max_side=200) == \
        render_overlay(photo=photo, gold=gold, candidate=cand, max_side=200)


def test_a_jpeg_photo_is_decoded_reduced_for_the_overlay_and_still_lands_where_it_should() -> None:
    shape = (1600, 2400)
    buffer = io.BytesIO()
    Image.fromarray(np.full((*shape, 3), 128, np.uint8)).save(buffer, "JPEG", quality=95)
    gold = {"Pit": PackedMask.of(blobs(shape, (400, 400, 800, 800)))}
    with Image.open(buffer) as photo:
        jpeg = render_overlay(photo=photo, gold=gold, candidate={}, max_side=600)
    image = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB")).astype(int)
    assert image.shape == (400, 600, 3)
    r, g, b = image[110:190, 110:190].reshape(-1, 3).mean(axis=0)
    assert b > r + 60  # missed: blue, a quarter of the way in
    assert b > g + 40
    assert np.abs(image[300:380, 300:580] - 128).max() < 4

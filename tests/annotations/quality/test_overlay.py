"""annotations.quality.overlay: JPEG evidence images, right size, right colours, thin defects kept."""

import io
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from annotations.quality import overlay
from annotations.quality.overlay import output_size, overlay_legend, render_overlay

BIG = (3648, 5472)  # H x W of the inspection camera
GREY = 128


def decode(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return np.asarray(image.convert("RGB")).astype(np.int32)


def mask(shape: tuple[int, int], *rects: tuple[int, int, int, int]) -> np.ndarray:
    """Bool mask with the given (row0, col0, row1, col1) half-open rectangles set."""
    out = np.zeros(shape, dtype=bool)
    for r0, c0, r1, c1 in rects:
        out[r0:r1, c0:c1] = True
    return out


def grey(shape: tuple[int, int]) -> np.ndarray:
    return np.full((*shape, 3), GREY, np.uint8)


def mean_rgb(image: np.ndarray, r0: int, c0: int, r1: int, c1: int) -> tuple[float, float, float]:
    r, g, b = image[r0:r1, c0:c1].reshape(-1, 3).mean(axis=0)
    return float(r), float(g), float(b)


# --- legend and size ----------------------------------------------------------------------------


def test_legend() -> None:
    legend = overlay_legend()
    captions = [caption.split(":")[0] for caption, _ in legend]
    assert captions == ["Correct", "False positive", "Missed", "Wrong class"]
    colours = dict(zip(captions, (colour for _, colour in legend), strict=True))
    r, g, b = colours["Correct"]
    assert g > max(r, b)
    r, g, b = colours["False positive"]
    assert r > max(g, b)
    r, g, b = colours["Missed"]
    assert b > max(r, g)
    assert len(set(colours.values())) == 4


@pytest.mark.parametrize(("width", "height", "max_side", "expected"), [
    (5472, 3648, 2048, (2048, 1365)),
    (3648, 5472, 2048, (1365, 2048)),
    (2048, 2048, 2048, (2048, 2048)),
    (600, 400, 2048, (600, 400)),
    (5000, 3, 100, (100, 1)),
])
def test_output_size(width: int, height: int, max_side: int, expected: tuple[int, int]) -> None:
    assert output_size(width, height, max_side) == expected


def test_big_photo_is_downscaled_to_max_side_keeping_aspect() -> None:
    gold = {"Scratch": mask(BIG, (100, 100, 400, 400))}
    image = Image.open(io.BytesIO(render_overlay(photo=grey(BIG), gold=gold, candidate={})))
    assert image.format == "JPEG"
    assert image.size == (2048, 1365)
    assert abs(image.size[0] / image.size[1] - 5472 / 3648) < 1e-3


def test_portrait_and_custom_max_side() -> None:
    shape = (1000, 400)
    image = Image.open(io.BytesIO(render_overlay(photo=grey(shape), gold={}, candidate={}, max_side=500)))
    assert image.size == (200, 500)


def test_small_photo_is_not_upscaled() -> None:
    shape = (300, 450)
    data = render_overlay(photo=grey(shape), gold={}, candidate={})
    assert Image.open(io.BytesIO(data)).size == (450, 300)
    # Nothing marked: the photo comes back untinted.
    assert np.abs(decode(data) - GREY).max() <= 2


# --- colours ------------------------------------------------------------------------------------


def test_colours_land_on_their_regions() -> None:
    # Four 800 x 1200 blocks on a grey full-size photo: correct, false positive, missed, wrong class.
    _h, w = BIG
    tp, fp, fn, wrong = (200, 200, 1000, 1400), (200, 2000, 1000, 3200), (1600, 200, 2400, 1400), \
        (1600, 2000, 2400, 3200)
    gold = {"Scratch": mask(BIG, tp, fn), "Pit": mask(BIG, wrong)}
    candidate = {"Scratch": mask(BIG, tp, fp), "Crack": mask(BIG, wrong)}
    image = decode(render_overlay(photo=grey(BIG), gold=gold, candidate=candidate))
    scale = image.shape[1] / w

    def inside(rect: tuple[int, int, int, int]) -> tuple[float, float, float]:
        # The block's interior in output pixels, away from the JPEG ringing at its edges.
        r0, c0, r1, c1 = (round(v * scale) for v in rect)
        return mean_rgb(image, r0 + 5, c0 + 5, r1 - 5, c1 - 5)

    r, g, b = inside(tp)
    assert g > r + 60
    assert g > b + 60
    r, g, b = inside(fp)
    assert r > g + 60
    assert r > b + 60
    r, g, b = inside(fn)
    assert b > r + 60
    assert b > g + 30
    r, g, b = inside(wrong)
    assert r > b + 60
    assert g > b + 60
    # Semi-transparent: the grey shows through, a tint is neither the photo nor the pure colour.
    r, g, b = inside(fp)
    assert 170 < r < 230
    assert 50 < g < 90
    # Untouched photo stays grey.
    r, g, b = mean_rgb(image, round(3000 * scale), round(4000 * scale), round(3500 * scale), round(5000 * scale))
    assert max(abs(r - GREY), abs(g - GREY), abs(b - GREY)) < 3


def test_colours_follow_the_photo_exactly_without_downscale() -> None:
    # No downscale: each pixel's own category; 30 x 30 blocks on a 120 x 90 photo.
    shape = (90, 120)
    gold = {"Blemish": mask(shape, (0, 0, 30, 30), (60, 0, 90, 30))}
    candidate = {"Blemish": mask(shape, (0, 0, 30, 30), (0, 60, 30, 90))}
    image = decode(render_overlay(photo=grey(shape), gold=gold, candidate=candidate))
    assert image.shape == (90, 120, 3)
    r, g, b = mean_rgb(image, 5, 5, 25, 25)
    assert g > r + 60  # correct
    r, g, b = mean_rgb(image, 5, 65, 25, 85)
    assert r > g + 60  # false positive
    r, g, b = mean_rgb(image, 65, 5, 85, 25)
    assert b > r + 60  # missed
    assert max(abs(c - GREY) for c in mean_rgb(image, 65, 65, 85, 85)) < 3


def test_block_shows_its_majority_and_ties_go_to_errors() -> None:
    # 12 x 12 photo shown at 4 x 4: blocks of 3 x 3 px.
    shape = (12, 12)
    gold = np.zeros(shape, bool)
    cand = np.zeros(shape, bool)
    gold[0:3, 0:3] = cand[0:3, 0:3] = True  # block (0, 0): 9 correct ...
    gold[0, 0] = False  # ... then 8 correct and 1 false positive: correct wins
    gold[0:3, 3] = cand[0:3, 3] = True  # block (0, 1): 3 correct, 3 false positive: a tie
    cand[0:3, 4] = True
    image = decode(render_overlay(photo=grey(shape), gold={"Pit": gold}, candidate={"Pit": cand}, max_side=4,
                                  quality=95))
    assert image.shape == (4, 4, 3)
    r, g, _ = image[0, 0]
    assert g > r + 40
    r, g, _ = image[0, 1]
    assert r > g + 40
    assert max(abs(c - GREY) for c in image[3, 3]) < 12  # JPEG bleed on a 4 x 4 image


def test_one_pixel_scratch_survives_downscaling() -> None:
    # A 1 px wide vertical scratch missed by the candidate and a 1 px horizontal one it invented.
    _h, w = BIG
    col, row = 3001, 1777
    gold = mask(BIG, (500, col, 3000, col + 1))
    candidate = mask(BIG, (row, 3500, row + 1, 5000))
    image = decode(render_overlay(photo=grey(BIG), gold={"Scratch": gold}, candidate={"Scratch": candidate}))
    scale = image.shape[1] / w
    out_col, out_row = int(col * scale), int(row * scale)
    # Every output row along the vertical scratch is tinted blue near its column ...
    rows = image[round(510 * scale) : round(2990 * scale), out_col - 2 : out_col + 3]
    blueness = (rows[..., 2] - rows[..., 0]).max(axis=1)
    assert blueness.min() > 40
    # ... every output column along the horizontal one red near its row ...
    cols = image[out_row - 2 : out_row + 3, round(3510 * scale) : round(4990 * scale)]
    redness = (cols[..., 0] - cols[..., 2]).max(axis=0)
    assert redness.min() > 40
    # ... and a few pixels away the photo is grey again: the lines stay thin.
    assert np.abs(image[1000, out_col + 6] - GREY).max() < 8


def reference_categories(gold: dict, candidate: dict, shape: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """Block by block, pixel by pixel: the category codes the module docstring describes."""
    (height, width), (out_w, out_h) = shape, size
    ys = [o * height // out_h for o in range(out_h + 1)]
    xs = [o * width // out_w for o in range(out_w + 1)]
    labels = set(gold) | set(candidate)
    result = np.zeros((out_h, out_w), np.uint8)
    for oy in range(out_h):
        for ox in range(out_w):
            counts = [0, 0, 0, 0]  # missed, false positive, wrong class, correct
            for y in range(ys[oy], ys[oy + 1]):
                for x in range(xs[ox], xs[ox + 1]):
                    g = {label for label in labels if label in gold and gold[label][y, x]}
                    c = {label for label in labels if label in candidate and candidate[label][y, x]}
                    if g & c:
                        counts[3] += 1
                    elif g and c:
                        counts[2] += 1
                    elif c:
                        counts[1] += 1
                    elif g:
                        counts[0] += 1
            if any(counts):
                result[oy, ox] = 1 + counts.index(max(counts))
    return result


@st.composite
def mask_sets(draw: st.DrawFn) -> tuple[dict, dict, tuple[int, int], int]:
    shape = draw(st.tuples(st.integers(1, 24), st.integers(1, 24)))
    sides = []
    for _ in range(2):
        labels = draw(st.lists(st.sampled_from(["Scratch", "Pit", "Crack"]), unique=True, max_size=3))
        sides.append({label: draw(hnp.arrays(np.bool_, shape)) for label in labels})
    return sides[0], sides[1], shape, draw(st.integers(1, 24))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mask_sets(), st.sampled_from([1, 3, 256]))
def test_block_categories_match_a_pixel_by_pixel_reference(case: tuple, strip_rows: int) -> None:
    gold, candidate, shape, max_side = case
    size = output_size(shape[1], shape[0], max_side)
    # Small strips exercise the strip and column-window bookkeeping on small masks.
    original = overlay._STRIP_ROWS
    overlay._STRIP_ROWS = strip_rows
    try:
        got = overlay._categories(gold, candidate, shape, size)
    finally:
        overlay._STRIP_ROWS = original
    np.testing.assert_array_equal(got, reference_categories(gold, candidate, shape, size))


# --- inputs -------------------------------------------------------------------------------------


def test_pil_and_array_photos_agree_and_masks_may_be_uint8() -> None:
    shape = (900, 1300)
    # Smooth: on noise, two area-averaging resizers legitimately differ pixel by pixel.
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    photo = np.dstack([xx * 255 // shape[1], yy * 255 // shape[0], (xx + yy) % 256]).astype(np.uint8)
    gold = {"Crack": mask(shape, (100, 100, 300, 600))}
    cand = {"Crack": mask(shape, (150, 300, 400, 900)).astype(np.uint8) * 255}
    from_array = decode(render_overlay(photo=photo, gold=gold, candidate=cand, max_side=500))
    from_pil = decode(render_overlay(photo=Image.fromarray(photo), gold=gold, candidate=cand, max_side=500))
    assert from_array.shape == from_pil.shape == (346, 500, 3)
    assert np.abs(from_array - from_pil).mean() < 4
    grey_photo = decode(render_overlay(photo=photo[:, :, 0], gold=gold, candidate=cand, max_side=500))
    assert grey_photo.shape == (346, 500, 3)
    rgba = decode(render_overlay(photo=Image.fromarray(photo).convert("RGBA"), gold=gold, candidate=cand,
                                 max_side=500))
    assert np.abs(rgba - from_pil).mean() < 1


def test_photo_is_not_modified() -> None:
    photo = grey((50, 60))
    render_overlay(photo=photo, gold={"Pit": mask((50, 60), (0, 0, 50, 60))}, candidate={})
    assert (photo == GREY).all()


def test_memory_stays_far_below_a_full_size_colour_copy() -> None:
    gold = {"Scratch": mask(BIG, (1000, 1000, 2000, 3000))}
    candidate = {"Scratch": mask(BIG, (1500, 2000, 2500, 4000))}
    photo = grey(BIG)
    tracemalloc.start()
    try:
        render_overlay(photo=photo, gold=gold, candidate=candidate)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One full-size uint8 RGB copy is 60 MB, one float32 one 240 MB.
    assert peak < 40 * 2**20


def test_bad_input() -> None:
    photo = grey((40, 60))
    with pytest.raises(ValueError, match="gold mask 'Pit'"):
        render_overlay(photo=photo, gold={"Pit": np.zeros((60, 40), bool)}, candidate={})
    with pytest.raises(ValueError, match="photo must be"):
        render_overlay(photo=photo.astype(np.float32), gold={}, candidate={})
    with pytest.raises(ValueError, match="max_side"):
        render_overlay(photo=photo, gold={}, candidate={}, max_side=0)
    with pytest.raises(ValueError, match="quality"):
        render_overlay(photo=photo, gold={}, candidate={}, quality=100)

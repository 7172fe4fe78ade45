"""annotations.quality.rle is bit-exact with label_studio_sdk's brush RLE and rejects bad input cleanly."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from label_studio_sdk.converter.brush import decode_rle, encode_rle, mask2rle
from PIL import Image

from annotations.quality import rle as rle_module
from annotations.quality.rle import RLEError, decode, encode, mask_to_rle, rle_to_mask
from demo.sample_job import generate_sample_job

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sdk_mask(rle: list[int], height: int, width: int) -> np.ndarray:
    return decode_rle(rle).reshape(height, width, 4)[:, :, 3] > 0


# --- strategies -----------------------------------------------------------------------------

shapes = st.tuples(st.integers(1, 40), st.integers(1, 40))


@st.composite
def masks(draw: st.DrawFn) -> np.ndarray:
    """uint8 masks: noise, blocks of runs, empty, full; values as LS (255), 0/1 or arbitrary."""
    shape = draw(shapes)
    kind = draw(st.sampled_from(["noise", "runs", "empty", "full", "any"]))
    on = draw(st.sampled_from([1, 255]))
    if kind == "empty":
        return np.zeros(shape, np.uint8)
    if kind == "full":
        return np.full(shape, on, np.uint8)
    if kind == "any":
        return draw(hnp.arrays(np.uint8, shape))
    if kind == "noise":
        return draw(hnp.arrays(np.uint8, shape, elements=st.sampled_from([0, on])))
    size = shape[0] * shape[1]
    cuts = sorted(draw(st.lists(st.integers(0, size), max_size=8)))
    flat = np.zeros(size, np.uint8)
    for i, (lo, hi) in enumerate(zip([0, *cuts], [*cuts, size], strict=True)):
        flat[lo:hi] = on * (i % 2)
    return flat.reshape(shape)


@st.composite
def rgba_arrays(draw: st.DrawFn) -> np.ndarray:
    """Flat RGBA data (length a multiple of 4) whose colour channels differ from alpha."""
    pixels = draw(st.integers(1, 400))
    if draw(st.booleans()):
        return draw(hnp.arrays(np.uint8, pixels * 4))
    # A labelled colour over a background, as the Label Studio brush stores it.
    colour = np.array(draw(st.lists(st.integers(0, 255), min_size=4, max_size=4)), np.uint8)
    on = draw(hnp.arrays(np.bool_, pixels))
    return np.where(on[:, None], colour, np.zeros(4, np.uint8)).ravel()


@st.composite
def token_streams(draw: st.DrawFn) -> list[int]:
    """Streams in the general format: any word size and rle sizes, repeat and literal tokens
    (the Label Studio frontend writes long literal chunks), then a zero bit padding."""
    word_size = draw(st.integers(1, 12))
    rle_sizes = draw(st.lists(st.integers(1, 16), min_size=4, max_size=4))
    top = min((1 << word_size) - 1, 255)
    bits = []
    num = 0
    for _ in range(draw(st.integers(1, 12))):
        repeat = draw(st.booleans())
        idx = draw(st.integers(0, 3))
        count = draw(st.integers(1, min(1 << rle_sizes[idx], 300)))
        values = draw(st.lists(st.integers(0, top), min_size=1 if repeat else count, max_size=1 if repeat else count))
        bits.append(f"{int(repeat)}{idx:02b}{count - 1:0{rle_sizes[idx]}b}")
        bits.extend(f"{v:0{word_size}b}" for v in values)
        num += count
    head = f"{num:032b}{word_size - 1:05b}" + "".join(f"{s - 1:04b}" for s in rle_sizes)
    body = head + "".join(bits)
    body += "0" * (8 - len(body) % 8)
    return [int(body[i : i + 8], 2) for i in range(0, len(body), 8)]


# --- bit-exactness with the SDK -------------------------------------------------------------


@SETTINGS
@given(masks())
def test_mask_to_rle_matches_sdk_and_round_trips(mask: np.ndarray) -> None:
    rle = mask_to_rle(mask)
    assert rle == mask2rle(mask)
    assert np.array_equal(decode(rle), decode_rle(rle))
    assert np.array_equal(rle_to_mask(rle, *mask.shape), mask > 0)


@st.composite
def sparse_rgba_streams(draw: st.DrawFn) -> tuple[list[int], int, int]:
    """(RLE, height, width) of a mostly empty RGBA image with stray values in any channel, alpha or not."""
    height, width = draw(shapes)
    flat = np.zeros(height * width * 4, np.uint8)
    spots = draw(st.lists(st.tuples(st.integers(0, flat.size - 1), st.integers(1, 40), st.integers(1, 255)),
                          max_size=6))
    for start, length, value in spots:
        flat[start : start + length] = value
    return encode_rle(flat), height, width


@SETTINGS
@given(sparse_rgba_streams(), st.sampled_from([1, 1 << 40]))
def test_sparse_and_dense_mask_writes_agree_with_the_sdk(
    stream: tuple[list[int], int, int], sparse_factor: int
) -> None:
    # Factor 1 takes the index-setting path for every mask, 2**40 the whole-mask np.repeat.
    rle, height, width = stream
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rle_module, "_SPARSE_FACTOR", sparse_factor)
        assert np.array_equal(rle_to_mask(rle, height, width), sdk_mask(rle, height, width))

@SETTINGS
@given(shapes.flatmap(lambda shape: hnp.arrays(np.bool_, shape)))
def test_bool_mask_is_written_as_255(mask: np.ndarray) -> None:
    rle = mask_to_rle(mask)
    assert rle == mask2rle(mask.astype(np.uint8) * 255)
    assert np.array_equal(rle_to_mask(rle, *mask.shape), mask)


@SETTINGS
@given(rgba_arrays())
def test_encode_matches_sdk(flat: np.ndarray) -> None:
    rle = encode(flat)
    assert rle == encode_rle(flat)
    assert encode(flat.tolist()) == rle
    assert np.array_equal(decode(rle), flat)
    height = flat.size // 4
    assert np.array_equal(rle_to_mask(rle, height, 1)[:, 0], flat[3::4] > 0)


@SETTINGS
@given(st.integers(1024, 6000), st.lists(st.integers(0, 6000), max_size=20), st.integers(0, 255))
def test_sparse_changes_in_long_arrays(size: int, cuts: list[int], seed: int) -> None:
    # Long, mostly uniform arrays take the word-at-a-time change search: changes at any offset
    # within a word, at word edges and in the last partial word must all be found.
    flat = np.zeros(size, np.uint8)
    for cut in sorted(c % size for c in cuts):
        flat[cut:] = (int(flat[cut]) + 1 + seed) % 256
    rle = encode(flat)
    assert rle == encode_rle(flat)
    assert np.array_equal(decode(rle), flat)
    mask = flat[: size // 4 * 4].reshape(-1, 4) > 0
    assert mask_to_rle(mask) == mask2rle(mask.astype(np.uint8) * 255)


@SETTINGS
@given(token_streams())
def test_decode_matches_sdk_on_general_streams(rle: list[int]) -> None:
    assert np.array_equal(decode(rle), decode_rle(rle))


@SETTINGS
@given(token_streams(), st.integers(8, 200))
def test_streams_split_across_segments_decode_the_same(rle: list[int], segment_bits: int) -> None:
    # Real streams fit one segment; tiny segments exercise the joins, and literal tokens
    # longer than a whole segment.
    expected = decode(rle)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rle_module, "_SEGMENT_BITS", segment_bits)
        assert np.array_equal(decode(rle), expected)


def test_long_literal_chunk_like_the_label_studio_frontend() -> None:
    # The frontend's rle-pack writes runs of distinct values (colour pixels) as literal chunks.
    rng = np.random.default_rng(3)
    values = rng.integers(0, 256, 3000)
    body = f"{3000 + 65536 + 200:032b}{7:05b}" + "0010001101111111"
    body += "0" + "11" + f"{2999:016b}" + "".join(f"{v:08b}" for v in values)
    body += "1" + "11" + f"{65535:016b}" + f"{255:08b}"
    body += "1" + "10" + f"{199:08b}" + f"{7:08b}"
    body += "0" * (8 - len(body) % 8)
    rle = [int(body[i : i + 8], 2) for i in range(0, len(body), 8)]
    flat = decode(rle)
    assert np.array_equal(flat, decode_rle(rle))
    assert np.array_equal(flat[:3000], values)


@pytest.mark.parametrize("value", [0, 1, 255])
@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (3, 5)])
def test_tiny_uniform_masks(shape: tuple[int, int], value: int) -> None:
    mask = np.full(shape, value, np.uint8)
    rle = mask_to_rle(mask)
    assert rle == mask2rle(mask)
    assert np.array_equal(rle_to_mask(rle, *shape), mask > 0)


@pytest.mark.parametrize("value", [0, 255])
def test_runs_longer_than_65536_are_split_like_the_sdk(value: int) -> None:
    mask = np.full((300, 300), value, np.uint8)  # one run of 360,000 values
    rle = mask_to_rle(mask)
    assert rle == mask2rle(mask)
    assert np.array_equal(decode(rle), decode_rle(rle))
    assert np.array_equal(rle_to_mask(rle, 300, 300), mask > 0)


@pytest.mark.parametrize("length", [1, 2, 8, 9, 16, 17, 256, 257, 65535, 65536, 65537, 131072, 131073, 200001])
def test_run_length_boundaries(length: int) -> None:
    flat = np.concatenate((np.full(length, 9, np.uint8), [1, 2, 2], np.full(length, 9, np.uint8)))
    rle = encode(flat)
    assert rle == encode_rle(flat)
    assert np.array_equal(decode(rle), flat)


def _disc(mask: np.ndarray, cy: float, cx: float, r: float) -> None:
    y0, y1 = max(int(cy - r), 0), min(int(cy + r) + 2, mask.shape[0])
    x0, x1 = max(int(cx - r), 0), min(int(cx + r) + 2, mask.shape[1])
    yy, xx = np.ogrid[y0:y1, x0:x1]
    mask[y0:y1, x0:x1] |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def realistic_mask(height: int = 3648, width: int = 5472, defects: int = 25) -> np.ndarray:
    """Discs (pits, blemishes) and thin lines (scratches) on a camera-sized frame."""
    rng = np.random.default_rng(7)
    mask = np.zeros((height, width), bool)
    for i in range(defects):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        if i % 2:
            _disc(mask, cy, cx, rng.uniform(3, 80))
            continue
        angle, length, r = rng.uniform(0, np.pi), rng.uniform(100, 2000), rng.uniform(0.6, 3)
        for t in np.linspace(0, length, int(length / max(r, 1)) + 1):
            _disc(mask, cy + t * np.sin(angle), cx + t * np.cos(angle), r)
    return mask


def test_realistic_camera_mask_matches_sdk() -> None:
    mask = realistic_mask()
    assert 10_000 < mask.sum() < mask.size // 100
    rle = mask_to_rle(mask)
    assert rle == mask2rle(mask.astype(np.uint8) * 255)
    assert np.array_equal(rle_to_mask(rle, *mask.shape), mask)
    assert np.array_equal(sdk_mask(rle, *mask.shape), mask)


# --- bad input ------------------------------------------------------------------------------

GOOD = mask_to_rle(np.eye(6, 10, dtype=bool))


@pytest.mark.parametrize(
    "rle",
    [None, "", "1,2,3", 3, 2.5, {"rle": GOOD}, [], [1.5] * 10, [*GOOD[:-1], "x"], [None] * 10,
     [*GOOD[:-1], 256], [-1, *GOOD[1:]], [GOOD], np.array(GOOD, float), np.array([GOOD])],
    ids=lambda r: type(r).__name__,
)
def test_wrong_types_raise(rle: object) -> None:
    with pytest.raises(RLEError):
        rle_to_mask(rle, 6, 10)
    with pytest.raises(RLEError):
        decode(rle)


def test_other_sequence_types_are_accepted() -> None:
    expected = rle_to_mask(GOOD, 6, 10)
    for rle in (tuple(GOOD), bytes(GOOD), np.array(GOOD, np.int64), np.array(GOOD, np.uint8)):
        assert np.array_equal(rle_to_mask(rle, 6, 10), expected)


@pytest.mark.parametrize("cut", [1, 6, 7, 8, 12, len(GOOD) - 2])
def test_truncated_rle_raises(cut: int) -> None:
    with pytest.raises(RLEError):
        rle_to_mask(GOOD[:cut], 6, 10)
    with pytest.raises(RLEError):
        decode(GOOD[:cut])


@pytest.mark.parametrize("num", [6 * 10 * 4 - 4, 6 * 10 * 4 + 4, 2**32 - 1])
def test_header_count_must_match_the_image(num: int) -> None:
    rle = [*num.to_bytes(4, "big"), *GOOD[4:]]
    with pytest.raises(RLEError, match="header says"):
        rle_to_mask(rle, 6, 10)


def test_header_claiming_huge_count_on_tiny_data_raises_fast() -> None:
    rle = [*(2**32 - 1).to_bytes(4, "big"), *GOOD[4:]]
    with pytest.raises(RLEError, match="truncated"):
        decode(rle)


def test_run_past_the_header_count_raises() -> None:
    rle = [*(6 * 10 * 4 - 1).to_bytes(4, "big"), *GOOD[4:]]
    with pytest.raises(RLEError, match="past"):
        decode(rle)


def test_value_wider_than_a_byte_raises() -> None:
    # One repeat token of 4 copies of 300, with a 9-bit word.
    body = f"{4:032b}{8:05b}" + "0010" * 4 + "1" + "00" + "011" + f"{300:09b}"
    body += "0" * (8 - len(body) % 8)
    with pytest.raises(RLEError, match="300"):
        decode([int(body[i : i + 8], 2) for i in range(0, len(body), 8)])


@pytest.mark.parametrize(("height", "width"), [(0, 10), (6, -1), (6.0, 10), (True, 10), (None, 10), ("6", 10)])
def test_bad_dimensions_raise(height: object, width: object) -> None:
    with pytest.raises(RLEError):
        rle_to_mask(GOOD, height, width)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "mask",
    [np.zeros(5, np.uint8), np.zeros((2, 2, 4), np.uint8), np.zeros((3, 3)), np.full((2, 2), 256), np.full((2, 2), -1),
     None, [[0, 1], [1]], [["a", "b"]]],
    ids=["1d", "3d", "float", "256", "negative", "None", "ragged", "strings"],
)
def test_bad_masks_raise(mask: np.ndarray) -> None:
    with pytest.raises(RLEError):
        mask_to_rle(mask)


@pytest.mark.parametrize(
    "flat",
    [np.zeros((2, 4), np.uint8), np.zeros(8), np.full(8, 256), [0.5] * 8, [[1, 2], [3]], np.zeros(8, bool), None, "ab"],
)
def test_bad_arrays_to_encode_raise(flat: object) -> None:
    with pytest.raises(RLEError):
        encode(flat)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=0, max_size=64), st.integers(1, 6), st.integers(1, 6))
def test_garbage_never_escapes_as_another_error(tail: bytes, height: int, width: int) -> None:
    # A valid header for the image followed by random tokens: either the SDK's answer or RLEError.
    rle = [*(height * width * 4).to_bytes(4, "big"), *GOOD[4:7], *tail]
    try:
        mask = rle_to_mask(rle, height, width)
    except RLEError:
        return
    assert np.array_equal(mask, sdk_mask(rle, height, width))


@settings(max_examples=150, deadline=None)
@given(masks(), st.lists(st.integers(0, 10**6), min_size=1, max_size=3))
def test_corrupted_streams_decode_like_the_sdk_or_raise(mask: np.ndarray, flips: list[int]) -> None:
    rle = mask_to_rle(mask)
    body_bits = len(rle) * 8 - 53  # keep the header, so the SDK's answer has the mask's shape
    for flip in flips:
        bit = 53 + flip % body_bits
        rle[bit // 8] ^= 0x80 >> (bit % 8)
    try:
        decoded = rle_to_mask(rle, *mask.shape)
    except RLEError:
        return
    assert np.array_equal(decoded, sdk_mask(rle, *mask.shape))


@pytest.fixture(scope="module")
def full_size_sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """One photo of the sample job at its real size (5472 x 3648), with gold and pre-annotation."""
    out = tmp_path_factory.mktemp("sample") / "job"
    generate_sample_job(out=out, images=1, width=5472, height=3648, seed=7)
    return out, json.loads((out / "manifest.json").read_text())["tasks"][0]


@pytest.mark.slow
def test_the_full_size_sample_jobs_masks_are_bit_exact_with_the_sdk(full_size_sample: tuple[Path, dict]) -> None:
    root, task = full_size_sample
    height, width = task["height"], task["width"]
    gold = json.loads((root / task["gold_result"]).read_text())
    prediction = json.loads((root / task["prediction"]).read_text())["result"]
    assert gold
    assert prediction
    for result in (*gold, *prediction):
        rle = result["value"]["rle"]
        sdk_rgba = decode_rle(rle)
        assert np.array_equal(decode(rle), sdk_rgba)
        mask = rle_to_mask(rle, height, width)
        assert np.array_equal(mask, sdk_rgba.reshape(height, width, 4)[:, :, 3] > 0)
        assert mask_to_rle(mask) == mask2rle(mask.astype(np.uint8) * 255)
    for key, rel in task["gold_masks"].items():  # the reviewed PNG masks, encoded as the SDK would
        with Image.open(root / rel) as png:
            painted = np.asarray(png)
        assert mask_to_rle(painted) == mask2rle(painted), key

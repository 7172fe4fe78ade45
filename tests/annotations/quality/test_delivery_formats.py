"""The delivered formats of a mask: 1-bit PNG, COCO RLE per 8-connected defect, the thumbnail; and the bootstrap."""
import io

import cv2
import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as coco_mask

from annotations.quality.confidence import bootstrap_mean
from annotations.quality.delivery_formats import coco_instances, empty_png, mask_png, thumbnail_jpeg


def _decoded(rle: dict) -> np.ndarray:
    return coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode()}).astype(bool)


def _components(mask: np.ndarray) -> tuple[int, np.ndarray]:
    return cv2.connectedComponents(mask.view(np.uint8), connectivity=8)


@pytest.mark.parametrize("seed", range(40))
def test_each_instance_decodes_to_exactly_one_8_connected_component_and_together_to_the_mask(seed: int) -> None:
    rng = np.random.default_rng(seed)
    height, width = (int(v) for v in rng.integers(1, 40, 2))
    mask = rng.random((height, width)) < rng.random()
    count, labels = _components(mask)
    instances = coco_instances(mask)
    assert len(instances) == count - 1
    union = np.zeros_like(mask)
    for instance in instances:
        decoded = _decoded(instance.rle)
        assert instance.rle["size"] == [height, width]
        assert isinstance(instance.rle["counts"], str)
        component = np.unique(labels[decoded])
        assert component.size == 1
        assert component[0] > 0
        assert np.array_equal(decoded, labels == component[0])
        assert instance.area == decoded.sum()
        x, y, w, h = instance.bbox
        assert decoded[y:y + h, x:x + w].sum() == instance.area
        assert decoded[y, x:x + w].any()
        union |= decoded
    assert np.array_equal(union, mask)


def test_a_defect_touching_the_bottom_and_top_edges_is_one_run_across_columns_as_pycocotools_encodes_it() -> None:
    mask = np.zeros((5, 6), bool)
    mask[:, 2:4] = True  # column 2's run goes on at the top of column 3
    mask[4, 5] = True
    [bar, dot] = sorted(coco_instances(mask), key=lambda i: i.area, reverse=True)
    whole = coco_mask.encode(np.asfortranarray((_components(mask)[1] == 1).astype(np.uint8)))
    assert bar.rle["counts"] == whole["counts"].decode()
    assert (bar.area, dot.area, dot.bbox) == (10, 1, (5, 4, 1, 1))


def test_an_empty_mask_has_no_instance_and_the_same_small_png_as_any_empty_class() -> None:
    empty = np.zeros((37, 23), bool)
    assert coco_instances(empty) == []
    assert mask_png(empty) == empty_png(23, 37)


@pytest.mark.parametrize(("height", "width", "share"), [(23, 37, 0.2), (8, 16, 0.5), (1, 1, 1.0), (40, 9, 1.0)])
def test_the_png_is_1_bit_at_full_size_and_reads_back_bit_for_bit(height: int, width: int, share: float) -> None:
    mask = np.random.default_rng(3).random((height, width)) < share  # odd widths: 1-bit rows are padded
    with Image.open(io.BytesIO(mask_png(mask))) as image:
        assert (image.mode, image.size) == ("1", (width, height))
        image.verify()
    with Image.open(io.BytesIO(mask_png(mask))) as image:
        assert np.array_equal(np.asarray(image), mask)
    decoded = cv2.imdecode(np.frombuffer(mask_png(mask), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(decoded > 0, mask)  # a second reader agrees


def test_the_thumbnail_keeps_a_one_pixel_scratch_visible_in_its_class_colour() -> None:
    photo = Image.new("RGB", (2000, 1000), (40, 40, 40))
    scratch = np.zeros((1000, 2000), bool)
    scratch[500, 100:1900] = True
    jpeg = thumbnail_jpeg(photo=photo, masks={"Scratch": scratch}, colours={"Scratch": "#ff0000"}, max_side=200)
    with Image.open(io.BytesIO(jpeg)) as thumbnail:
        assert thumbnail.size == (200, 100)
        pixels = np.asarray(thumbnail.convert("RGB")).astype(int)
    assert pixels[50, 100, 0] > pixels[50, 100, 1] + 60  # tinted red on the scratch's row
    assert abs(pixels[10, 100, 0] - pixels[10, 100, 1]) < 10  # untouched grey elsewhere


def test_the_bootstrap_resamples_photos_and_spans_the_values_of_a_few_photos() -> None:
    interval = bootstrap_mean([[0.6], [0.8]])
    assert (interval.mean, interval.low, interval.high, interval.n, interval.clusters) == (0.7, 0.6, 0.8, 2, 2)
    assert bootstrap_mean([[0.5, 0.7]]).low == bootstrap_mean([[0.5, 0.7]]).high == pytest.approx(0.6)
    assert bootstrap_mean([]) is None
    assert bootstrap_mean([[]]) is None
    many = bootstrap_mean([[v] for v in np.linspace(0, 1, 101)])
    assert many.low < 0.5 < many.high
    assert many.high - many.low < 0.15
    assert bootstrap_mean([[v] for v in np.linspace(0, 1, 101)]) == many  # seeded: the same every time

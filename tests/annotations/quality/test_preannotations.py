"""A client's pre-annotations in three formats become the same per-class masks, pixel for pixel, or are refused
naming the file, the photo and the problem."""
import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as coco_mask

from annotations.quality.classes import DEFECT_CLASSES
from annotations.quality.labelstudio_json import brush_result, masks_from_results
from annotations.quality.preannotations import (
    IGNORE,
    Photo,
    PreannotationError,
    brush_results,
    coco_categories,
    masks_from_coco,
    masks_from_labelstudio,
    masks_from_png_zip,
    results_digest,
)

CLASSES = [c for c in DEFECT_CLASSES if c.key in ("scratch", "pit", "crack")]
PHOTOS = {"a": Photo("a", 37, 23), "b": Photo("b", 20, 11)}  # odd sizes: rows do not line up with bytes
LIMITS = {"max_files": 100, "max_bytes": 10_000_000}


def locate(data: dict, where: str) -> Photo:
    """Photos by file name, as TaskFinder finds them: "a.jpg" is photo a."""
    name = data["image"].rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if name not in PHOTOS:
        raise PreannotationError(f"{where}: no photo of the job is named {data['image']!r}.")
    return PHOTOS[name]


def source_masks() -> dict[str, dict[str, np.ndarray]]:
    """Per photo, per class: random blobs; photo b has no crack."""
    rng = np.random.default_rng(3)
    masks = {}
    for key, photo in PHOTOS.items():
        masks[key] = {c.key: rng.random((photo.height, photo.width)) < 0.2 for c in CLASSES}
        masks[key]["scratch"][0, 0] = True
    masks["b"].pop("crack")
    return masks


def collected(items: object) -> dict[str, dict[str, np.ndarray]]:
    return {photo.key: masks for photo, masks, _ in items}


def assert_same(got: dict, expected: dict) -> None:
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key].keys() == expected[key].keys(), key
        for cls in expected[key]:
            assert got[key][cls].dtype == bool
            assert np.array_equal(got[key][cls], expected[key][cls]), (key, cls)


def labelstudio_export(masks: dict) -> list[dict]:
    label = {c.key: c.label for c in CLASSES}
    return [{"id": i, "data": {"image": f"/data/local-files/?d=client/{key}.jpg"},
             "predictions": [{"model_version": "m1", "result": [
                 brush_result(m, label=label[cls], rid=f"{key}{cls}") for cls, m in of_photo.items()]}]}
            for i, (key, of_photo) in enumerate(masks.items())]


# --- Label Studio JSON -------------------------------------------------------------------------------------

def test_a_labelstudio_export_gives_the_masks_of_its_predictions_pixel_for_pixel() -> None:
    masks = source_masks()
    document = json.dumps(labelstudio_export(masks))
    assert_same(collected(masks_from_labelstudio(document, file="p.json", locate=locate, classes=CLASSES)), masks)


def test_a_labelstudio_task_with_an_annotation_and_no_prediction_gives_the_annotation() -> None:
    masks = source_masks()
    export = labelstudio_export(masks)
    export[0]["annotations"] = export[0].pop("predictions")
    assert_same(collected(masks_from_labelstudio(export, file="p.json", locate=locate, classes=CLASSES)), masks)


@pytest.mark.parametrize(("spoil", "expected"), [
    (lambda e: e[0]["data"].update(image="nope.jpg"), "p.json: task #0 (id 0): no photo of the job is named"),
    (lambda e: e[1]["predictions"][0]["result"][0]["value"].update(rle=[1, 2, 3]),
     "p.json: task #1 (id 1), photo b: result #0 (id bscratch) (Scratch): bad RLE"),
    (lambda e: e[0]["predictions"][0].update(result=[brush_result(np.ones((23, 38), bool), label="Pit", rid="x")]),
     "photo a: the masks are 38x23 but the photo is 37x23"),
    (lambda e: e[0]["predictions"][0]["result"][0]["value"].update(brushlabels=["Dent"]),
     "photo a: labels Dent are no class of the job"),
    (lambda e: e.append(e[0]), "task #2 (id 0), photo a: the photo is given twice"),
])
def test_a_bad_labelstudio_export_is_refused_naming_file_photo_and_problem(spoil: object, expected: str) -> None:
    export = json.loads(json.dumps(labelstudio_export(source_masks())))
    spoil(export)
    with pytest.raises(PreannotationError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        list(masks_from_labelstudio(export, file="p.json", locate=locate, classes=CLASSES))


# --- COCO --------------------------------------------------------------------------------------------------

def _polygon_square(x0: int, y0: int, x1: int, y1: int) -> list[float]:
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def coco_document(masks: dict) -> tuple[dict, dict[str, dict[str, np.ndarray]]]:
    """A COCO file holding the masks as compressed RLE (scratch), uncompressed RLE (pit) and, for crack, a polygon
    plus a crowd RLE; category 9 ("dust") is also there, to be ignored. Returns it and the masks it paints."""
    categories = [{"id": 1, "name": "scratch"}, {"id": 2, "name": "pit"}, {"id": 3, "name": "crack"},
                  {"id": 9, "name": "dust"}]
    images, annotations, expected = [], [], {}
    for image_id, (key, of_photo) in enumerate(masks.items(), start=1):
        photo = PHOTOS[key]
        images.append({"id": image_id, "file_name": f"{key}.jpg", "width": photo.width, "height": photo.height})
        expected[key] = {}
        compressed = coco_mask.encode(np.asfortranarray(of_photo["scratch"].astype(np.uint8)))
        annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                            "segmentation": {"size": compressed["size"], "counts": compressed["counts"].decode()}})
        expected[key]["scratch"] = of_photo["scratch"]
        flat = of_photo["pit"].flatten(order="F").astype(np.int8)
        changes = np.flatnonzero(np.diff(np.concatenate(([0], flat, [1 - flat[-1]]))))
        counts = np.diff(np.concatenate(([0], changes))).tolist()
        annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 2, "iscrowd": 1,
                            "segmentation": {"size": [photo.height, photo.width], "counts": counts}})
        expected[key]["pit"] = of_photo["pit"]
        if "crack" in of_photo:
            polygon = [_polygon_square(2, 3, 12, 9), _polygon_square(20, 10, 30, 20)]
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 3,
                                "segmentation": polygon})
            rles = coco_mask.frPyObjects(polygon, photo.height, photo.width)
            expected[key]["crack"] = coco_mask.decode(coco_mask.merge(rles)).astype(bool)
        dust = coco_mask.encode(np.asfortranarray(np.ones((photo.height, photo.width), np.uint8)))
        annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 9,
                            "segmentation": {"size": dust["size"], "counts": dust["counts"].decode()}})
    return {"images": images, "annotations": annotations, "categories": categories}, expected


MAPPING = {1: "scratch", 2: "pit", 3: "crack", 9: IGNORE}


def test_coco_rle_and_polygons_give_the_same_masks_pixel_for_pixel_and_ignored_categories_paint_nothing() -> None:
    document, expected = coco_document(source_masks())
    assert coco_categories(json.dumps(document), file="c.json") == {1: "scratch", 2: "pit", 3: "crack", 9: "dust"}
    told = []
    got = collected(masks_from_coco(json.dumps(document), file="c.json", locate=locate, category_map=MAPPING,
                                    classes=CLASSES, totals=lambda p, m: told.append((p, m))))
    assert_same(got, expected)
    assert told == [(2, len(document["annotations"]))]


def test_a_trailing_pit_run_and_overlapping_annotations_of_one_class_are_unioned() -> None:
    photo = PHOTOS["b"]
    a = np.zeros((photo.height, photo.width), bool)
    b = a.copy()
    a[:5, :5], b[3:, 3:] = True, True
    document = {"images": [{"id": 7, "file_name": "b.png", "width": 20, "height": 11}], "categories": [
        {"id": 1, "name": "scratch"}], "annotations": [
        {"id": i, "image_id": 7, "category_id": 1,
         "segmentation": {k: (v.decode() if isinstance(v, bytes) else v)
                          for k, v in coco_mask.encode(np.asfortranarray(m.astype(np.uint8))).items()}}
        for i, m in enumerate((a, b))]}
    got = collected(masks_from_coco(document, file="c.json", locate=locate, category_map={1: "scratch"},
                                    classes=CLASSES))
    assert np.array_equal(got["b"]["scratch"], a | b)


def _spoiled(spoil: object) -> dict:
    document, _ = coco_document(source_masks())
    spoil(document)
    return document


@pytest.mark.parametrize(("spoil", "mapping", "expected"), [
    (lambda d: None, {1: "scratch", 2: "pit", 3: "crack"}, "c.json: categories dust are mapped to no defect class"),
    (lambda d: None, {**MAPPING, 3: "dent"}, "c.json: categories crack are mapped to no defect class"),
    (lambda d: d["images"][0].update(file_name="zz.jpg"), MAPPING, "c.json: image 'zz.jpg': no photo of the job"),
    (lambda d: d["images"][1].update(width=21), MAPPING,
     "c.json: image 'b.jpg', photo b: the file says 21x11 but the photo is 20x11"),
    (lambda d: d["annotations"][0]["segmentation"].update(counts="0"), MAPPING,
     "c.json: image 'a.jpg', photo a, annotation #0 \\(id 1\\): bad RLE"),
    (lambda d: d["annotations"][0]["segmentation"].update(counts="~~~"), MAPPING,
     "photo a, annotation #0 \\(id 1\\): the compressed RLE 'counts' is not a COCO RLE string"),
    (lambda d: d["annotations"][1]["segmentation"]["counts"].append(5), MAPPING,
     "photo a, annotation #1 \\(id 2\\): bad RLE: its runs cover 856 pixels, not 851"),
    (lambda d: d["annotations"][0]["segmentation"].update(size=[5, 5]), MAPPING,
     "photo a, annotation #0 \\(id 1\\): the RLE is \\[5, 5\\]"),
    (lambda d: d["annotations"][2].update(segmentation=[[1, 2, 3, 4]]), MAPPING,
     "photo a, annotation #2 \\(id 3\\): 'segmentation' must be an RLE object or a list of polygons"),
    (lambda d: d["annotations"][0].update(image_id=99), MAPPING, "c.json: annotations point at images 99"),
])
def test_a_bad_coco_file_is_refused_naming_file_photo_and_problem(spoil: object, mapping: dict,
                                                                  expected: str) -> None:
    with pytest.raises(PreannotationError, match=expected):
        list(masks_from_coco(_spoiled(spoil), file="c.json", locate=locate, category_map=mapping,
                             classes=CLASSES))


# --- ZIP of PNG masks --------------------------------------------------------------------------------------

def png(mask: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255).save(buf, format="PNG")
    return buf.getvalue()


def zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buf.getvalue()


def test_a_zip_of_png_masks_gives_the_same_masks_pixel_for_pixel() -> None:
    masks = source_masks()
    archive = zip_of({f"masks/{key}_{cls}.png" if key == "a" else f"masks/{key}/{cls}.png": png(m)
                      for key, of_photo in masks.items() for cls, m in of_photo.items()})
    assert_same(collected(masks_from_png_zip(archive, file="m.zip", photos=PHOTOS, classes=CLASSES, **LIMITS)),
                masks)


@pytest.mark.parametrize(("files", "expected"), [
    ({"a_scratch.png": b"\x89PNG\r\n\x1a\n broken"},
     "m.zip: a_scratch.png, photo a: is a PNG cut short before its header ends"),
    ({"a_scratch.png": png(np.ones((3, 3), bool))}, "m.zip: a_scratch.png, photo a: is 3x3 but the photo is 37x23"),
    ({"../a_scratch.png": png(np.ones((23, 37), bool))}, "m.zip: unsafe file names"),
    ({"zz_scratch.png": png(np.ones((23, 37), bool))}, "m.zip: 1 file\\(s\\) name no task and class"),
])
def test_a_bad_zip_of_png_masks_is_refused_naming_file_photo_and_problem(files: dict, expected: str) -> None:
    with pytest.raises(PreannotationError, match=expected):
        list(masks_from_png_zip(zip_of(files), file="m.zip", photos=PHOTOS, classes=CLASSES, **LIMITS))


# --- back to brush results ---------------------------------------------------------------------------------

def test_brush_results_decode_to_the_masks_and_the_same_masks_give_the_same_digest() -> None:
    masks = source_masks()["a"]
    results = brush_results(PHOTOS["a"], masks, classes=CLASSES, source="prediction")
    decoded, height, width = masks_from_results(results)
    assert (width, height) == (37, 23)
    assert [r["value"]["brushlabels"] for r in results] == [["Scratch"], ["Pit"], ["Crack"]]
    assert all(np.array_equal(decoded[c.label], masks[c.key]) for c in CLASSES)
    again = brush_results(PHOTOS["a"], {k: m.copy() for k, m in reversed(masks.items())}, classes=CLASSES,
                          source="prediction")
    assert results_digest(again) == results_digest(results)

"""Tests of the synthetic sample job generator and its make_sample_job command."""
import hashlib
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given, settings
from hypothesis import strategies as st
from label_studio_sdk.converter.brush import decode_rle
from PIL import Image

from annotations.defects import BRUSH_FROM_NAME, DEFECT_BY_LABEL, DEFECT_CLASSES, IMAGE_TO_NAME, labeling_config
from demo import sample_job
from demo.sample_job import FORMAT, MODEL_VERSION, generate_sample_job

WIDTH, HEIGHT, IMAGES = 640, 427, 3
CLASS_KEYS = [c.key for c in DEFECT_CLASSES]


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def _mask(rle: list[int], width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """The SDK's own decoding, as the reference: alpha channel of the RGBA image."""
    return decode_rle(rle).reshape(height, width, 4)[:, :, 3] > 0


def _png(root: Path, rel: str, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    with Image.open(root / rel) as img:
        assert img.mode == "L"
        assert img.size == (width, height)
        return np.asarray(img)


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("job") / "sample"
    generate_sample_job(out=out, images=IMAGES, width=WIDTH, height=HEIGHT, seed=7, workers=2)
    return out


@pytest.fixture(scope="module")
def manifest(job: Path) -> dict:
    return json.loads((job / "manifest.json").read_text())


def test_same_seed_gives_identical_bytes_whatever_the_worker_count(job: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_sample_job(out=again, images=IMAGES, width=WIDTH, height=HEIGHT, seed=7, workers=1)
    assert _digests(again) == _digests(job)


def test_different_seed_gives_different_images(job: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate_sample_job(out=other, images=1, width=WIDTH, height=HEIGHT, seed=8, workers=1)
    image = "images/screen_0001.jpg"
    assert (other / image).read_bytes() != (job / image).read_bytes()


def test_manifest_lists_every_file_with_its_digest(job: Path, manifest: dict) -> None:
    on_disk = _digests(job)
    del on_disk["manifest.json"]
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == set(on_disk)
    assert len(listed) == IMAGES * (1 + len(CLASS_KEYS) + 2)
    for path, digest in on_disk.items():
        assert listed[path]["sha256"] == digest
        assert listed[path]["bytes"] == (job / path).stat().st_size
    assert manifest["format"] == FORMAT
    assert (manifest["seed"], manifest["width"], manifest["height"]) == (7, WIDTH, HEIGHT)
    assert manifest["label_config"] == labeling_config()
    assert [c["key"] for c in manifest["classes"]] == CLASS_KEYS
    for task in manifest["tasks"]:
        assert task["image_sha256"] == on_disk[task["image"]]
        assert set(task["gold_masks"]) == set(CLASS_KEYS)


def test_photos_are_jpegs_of_the_requested_size(job: Path, manifest: dict) -> None:
    for task in manifest["tasks"]:
        with Image.open(job / task["image"]) as img:
            assert (img.format, img.mode, img.size) == ("JPEG", "RGB", (WIDTH, HEIGHT))
            assert np.asarray(img).std() > 10  # a scene, not a flat fill


def test_every_class_occurs_and_each_image_has_several(manifest: dict) -> None:
    seen = set()
    for task in manifest["tasks"]:
        classes = {d["class"] for d in task["defects"]}
        assert len(classes) >= 3
        assert 10 <= len(task["defects"]) <= 40
        seen |= classes
    assert seen == set(CLASS_KEYS)


def test_defect_boxes_and_areas_match_the_gold_masks(job: Path, manifest: dict) -> None:
    for task in manifest["tasks"]:
        for key, rel in task["gold_masks"].items():
            gold = _png(job, rel) > 0
            instances = [d for d in task["defects"] if d["class"] == key]
            assert gold.any() == bool(instances)
            covered = np.zeros_like(gold)
            for d in instances:
                x, y, w, h = d["bbox"]
                assert 0 < d["area"] <= w * h
                assert gold[y : y + h, x : x + w].sum() >= d["area"]
                covered[y : y + h, x : x + w] = True
            assert not (gold & ~covered).any()


def test_gold_rle_decodes_to_the_gold_png(job: Path, manifest: dict) -> None:
    for task in manifest["tasks"]:
        results = json.loads((job / task["gold_result"]).read_text())
        by_class = {}
        for r in results:
            assert (r["type"], r["from_name"], r["to_name"]) == ("brushlabels", BRUSH_FROM_NAME, IMAGE_TO_NAME)
            assert (r["original_width"], r["original_height"], r["image_rotation"]) == (WIDTH, HEIGHT, 0)
            assert r["value"]["format"] == "rle"
            [label] = r["value"]["brushlabels"]
            by_class[DEFECT_BY_LABEL[label].key] = r["value"]["rle"]
        assert len({r["id"] for r in results}) == len(results)
        for key, rel in task["gold_masks"].items():
            png = _png(job, rel)
            assert set(np.unique(png)) <= {0, 255}
            if key in by_class:
                assert np.array_equal(_mask(by_class[key]), png > 0)
            else:
                assert not png.any()


def test_pre_annotations_differ_measurably_from_gold(job: Path, manifest: dict) -> None:
    inter = union = 0
    errors = 0  # missed gold instances plus classes predicted where gold has none
    for task in manifest["tasks"]:
        prediction = json.loads((job / task["prediction"]).read_text())
        assert prediction["model_version"] == MODEL_VERSION
        assert 0 < prediction["score"] < 1
        predicted = {DEFECT_BY_LABEL[r["value"]["brushlabels"][0]].key: r for r in prediction["result"]}
        assert len(predicted) == len(prediction["result"])
        for key, rel in task["gold_masks"].items():
            gold = _png(job, rel) > 0
            pred = _mask(predicted[key]["value"]["rle"]) if key in predicted else np.zeros_like(gold)
            inter += int((gold & pred).sum())
            union += int((gold | pred).sum())
            errors += pred.any() and not gold.any()
            for d in task["defects"]:
                x, y, w, h = d["bbox"]
                errors += d["class"] == key and not pred[y : y + h, x : x + w].any()
    assert 0.3 < inter / union < 0.95
    assert errors > 0


@settings(max_examples=10, deadline=None, database=None)
@given(width=st.integers(64, 400), height=st.integers(64, 400), seed=st.integers(0, 2**32))
def test_any_size_and_orientation_gives_a_consistent_job(width: int, height: int, seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sample"
        generate_sample_job(out=out, images=2, width=width, height=height, seed=seed, workers=1)
        manifest = json.loads((out / "manifest.json").read_text())
        for task in manifest["tasks"]:
            assert 10 <= len(task["defects"]) <= 40
            assert len({d["class"] for d in task["defects"]}) >= 3
            for d in task["defects"]:
                x, y, w, h = d["bbox"]
                assert d["area"] > 0
                assert 0 <= x < x + w <= width
                assert 0 <= y < y + h <= height
            gold = {
                DEFECT_BY_LABEL[r["value"]["brushlabels"][0]].key: r["value"]["rle"]
                for r in json.loads((out / task["gold_result"]).read_text())
            }
            for key, rel in task["gold_masks"].items():
                png = _png(out, rel, width, height) > 0
                assert png.any() == (key in gold)
                if key in gold:
                    assert np.array_equal(_mask(gold[key], width, height), png)


def test_command_writes_a_job_and_regenerates_over_it(tmp_path: Path) -> None:
    out = tmp_path / "sample"
    args = {"images": 1, "width": 96, "height": 64, "seed": 3, "out": out, "workers": 1}
    stdout = io.StringIO()
    call_command("make_sample_job", stdout=stdout, **args)
    assert "1 images" in stdout.getvalue()
    assert str(out) in stdout.getvalue()
    first = _digests(out)
    (out / "images" / "stale.txt").write_text("left over from an earlier run")
    call_command("make_sample_job", stdout=io.StringIO(), **args)
    assert _digests(out) == first
    assert [p.name for p in tmp_path.iterdir()] == ["sample"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("images", 0, "images must be at least 1"),
        ("width", 63, "width must be between 64 and 20000"),
        ("height", 20001, "height must be between 64 and 20000"),
        ("workers", 0, "workers must be at least 1"),
        ("seed", -1, "seed must be zero or positive"),
    ],
)
def test_command_rejects_bad_arguments(tmp_path: Path, option: str, value: int, message: str) -> None:
    args = {"images": 1, "width": 96, "height": 64, "seed": 3, "out": tmp_path / "sample", "workers": 1}
    with pytest.raises(CommandError, match=message) as raised:
        call_command("make_sample_job", **{**args, option: value})
    assert "\n" not in str(raised.value)
    assert not (tmp_path / "sample").exists()


def test_command_refuses_a_non_empty_directory_without_manifest(tmp_path: Path) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("not a sample job")
    with pytest.raises(CommandError, match="not empty and holds no sample job manifest"):
        call_command("make_sample_job", images=1, width=96, height=64, out=out, workers=1)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["precious"]


def test_interrupted_run_leaves_nothing_at_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = sample_job._make_task

    def fail_on_second(index: int, **kwargs: object) -> tuple[dict, list[dict]]:
        if index == 2:
            raise KeyboardInterrupt
        return real(index, **kwargs)

    monkeypatch.setattr(sample_job, "_make_task", fail_on_second)
    with pytest.raises(KeyboardInterrupt):
        generate_sample_job(out=tmp_path / "sample", images=3, width=96, height=64, seed=1, workers=1)
    assert list(tmp_path.iterdir()) == []

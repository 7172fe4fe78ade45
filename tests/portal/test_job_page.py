"""The public job page: pay, cap and classes, and a close-up of each class cut from a job's gold or the sample job."""
import io
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client, override_settings
from PIL import Image, ImageOps

from annotations.defects import DEFECT_CLASSES
from annotations.models import GoldSource, Job
from annotations.quality.labelstudio_json import brush_result
from annotations.services import jobs
from annotations.services.gold import gold_set
from demo.sample_job import example_crop, generate_sample_job

# The gold painted in the tests below: a 60 x 30 px scratch, (top, left, bottom, right).
SCRATCH_BOX = (100, 200, 130, 260)


@pytest.fixture(scope="module")
def sample_dir() -> Iterator[Path]:
    """A small sample job under var/, where a job's photos must be."""
    out = settings.VAR_DIR / "test-jobs" / uuid.uuid4().hex / "job"
    generate_sample_job(out=out, images=3, width=640, height=427, seed=3)
    yield out
    shutil.rmtree(out.parent)


@pytest.fixture(autouse=True)
def _no_cached_close_ups() -> None:
    cache.clear()  # the close-ups are cached for an hour


def _job_with_scratch_gold(sample_dir: Path, *, also: tuple[int, int, int, int] | None = None) -> Job:
    """A job of the sample's photos (without their gold) whose first photo has one gold scratch at SCRATCH_BOX
    (and a second, smaller one at `also`)."""
    job, _ = jobs.job_create(name="Screens", client="Refurb Co", instructions="",
                             specs=jobs.specs_from_folder(sample_dir / "images"), image_source=str(sample_dir),
                             actor=None)
    task = job.tasks.order_by("key").first()
    mask = np.zeros((task.height, task.width), bool)
    top, left, bottom, right = SCRATCH_BOX
    mask[top:bottom, left:right] = True
    if also is not None:
        mask[also[0]:also[2], also[1]:also[3]] = True
    gold_set(task=task, result=[brush_result(mask, label="Scratch", rid="scratch")], source=GoldSource.IMPORT)
    return job


def _close_up_around(photo: Path, box: tuple[int, int, int, int]) -> np.ndarray:
    """The pixels a close-up of `box` on `photo` shows: a square 1.6 times the box's longer side, 320 px wide."""
    top, left, bottom, right = box
    side = max(right - left, bottom - top, 64) * 1.6
    cx, cy = (left + right) / 2, (top + bottom) / 2
    with Image.open(photo) as image:
        crop = image.crop((round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2)))
        return np.asarray(ImageOps.contain(crop.convert("RGB"), (320, 320)), dtype=int)


@pytest.mark.django_db
def test_job_page_is_public_and_states_pay_cap_and_classes(client: Client) -> None:
    page = client.get("/").content.decode()
    for text in ("USD 2.00 per hour", "up to 20 hours", "Scratch", "Pit", "Blemish", "Missing surface", "Crack",
                 "Discoloration", "Apply now"):
        assert text in page


@pytest.mark.django_db
def test_job_page_shows_a_close_up_of_every_defect_class(client: Client, sample_dir: Path) -> None:
    with override_settings(SAMPLE_JOB_DIR=sample_dir):
        page = client.get("/").content.decode()
        for defect in DEFECT_CLASSES:
            assert f'src="/job/examples/{defect.key}.jpg"' in page
            response = client.get(f"/job/examples/{defect.key}.jpg")
            assert response.status_code == 200
            assert response["Content-Type"] == "image/jpeg"
            image = Image.open(io.BytesIO(response.content))
            assert image.format == "JPEG"
            assert max(image.size) == 320
        assert client.get("/job/examples/not-a-class.jpg").status_code == 404


@pytest.mark.django_db
def test_job_page_without_a_sample_job_lists_the_classes_without_pictures(client: Client, tmp_path: Path) -> None:
    with override_settings(SAMPLE_JOB_DIR=tmp_path / "none"):
        page = client.get("/").content.decode()
    assert "/job/examples/" not in page
    assert all(d.label in page for d in DEFECT_CLASSES)


@pytest.mark.django_db
def test_a_class_with_gold_is_shown_cut_around_its_gold_mask_even_without_a_sample_job(
    client: Client, sample_dir: Path, tmp_path: Path,
) -> None:
    job = _job_with_scratch_gold(sample_dir)
    photo = settings.VAR_DIR / job.tasks.order_by("key").first().image_path
    with override_settings(SAMPLE_JOB_DIR=tmp_path / "none"):
        assert 'src="/job/examples/scratch.jpg"' in client.get("/").content.decode()
        response = client.get("/job/examples/scratch.jpg")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert "public" in response["Cache-Control"]
        assert "max-age=3600" in response["Cache-Control"]
        shown = np.asarray(Image.open(io.BytesIO(response.content)), dtype=int)
        expected = _close_up_around(photo, SCRATCH_BOX)
        assert shown.shape == expected.shape == (320, 320, 3)
        assert np.abs(shown - expected).mean() < 4  # JPEG noise only
        elsewhere = _close_up_around(photo, (250, 400, 280, 460))
        assert np.abs(shown - elsewhere).mean() > np.abs(shown - expected).mean() * 2
        # No job's gold paints a pit and there is no sample job to fall back on.
        assert client.get("/job/examples/pit.jpg").status_code == 404


@pytest.mark.django_db
def test_a_gold_mask_with_several_defects_is_shown_by_its_largest_one_not_the_box_around_all(
    client: Client, sample_dir: Path, tmp_path: Path,
) -> None:
    small = (330, 500, 340, 510)  # a 10 x 10 px scratch far from the 60 x 30 px one
    job = _job_with_scratch_gold(sample_dir, also=small)
    photo = settings.VAR_DIR / job.tasks.order_by("key").first().image_path
    with override_settings(SAMPLE_JOB_DIR=tmp_path / "none"):
        shown = np.asarray(Image.open(io.BytesIO(client.get("/job/examples/scratch.jpg").content)), dtype=int)
    expected = _close_up_around(photo, SCRATCH_BOX)
    assert shown.shape == expected.shape
    assert np.abs(shown - expected).mean() < 4  # JPEG noise only
    around_both = _close_up_around(photo, (SCRATCH_BOX[0], SCRATCH_BOX[1], small[2], small[3]))
    assert shown.shape != around_both.shape or np.abs(shown - around_both).mean() > 8


@pytest.mark.django_db
def test_a_job_made_from_the_sample_shows_every_class_from_its_gold(
    client: Client, sample_dir: Path, tmp_path: Path,
) -> None:
    jobs.job_create(name="Screens", client="Refurb Co", instructions="",
                    specs=jobs.specs_from_manifest(sample_dir / "manifest.json"), image_source=str(sample_dir),
                    actor=None)
    with override_settings(SAMPLE_JOB_DIR=tmp_path / "none"):
        for defect in DEFECT_CLASSES:
            response = client.get(f"/job/examples/{defect.key}.jpg")
            assert response.status_code == 200
            assert max(Image.open(io.BytesIO(response.content)).size) == 320


@pytest.mark.django_db
def test_a_class_without_gold_falls_back_to_the_sample_jobs_close_up(client: Client, sample_dir: Path) -> None:
    _job_with_scratch_gold(sample_dir)
    with override_settings(SAMPLE_JOB_DIR=sample_dir):
        pit = client.get("/job/examples/pit.jpg")
        assert pit.status_code == 200
        assert pit.content == example_crop(sample_dir=sample_dir, class_key="pit")
        scratch = client.get("/job/examples/scratch.jpg")
        assert scratch.status_code == 200
        assert scratch.content != example_crop(sample_dir=sample_dir, class_key="scratch")

"""The public job listings: every open job with its own pay terms, classes and guideline languages, and close-ups
cut only from gold photos staff made public, never from hidden gold."""
import io
import json
import re
import shutil
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone
from PIL import Image, ImageOps

from annotations.defects import format_classes, parse_classes
from annotations.models import BatchTask, GoldSource, Job
from annotations.quality.labelstudio_json import brush_result
from annotations.services import jobs
from annotations.services.gold import gold_set
from annotations.services.listings import job_examples_publish
from common.errors import DomainError
from demo.sample_job import generate_sample_job
from tests.factories import job_plain, staff_user

# The gold painted in the tests below: a 60 x 30 px scratch, (top, left, bottom, right).
SCRATCH_BOX = (100, 200, 130, 260)
SCREENS = "Smartphone screen defect annotation"


@pytest.fixture(scope="module")
def sample_dir() -> Iterator[Path]:
    """A small sample job under var/, where a job's photos must be."""
    out = settings.VAR_DIR / "test-jobs" / uuid.uuid4().hex / "job"
    generate_sample_job(out=out, images=3, width=640, height=427, seed=3)
    yield out
    shutil.rmtree(out.parent)


@pytest.fixture(autouse=True)
def _close_ups_kept_apart(tmp_path: Path) -> Iterator[None]:
    with override_settings(MEDIA_ROOT=tmp_path / "media"):
        yield


@pytest.fixture
def staff_client() -> Client:
    client = Client()
    client.force_login(staff_user(role="admin", mfa=True))
    return client


def _job_with_scratch_gold(sample_dir: Path, *, also: tuple[int, int, int, int] | None = None, listed: bool = True,
                           name: str = "Screens") -> Job:
    """A listed job of the sample's photos (without their gold) whose first photo has one gold scratch at
    SCRATCH_BOX (and a second, smaller one at `also`)."""
    job, _ = jobs.job_create(name=name, client="Refurb Co", instructions="",
                             specs=jobs.specs_from_folder(sample_dir / "images"), image_source=str(sample_dir),
                             actor=None, listed=listed)
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


def _page(client: Client, url: str, **headers: str) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


@pytest.mark.django_db
def test_the_list_shows_only_open_jobs_each_with_its_own_rate_cap_and_classes(client: Client) -> None:
    job_plain(name=SCREENS, listed=True)
    job_plain(name="Dents on laptop lids", listed=True, hourly_rate=Decimal("3.50"), weekly_cap_hours=Decimal(12),
              guideline_languages=["en", "es"],
              classes=(*parse_classes("dent | Dent | #00aa00\nscratch | Scratch | #e6194b"),))
    job_plain(name="Confidential pilot", listed=False, hourly_rate=Decimal("9.00"))
    page = _page(client, "/jobs/")
    cards = re.split(r'<section class="card listing"', page)[1:]
    assert len(cards) == 2
    newest, older = cards  # newest first
    assert "Dents on laptop lids" in newest
    assert "USD 3.50 per hour" in newest
    assert "Up to 12 hours a week" in newest
    assert "Defect classes: Dent, Scratch" in newest
    assert "Guidelines in: English, español · Spanish" in newest or "Guidelines in: English, Spanish" in newest
    assert SCREENS in older
    assert "USD 2.00 per hour" in older
    assert "Up to 20 hours a week" in older
    assert "Defect classes: Scratch, Pit, Blemish, Missing surface, Crack, Discoloration" in older
    assert "Confidential pilot" not in page
    assert "9.00" not in page
    assert "Apply now" in page


@pytest.mark.django_db
def test_the_job_page_is_public_and_states_its_own_pay_cap_classes_and_languages(client: Client) -> None:
    job = job_plain(name=SCREENS, listed=True, hourly_rate=Decimal("2.25"), weekly_cap_hours=Decimal("17.5"),
                    guideline_languages=["en", "fil"])
    page = _page(client, f"/jobs/{job.pk}/")
    for text in (f"<h1>{SCREENS}</h1>", "USD 2.25 per hour", "up to 17.50 hours a week", "Scratch", "Pit",
                 "Blemish", "Missing surface", "Crack", "Discoloration", "Filipino", "Apply now"):
        assert text in page, text
    assert 'href="/accounts/signup/"' in page


@pytest.mark.django_db
def test_the_job_page_carries_a_schema_org_job_posting_for_job_boards(client: Client) -> None:
    job = job_plain(name=SCREENS, listed=True, hourly_rate=Decimal("2.00"))
    page = _page(client, f"/jobs/{job.pk}/")
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    posting = json.loads(found.group(1))
    assert posting["@type"] == "JobPosting"
    assert posting["title"] == SCREENS
    assert posting["baseSalary"]["currency"] == "USD"
    assert posting["baseSalary"]["value"] == {"@type": "QuantitativeValue", "value": "2.00", "unitText": "HOUR"}
    assert posting["jobLocationType"] == "TELECOMMUTE"
    assert posting["url"] == f"http://testserver/jobs/{job.pk}/"
    assert "Label Studio" in posting["description"]
    assert "<" not in posting["description"]
    assert posting["hiringOrganization"]["name"] == "LabelCrew"  # not the client


@pytest.mark.django_db
def test_a_closed_job_is_not_listed_and_its_page_says_closed_without_naming_it(client: Client) -> None:
    job = job_plain(name="Secret client pilot", listed=False)
    assert "Secret client pilot" not in _page(client, "/jobs/")
    response = client.get(f"/jobs/{job.pk}/")
    assert response.status_code == 404
    assert "This job is closed" in response.content.decode()
    assert "Secret client pilot" not in response.content.decode()
    assert client.get("/jobs/999999/").status_code == 404


@pytest.mark.django_db
def test_the_old_address_leads_to_the_one_open_job_or_to_the_list(client: Client) -> None:
    empty = client.get("/", follow=True)
    assert empty.redirect_chain == [("/jobs/", 302)]
    assert "No job is open for applications right now" in empty.content.decode()
    first = job_plain(name=SCREENS, listed=True)
    assert client.get("/")["Location"] == f"/jobs/{first.pk}/"
    job_plain(name="Second", listed=True)
    assert client.get("/")["Location"] == "/jobs/"


@pytest.mark.django_db
def test_the_list_is_paged(client: Client) -> None:
    for n in range(21):
        job_plain(name=f"Job {n:02}", listed=True)
    first = _page(client, "/jobs/")
    assert first.count('<section class="card listing"') == 20
    assert "Page 1 of 2" in first
    assert 'href="?page=2"' in first
    assert _page(client, "/jobs/?page=2").count('<section class="card listing"') == 1
    assert _page(client, "/jobs/?page=x").count('<section class="card listing"') == 20


@pytest.mark.django_db
def test_a_spanish_browser_gets_the_list_and_the_job_page_in_spanish_with_amounts_in_usd(client: Client) -> None:
    job = job_plain(name=SCREENS, listed=True, hourly_rate=Decimal("2.50"))
    listing = _page(client, "/jobs/", accept_language="es-VE,es;q=0.9")
    assert '<html lang="es"' in listing
    assert "Trabajos abiertos" in listing
    assert "USD 2,50 por hora" in listing
    assert "Open jobs" not in listing
    page = _page(client, f"/jobs/{job.pk}/", accept_language="es")
    assert "USD 2,50 por hora</strong>" in page
    assert "Postúlate ahora" in page
    assert "Apply now" not in page
    closed = client.get("/jobs/999999/", headers={"accept-language": "es"}).content.decode()
    assert "This job is closed" not in closed


@pytest.mark.django_db
def test_a_rate_changed_in_the_console_reaches_the_listing(client: Client, staff_client: Client) -> None:
    job = job_plain(name=SCREENS, listed=True)
    assert "USD 2.00 per hour" in _page(client, f"/jobs/{job.pk}/")
    now = timezone.now()
    response = staff_client.post(f"/console/payroll/jobs/{job.pk}/terms/", {
        "effective_date": f"{now:%Y-%m-%d}", "effective_time": f"{now:%H:%M}", "hourly_rate": "2.75",
        "weekly_cap_hours": "15", "reason": "Harder photos"})
    assert response.status_code == 302, response.content.decode()[:2000]
    page = _page(client, f"/jobs/{job.pk}/")
    assert "USD 2.75 per hour" in page
    assert "up to 15 hours a week" in page
    assert "USD 2.75 per hour" in _page(client, "/jobs/")
    assert '"value": "2.75"' in page  # the JobPosting too


@pytest.mark.django_db
def test_staff_open_and_close_a_job_and_set_its_guideline_languages_in_the_console(
    client: Client, staff_client: Client,
) -> None:
    job = job_plain(name=SCREENS)
    assert "Not listed" in _page(staff_client, f"/console/jobs/{job.pk}/")
    response = staff_client.post(f"/console/jobs/{job.pk}/listing/", {
        "form": "listing", "listed": "on", "guideline_languages": "en, es fil"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.listed
    assert job.guideline_languages == ["en", "es", "fil"]
    assert SCREENS in _page(client, "/jobs/")
    staff_client.post(f"/console/jobs/{job.pk}/listing/", {"form": "listing", "guideline_languages": "en"})
    assert client.get(f"/jobs/{job.pk}/").status_code == 404
    assert SCREENS not in _page(client, "/jobs/")


@pytest.mark.django_db
def test_bad_guideline_languages_are_a_field_error_on_the_staff_forms(staff_client: Client, sample_dir: Path) -> None:
    job = job_plain(name=SCREENS)
    response = staff_client.post(f"/console/jobs/{job.pk}/listing/", {
        "form": "listing", "listed": "on", "guideline_languages": "en, klingon"})
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r'id="id_guideline_languages_error"><li>Unknown language code\(s\): klingon', html)
    job.refresh_from_db()
    assert not job.listed
    assert job.guideline_languages == ["en"]
    empty = staff_client.post(f"/console/jobs/{job.pk}/listing/", {"form": "listing", "guideline_languages": ""})
    assert empty.status_code == 400
    assert 'id="id_guideline_languages_error"' in empty.content.decode()
    made = staff_client.post("/console/jobs/new/", {
        "name": "New", "client": "Refurb Co", "instructions": "Paint.", "classes": format_classes(),
        "source_kind": "folder", "source_path": str(sample_dir / "images"), "batch_size": 2, "gold_rate": "0.1",
        "quality_threshold": "0.5", "hourly_rate": "2.00", "weekly_cap_hours": "20", "listed": "on",
        "guideline_languages": "zz"})
    assert 'id="id_guideline_languages_error"' in made.content.decode()
    assert not Job.objects.filter(name="New").exists()


@pytest.mark.django_db
def test_a_job_made_in_the_console_can_be_listed_at_once_with_its_rate(
    client: Client, staff_client: Client, sample_dir: Path,
) -> None:
    response = staff_client.post("/console/jobs/new/", {
        "name": SCREENS, "client": "Refurb Co", "instructions": "Paint.", "classes": format_classes(),
        "source_kind": "folder", "source_path": str(sample_dir / "images"), "batch_size": 2, "gold_rate": "0.1",
        "quality_threshold": "0.5", "hourly_rate": "2.40", "weekly_cap_hours": "18", "listed": "on",
        "guideline_languages": "en, hi"})
    assert response.status_code == 302, response.content.decode()[:3000]
    job = Job.objects.get(name=SCREENS)
    assert job.listed
    assert job.guideline_languages == ["en", "hi"]
    page = _page(client, f"/jobs/{job.pk}/")
    assert "USD 2.40 per hour" in page
    assert "up to 18 hours a week" in page


@pytest.mark.django_db
def test_hidden_gold_never_shows_on_the_listing(client: Client, sample_dir: Path) -> None:
    job = _job_with_scratch_gold(sample_dir)
    page = _page(client, f"/jobs/{job.pk}/")
    assert "/examples/" not in page  # the job's only gold is hidden: no close-up of it
    assert client.get(f"/jobs/{job.pk}/examples/scratch.jpg").status_code == 404
    assert client.get("/job/examples/scratch.jpg", follow=True).status_code == 404
    for task in job.tasks.all():  # nothing that names a photo or marks one as gold
        assert task.key not in page
        assert Path(task.image_path).name not in page
        assert f"/{task.pk}/" not in page
    assert "gold" not in page.lower()


@pytest.mark.django_db
def test_a_public_example_is_shown_cut_around_its_gold_and_is_never_hidden_gold_again(
    client: Client, sample_dir: Path,
) -> None:
    job = _job_with_scratch_gold(sample_dir)
    task = job.tasks.order_by("key").first()
    job_examples_publish(job=job, task_keys=[task.key], actor=None)
    page = _page(client, f"/jobs/{job.pk}/")
    assert f'src="/jobs/{job.pk}/examples/scratch.jpg"' in page
    assert 'alt="Close-up of a phone screen with this defect: Scratch"' in page
    assert "/examples/pit.jpg" not in page  # no public gold paints a pit
    assert task.key not in page
    response = client.get(f"/jobs/{job.pk}/examples/scratch.jpg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "public" in response["Cache-Control"]
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "JPEG"
    assert not image.getexif()
    shown = np.asarray(image, dtype=int)
    photo = settings.VAR_DIR / task.image_path
    expected = _close_up_around(photo, SCRATCH_BOX)
    assert shown.shape == expected.shape == (320, 320, 3)
    assert np.abs(shown - expected).mean() < 4  # JPEG noise only
    elsewhere = _close_up_around(photo, (250, 400, 280, 460))
    assert np.abs(shown - elsewhere).mean() > np.abs(shown - expected).mean() * 2
    # Kept on disk: the second answer is the same file, not cut again.
    kept = list((Path(settings.MEDIA_ROOT) / "listing-examples").rglob("*.jpg"))
    assert len(kept) == 1
    assert kept[0].read_bytes() == response.content
    assert client.get(f"/jobs/{job.pk}/examples/scratch.jpg").content == response.content
    # The old address of the close-ups leads to the newest open job's.
    assert client.get("/job/examples/scratch.jpg")["Location"] == f"/jobs/{job.pk}/examples/scratch.jpg"
    # Batches cut from now on never hide it as gold.
    Job.objects.filter(pk=job.pk).update(gold_rate=Decimal(1), batch_size=1)  # every batch draws gold
    jobs.batches_cut(job=job)
    assert not BatchTask.objects.filter(task=task, is_gold=True).exists()
    assert BatchTask.objects.filter(task=task, is_gold=False).exists()  # still labelled as ordinary work


@pytest.mark.django_db
def test_a_gold_mask_with_several_defects_is_shown_by_its_largest_one(client: Client, sample_dir: Path) -> None:
    small = (330, 500, 340, 510)  # a 10 x 10 px scratch far from the 60 x 30 px one
    job = _job_with_scratch_gold(sample_dir, also=small)
    task = job.tasks.order_by("key").first()
    job_examples_publish(job=job, task_keys=[task.key], actor=None)
    shown = np.asarray(Image.open(io.BytesIO(client.get(f"/jobs/{job.pk}/examples/scratch.jpg").content)), dtype=int)
    expected = _close_up_around(settings.VAR_DIR / task.image_path, SCRATCH_BOX)
    assert shown.shape == expected.shape
    assert np.abs(shown - expected).mean() < 4


@pytest.mark.django_db
def test_gold_already_hidden_in_a_batch_cannot_be_made_public(staff_client: Client, sample_dir: Path) -> None:
    job = _job_with_scratch_gold(sample_dir)
    Job.objects.filter(pk=job.pk).update(gold_rate=Decimal(1), batch_size=1)  # every batch draws gold
    jobs.batches_cut(job=job)
    task = job.tasks.order_by("key").first()
    assert BatchTask.objects.filter(task=task, is_gold=True).exists()
    with pytest.raises(DomainError, match="already hidden gold"):
        job_examples_publish(job=job, task_keys=[task.key], actor=None)
    response = staff_client.post(f"/console/jobs/{job.pk}/listing/", {"form": "examples", "task_keys": task.key})
    assert response.status_code == 400
    assert re.search(r'id="id_task_keys_error"><li>[^<]*already hidden gold', response.content.decode())
    without_gold = job.tasks.exclude(pk=task.pk).first()
    refused = staff_client.post(f"/console/jobs/{job.pk}/listing/",
                                {"form": "examples", "task_keys": f"{without_gold.key}, nope"})
    assert refused.status_code == 400
    assert "no photo named nope" in refused.content.decode()
    task.refresh_from_db()
    assert not task.public_example


@pytest.mark.django_db
def test_staff_make_a_gold_photo_a_public_example_from_the_console(
    client: Client, staff_client: Client, sample_dir: Path,
) -> None:
    job = _job_with_scratch_gold(sample_dir)
    task = job.tasks.order_by("key").first()
    response = staff_client.post(f"/console/jobs/{job.pk}/listing/", {"form": "examples", "task_keys": task.key})
    assert response.status_code == 302
    assert task.key in _page(staff_client, f"/console/jobs/{job.pk}/listing/")
    assert f'src="/jobs/{job.pk}/examples/scratch.jpg"' in _page(client, f"/jobs/{job.pk}/")


@pytest.mark.django_db
def test_the_listing_pages_are_for_staff_with_the_jobs_role_only(client: Client) -> None:
    job = job_plain(name=SCREENS)
    url = f"/console/jobs/{job.pk}/listing/"
    assert client.get(url)["Location"].startswith("/accounts/login/")
    client.force_login(staff_user(role="payroll", mfa=True))
    assert client.get(url).status_code == 403


@pytest.mark.django_db
def test_the_console_api_says_whether_a_job_is_listed_and_its_guideline_languages(staff_client: Client) -> None:
    job = job_plain(name=SCREENS, listed=True, guideline_languages=["en", "sw"])
    response = staff_client.get(f"/api/v1/console/jobs/{job.pk}/")
    assert response.status_code == 200
    assert response.json()["listed"] is True
    assert response.json()["guideline_languages"] == ["en", "sw"]

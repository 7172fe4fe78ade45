"""A ZIP entry named .png is judged from its first 33 bytes (signature, IHDR width and height) before it is unpacked:
250 MB of zeros is refused naming the entry, with memory staying low, in the gold import and the pre-annotation
import alike; a real PNG of the photo's size still goes through."""
import io
import tracemalloc
import zipfile

import numpy as np
import pytest

from annotations.models import Job, Task
from annotations.quality.classes import DefectClass
from annotations.quality.mask_archive import unpacked_png
from annotations.quality.png_masks import MaskImageError, png_head_check
from annotations.quality.preannotations import Photo, PreannotationError, masks_from_png_zip
from annotations.services.gold_masks import gold_import_masks
from common.errors import DomainError
from tests.annotations.quality.test_png_masks import _bomb_header
from tests.annotations.test_gold_masks import png
from tests.factories import job_plain

ZEROS_MB = 250
MB = 2**20
PEAK_LIMIT = 50 * MB


def streamed_zip(name: str, *, head: bytes = b"", megabytes: int = ZEROS_MB) -> bytes:
    """A ZIP holding `name`: `head`, then `megabytes` MB of zeros, written 1 MB at a time (the test never holds
    the entry whole); it compresses to about 250 kB."""
    buf = io.BytesIO()
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    zeros = bytes(MB)
    with zipfile.ZipFile(buf, "w") as archive, archive.open(info, "w", force_zip64=True) as entry:
        entry.write(head)
        for _ in range(megabytes):
            entry.write(zeros)
    return buf.getvalue()


@pytest.fixture
def job_and_task() -> tuple[Job, Task, str]:
    job = job_plain()
    task = Task.objects.create(job=job, key="ph", image_path="ph.jpg", image_sha256="0" * 64, width=64, height=48)
    return job, task, job.label_classes[0]["key"]


def _peak_while(work: object) -> tuple[int, Exception]:
    tracemalloc.start()
    try:
        work()
    except (DomainError, PreannotationError) as exc:
        caught = exc
    else:
        pytest.fail("the archive was not refused")
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak, caught


@pytest.mark.django_db
def test_250_mb_of_zeros_named_png_is_refused_by_the_gold_import_without_unpacking(
        job_and_task: tuple[Job, Task, str]) -> None:
    job, task, cls = job_and_task
    name = f"{task.key}_{cls}.png"
    archive = streamed_zip(name)
    assert len(archive) < MB
    assert zipfile.ZipFile(io.BytesIO(archive)).getinfo(name).file_size == ZEROS_MB * MB
    peak, refused = _peak_while(lambda: gold_import_masks(job=job, archive=archive))
    assert refused.message == f"archive: {name} is not a PNG image."
    assert peak < PEAK_LIMIT, f"peak {peak / MB:.1f} MB"
    assert not task.gold_versions.exists()


def test_the_pre_annotation_import_refuses_it_too_with_low_memory() -> None:
    archive = streamed_zip("ph_crack.png")
    classes = [DefectClass(key="crack", label="Crack", colour="#ff0000")]
    photos = {"ph": Photo("ph", 64, 48)}
    peak, refused = _peak_while(lambda: list(masks_from_png_zip(
        archive, file="masks.zip", photos=photos, classes=classes, max_files=10, max_bytes=256 * MB)))
    assert str(refused) == "masks.zip: ph_crack.png, photo ph: is not a PNG image."
    assert peak < PEAK_LIMIT, f"peak {peak / MB:.1f} MB"


def test_a_png_header_of_the_right_size_followed_by_250_mb_is_refused_by_its_bound() -> None:
    archive = streamed_zip("ph_crack.png", head=_bomb_header(64, 48))
    classes = [DefectClass(key="crack", label="Crack", colour="#ff0000")]
    tracemalloc.start()
    try:
        with pytest.raises(PreannotationError) as refused:
            list(masks_from_png_zip(archive, file="masks.zip", photos={"ph": Photo("ph", 64, 48)}, classes=classes,
                                    max_files=10, max_bytes=256 * MB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(refused.value).startswith("masks.zip: ph_crack.png, photo ph: is 262,144,")
    assert "more than any 64x48 PNG needs" in str(refused.value)
    assert peak < PEAK_LIMIT


@pytest.mark.parametrize(("head", "problem"), [
    (b"GIF89a" + bytes(27), "is not a PNG image"),
    (b"\x89PNG\r\n\x1a\n" + bytes(4), "is a PNG cut short before its header ends"),
    (b"\x89PNG\r\n\x1a\n" + bytes(25), "cannot be read as a PNG (its header is not a valid IHDR)"),
    (_bomb_header(65_000, 65_000)[:33], "is 65000x65000 but the photo is 64x48"),
])
def test_the_head_check_names_the_problem(head: bytes, problem: str) -> None:
    with pytest.raises(MaskImageError) as refused:
        png_head_check(head, width=64, height=48, file_bytes=1000)
    assert str(refused.value) == problem


def test_a_real_png_of_the_photo_s_size_passes_and_reads_whole() -> None:
    mask = np.zeros((48, 64), bool)
    mask[5:9, 3:30] = True
    data = png(mask)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ph_crack.png", data)
    with zipfile.ZipFile(buf) as archive:
        assert unpacked_png(archive, archive.getinfo("ph_crack.png"), width=64, height=48) == data
    # The bound leaves room for the largest honest PNG: 16-bit RGBA stored without compression.
    png_head_check(_bomb_header(64, 48)[:33], width=64, height=48, file_bytes=48 * (1 + 64) + 2**20)

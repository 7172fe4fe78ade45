"""Gold from a ZIP of PNG masks: the service, the console upload and manage.py import_gold."""
import io
import json
import os
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from PIL import Image

from annotations.models import GoldSource, GoldVersion, Job, Task
from annotations.services import jobs
from annotations.services.gold import gold_current, gold_set, masks_of_task
from annotations.services.gold_masks import gold_import_file, gold_import_masks
from common.errors import DomainError
from tests.annotations.quality.test_png_masks import _bomb_header
from tests.annotations.test_jobs import create_sample_job, sample  # noqa: F401 - sample: a module fixture
from tests.conftest import REPO_ROOT, _database_url
from tests.factories import contractor_in_state, staff_user
from workforce.models import OnboardingState

pytestmark = pytest.mark.django_db

CLASSES = ("scratch", "pit", "blemish", "missing_surface", "crack", "discoloration")


@pytest.fixture
def job(sample: Path) -> Job:  # noqa: F811
    job, _ = create_sample_job(sample, batch_size=2)
    jobs.batches_cut(job=job)
    return job




def zip_of(files: dict[str, bytes] | list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns of a name written twice: tests do that
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in (files.items() if isinstance(files, dict) else files):
                archive.writestr(name, data)
    return buf.getvalue()


def sample_gold_pngs(sample: Path, name: str = "{key}_{cls}.png") -> dict[str, bytes]:  # noqa: F811
    """The sample job's own gold PNGs (one per task and class, empty ones included), renamed."""
    manifest = json.loads((sample / "manifest.json").read_text())
    return {name.format(key=task["key"], cls=cls): (sample / rel).read_bytes()
            for task in manifest["tasks"] for cls, rel in task["gold_masks"].items()}


def png(mask: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(mask).save(buf, format="PNG")
    return buf.getvalue()


def square(task: Task, y: int = 10, x: int = 20, side: int = 30) -> np.ndarray:
    mask = np.zeros((task.height, task.width), bool)
    mask[y:y + side, x:x + side] = True
    return mask


def gold_state() -> list[tuple]:
    """Every gold version and every task's gold: what a refused import must leave as it was."""
    return (list(GoldVersion.objects.order_by("pk").values_list("pk", "task_id", "version", "source", "result"))
            + list(Task.objects.order_by("pk").values_list("pk", "gold_result")))


def tasks_of(job: Job) -> list[Task]:
    return list(job.tasks.order_by("key"))


def test_the_sample_jobs_own_gold_pngs_import_as_the_same_masks_bit_for_bit(job: Job, sample: Path) -> None:  # noqa: F811
    tasks = tasks_of(job)
    for task in tasks:  # some other gold first, so that the import has something to replace
        gold_set(task=task, result=[], source=GoldSource.IMPORT)
    staff = staff_user()

    assert gold_import_masks(job=job, archive=zip_of(sample_gold_pngs(sample)), actor=staff) == len(tasks)

    for task in tasks:
        gold = gold_current(task)
        assert (gold.version, gold.source, gold.created_by) == (3, GoldSource.IMPORT_PNG, staff)
        expected = {}
        for cls in CLASSES:
            painted = np.asarray(Image.open(sample / "gold" / f"{task.key}_{cls}.png")) > 0
            if painted.any():
                expected[next(c["label"] for c in job.label_classes if c["key"] == cls)] = painted
        decoded = masks_of_task(gold.result, task)
        assert expected
        assert decoded.keys() == expected.keys()
        assert all(np.array_equal(decoded[label], expected[label]) for label in expected)
        # The same result shape as the sample job's own gold JSON, to the byte.
        sample_gold = json.loads((sample / "gold" / f"{task.key}.json").read_text())
        assert gold.result == sample_gold
        task.refresh_from_db()
        assert task.gold_result == sample_gold


def test_importing_identical_masks_again_adds_no_version(job: Job, sample: Path) -> None:  # noqa: F811
    archive = zip_of(sample_gold_pngs(sample))
    # The current gold is the sample job's own: the same masks, so nothing is new.
    assert gold_import_masks(job=job, archive=archive) == 0
    task = tasks_of(job)[0]
    gold_set(task=task, result=[], source=GoldSource.IMPORT)
    assert gold_import_masks(job=job, archive=archive) == 1
    assert gold_import_masks(job=job, archive=archive) == 0
    assert list(task.gold_versions.values_list("version", "source")) == [
        (3, GoldSource.IMPORT_PNG), (2, GoldSource.IMPORT), (1, GoldSource.SAMPLE)]


def test_gold_painting_the_same_masks_in_other_json_is_not_a_new_version(job: Job) -> None:
    task = tasks_of(job)[0]
    current = gold_current(task)
    renamed = [{**result, "id": "another-id"} for result in task.gold_result]
    assert gold_set(task=task, result=renamed, source=GoldSource.IMPORT).pk == current.pk


def test_folders_per_task_inside_a_top_folder_with_missing_classes_and_untouched_tasks(job: Job) -> None:
    first, second, *others = tasks_of(job)
    pit, crack = square(first), square(second, y=100, x=200, side=5)
    archive = zip_of({
        "export/": b"",
        f"export/{first.key}/pit.png": png(pit),
        f"export/{second.key}/crack.png": png(crack),
        f"export/{second.key}/scratch.png": png(np.zeros_like(crack)),
        "__MACOSX/export/._x.png": b"\0\5\26\7",
        "export/.DS_Store": b"\0\0\0\1Bud1",
    })
    before = {t.pk: gold_current(t).pk for t in others}

    assert gold_import_masks(job=job, archive=archive) == 2

    assert masks_of_task(gold_current(first).result, first).keys() == {"Pit"}  # the other classes are empty now
    assert np.array_equal(masks_of_task(gold_current(first).result, first)["Pit"], pit)
    assert masks_of_task(gold_current(second).result, second).keys() == {"Crack"}
    assert {t.pk: gold_current(t).pk for t in others} == before


def test_a_task_whose_files_are_all_empty_gets_gold_without_defects(job: Job) -> None:
    task = tasks_of(job)[0]
    assert gold_import_masks(job=job, archive=zip_of({f"{task.key}_pit.png": png(square(task) & False)})) == 1
    assert gold_current(task).result == []


@pytest.fixture
def limits(settings: object) -> object:
    settings.GOLD_IMPORT_MAX_BYTES = 1_000_000
    settings.GOLD_IMPORT_MAX_FILES = 4
    return settings


def _bad_archives(task: Task, other: Task) -> list[tuple[str, object, str]]:
    """(case, archive or a function of the good file, expected message); each holds a good mask for another
    task too, so a half-done import would show."""
    good = (f"{other.key}_pit.png", png(square(other)))
    right = png(square(task))
    return [
        ("not a zip", b"PK\3\4 not really a zip", "archive: not a ZIP file"),
        ("empty zip", zip_of({}), "no file in the ZIP"),
        ("no such task or class", zip_of([good, ("screen_9999_pit.png", right), (f"{task.key}_dent.png", right),
                                          (f"{task.key}/pit.jpg", right)]),
         r"3 file\(s\) name no task and class of the job Screens: 'screen_9999_pit.png', "
         rf"'{task.key}_dent.png', '{task.key}/pit.jpg'\. Name each <task key>_<class key>.png"),
        ("wrong size", zip_of([good, (f"{task.key}_pit.png", png(np.ones((213, 320), bool)))]),
         rf"{task.key}_pit.png is 320x213 but the photo is 640x427"),
        ("not a png", zip_of([good, (f"{task.key}_pit.png", b"GIF89a")]), rf"{task.key}_pit.png is not a PNG image"),
        ("truncated png", zip_of([good, (f"{task.key}_pit.png", right[:80])]), "cannot be read as a PNG"),
        ("two names for one mask", zip_of([good, (f"{task.key}_pit.png", right), (f"{task.key}/pit.png", right)]),
         rf"the same task and class given twice: '{task.key}_pit.png and {task.key}/pit.png'"),
        ("one name twice", zip_of([good, (f"{task.key}_pit.png", right), (f"{task.key}_pit.png", right)]),
         "given twice"),
        ("zip bomb", zip_of([good, (f"{task.key}_pit.png", b"\0" * 2_000_000)]),
         r"unpack to 2,00\d,\d+ bytes, more than the limit of 1,000,000 \(GOLD_IMPORT_MAX_BYTES\)"),
        ("decompression bomb", zip_of([good, (f"{task.key}_pit.png", _bomb_header(20_000, 10_000))]),
         "is 20000x10000 but the photo is"),  # judged from its header, before Pillow opens it
        ("too many files", zip_of([good] + [(f"{task.key}_{cls}.png", right) for cls in CLASSES[:4]]),
         r"5 files, more than the limit of 4 \(GOLD_IMPORT_MAX_FILES\)"),
        ("climbing out", zip_of([good, (f"../{task.key}_pit.png", right)]), "unsafe file names"),
        ("absolute", zip_of([good, (f"/tmp/{task.key}_pit.png", right)]), "unsafe file names"),
        ("windows path", zip_of([good, (f"C:\\masks\\{task.key}_pit.png", right)]), "unsafe file names"),
    ]


@pytest.mark.parametrize("case", [c[0] for c in _bad_archives(Task(key="t", width=1, height=1),
                                                               Task(key="o", width=1, height=1))])
def test_a_bad_archive_is_refused_saying_why_and_changes_nothing(job: Job, limits: object, case: str) -> None:
    task, other = tasks_of(job)[:2]
    gold_current(task), gold_current(other)  # the sample gold recorded, as any earlier read leaves it
    _, archive, expected = next(c for c in _bad_archives(task, other) if c[0] == case)
    before = gold_state()
    with pytest.raises(DomainError, match=expected) as caught:
        gold_import_masks(job=job, archive=archive)
    assert caught.value.field == "archive"
    assert caught.value.message.count("\n") == 0
    assert gold_state() == before


def test_an_upload_is_read_as_a_zip_or_a_json_export_by_its_content(job: Job, sample: Path) -> None:  # noqa: F811
    task = tasks_of(job)[0]
    archive = zip_of({f"{task.key}_pit.png": png(square(task))})
    assert gold_import_file(job=job, content=archive, name="masks.bin") == 1
    assert gold_current(task).source == GoldSource.IMPORT_PNG
    with pytest.raises(DomainError, match="archive: not a ZIP file"):
        gold_import_file(job=job, content=b"[]", name="masks.zip")
    with pytest.raises(DomainError, match="a single PNG; put the masks in a ZIP"):
        gold_import_file(job=job, content=png(square(task)), name="mask.png")
    assert gold_import_file(job=job, content=b"[]", name="export.json") == 0
    with pytest.raises(DomainError, match="more than the 50 MB a Label Studio export may weigh"):
        gold_import_file(job=job, content=b"[" + b" " * 50 * 2**20 + b"]", name="export.json")


# --- the console ------------------------------------------------------------------------------

def _messages(response: object) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _upload(content: bytes, name: str = "gold-masks.zip") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/zip")


def test_staff_import_png_masks_from_the_job_page(job: Job) -> None:
    task = tasks_of(job)[0]
    staff = Client(enforce_csrf_checks=True)
    staff.force_login(staff_user())
    page = staff.get(f"/console/jobs/{job.pk}/")
    assert "ZIP of PNG masks" in page.content.decode()
    response = staff.post(f"/console/jobs/{job.pk}/gold-import/",
                          {"export": _upload(zip_of({f"{task.key}_pit.png": png(square(task))})),
                           "csrfmiddlewaretoken": page.cookies[settings.CSRF_COOKIE_NAME].value})
    assert response.status_code == 302
    assert _messages(response) == ["Gold imported: 1 photo(s) got a new gold version; the annotations scored on "
                                   "the old one are re-scored in the background."]
    assert gold_current(task).source == GoldSource.IMPORT_PNG


def test_a_refused_archive_on_the_job_page_says_why_and_changes_nothing(job: Job) -> None:
    staff = Client()
    staff.force_login(staff_user())
    before = gold_state()
    response = staff.post(f"/console/jobs/{job.pk}/gold-import/",
                          {"export": _upload(zip_of({"screen_9999_pit.png": b""}))})
    assert _messages(response) == [
        "Gold import refused, nothing changed: archive: 1 file(s) name no task and class of the job Screens: "
        "'screen_9999_pit.png'. Name each <task key>_<class key>.png or <task key>/<class key>.png, with a class "
        "among scratch, pit, blemish, missing_surface, crack, discoloration."]
    assert gold_state() == before


def test_png_import_is_refused_to_contractors_and_without_csrf(job: Job) -> None:
    task = tasks_of(job)[0]
    gold_current(task)
    archive = zip_of({f"{task.key}_pit.png": png(square(task))})
    contractor = Client()
    contractor.force_login(contractor_in_state(OnboardingState.ACTIVE).user)
    assert contractor.post(f"/console/jobs/{job.pk}/gold-import/", {"export": _upload(archive)}).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff_user())
    assert strict.post(f"/console/jobs/{job.pk}/gold-import/", {"export": _upload(archive)}).status_code == 403
    assert gold_current(task).version == 1


# --- manage.py import_gold --------------------------------------------------------------------

def _import_gold(*args: str) -> subprocess.CompletedProcess:
    """The command in its own process, on the test database (the test commits what it reads)."""
    env = {**os.environ, "DATABASE_URL": _database_url(connection.settings_dict)}
    return subprocess.run([sys.executable, "manage.py", "import_gold", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.django_db(transaction=True)
def test_the_import_gold_command_exits_0_on_success_and_1_with_one_line_on_bad_input(
        job: Job, sample: Path, tmp_path: Path) -> None:  # noqa: F811
    task = tasks_of(job)[0]
    gold_current(task)
    (tmp_path / "masks.zip").write_bytes(zip_of({f"{task.key}_pit.png": png(square(task))}))
    (tmp_path / "bad.zip").write_bytes(zip_of({f"{task.key}_pit.png": png(np.ones((3, 3), bool))}))
    (tmp_path / "export.json").write_text(json.dumps([{"data": {"image": "/data/upload/1/elsewhere.jpg"},
                                                       "annotations": []}]))

    done = _import_gold("--job", str(job.pk), str(tmp_path / "masks.zip"))
    assert (done.returncode, done.stdout) == (0, "Gold imported into Screens: 1 photo(s) got a new gold version.\n")
    assert gold_current(task).source == GoldSource.IMPORT_PNG

    before = gold_state()
    for args, expected in [
        (("--job", str(job.pk), str(tmp_path / "bad.zip")),
         f"CommandError: gold import refused, nothing changed: archive: {task.key}_pit.png is 3x3 but the photo "
         "is 640x427.\n"),
        (("--job", str(job.pk), str(tmp_path / "export.json")),
         "CommandError: gold import refused, nothing changed: document: task #0: no photo of the job is named "
         "'elsewhere.jpg'.\n"),
        (("--job", str(job.pk), str(tmp_path / "missing.zip")),
         f"CommandError: cannot read {tmp_path / 'missing.zip'}: No such file or directory.\n"),
        (("--job", "999999", str(tmp_path / "masks.zip")), "CommandError: no job with id 999999.\n"),
    ]:
        done = _import_gold(*args)
        assert (done.returncode, done.stdout, done.stderr) == (1, "", expected)
    assert gold_state() == before

"""The demo's client files: the sample's photos as a ZIP and its predictions as COCO, brought in through the
new-job path as a user would, give every photo the sample's own prediction, pixel for pixel."""
import json
import shutil
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from annotations.defects import DEFECT_CLASSES
from annotations.models import ImportKind, ImportRun, ImportState
from annotations.quality.labelstudio_json import masks_from_results
from annotations.selectors.imports import coco_awaited
from annotations.services import client_import
from annotations.services.gold import masks_of_task
from demo.client_files import COCO_JSON, PHOTOS_ZIP
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture


@pytest.fixture
def uploads() -> Iterator[None]:
    yield
    shutil.rmtree(settings.VAR_DIR / client_import.UPLOAD_DIR, ignore_errors=True)
    shutil.rmtree(settings.VAR_DIR / client_import.PHOTOS_DIR, ignore_errors=True)


@pytest.mark.django_db
def test_the_client_files_bring_the_sample_in_as_a_new_job_with_its_predictions(sample: Path, tmp_path: Path,  # noqa: F811
                                                                                uploads: None) -> None:
    call_command("make_client_files", "--sample", str(sample), "--out", str(tmp_path))
    photos, coco = tmp_path / PHOTOS_ZIP, tmp_path / COCO_JSON
    manifest = json.loads((sample / "manifest.json").read_text())["tasks"]
    with zipfile.ZipFile(photos) as archive:
        assert sorted(archive.namelist()) == sorted(f"photos/{Path(t['image']).name}" for t in manifest)
    assert not list(tmp_path.glob("*.part"))

    archive_token = client_import.import_upload_store(job=None, name=photos.name, chunks=[photos.read_bytes()])
    coco_token = client_import.import_upload_store(job=None, name=coco.name, chunks=[coco.read_bytes()])
    run = client_import.job_from_zip_enqueue(
        archive_token=archive_token, preannotations_token=coco_token, preannotations_format="coco", actor=None,
        name="Client", client="Refurb Co", instructions="Paint.", batch_size=2, gold_rate=Decimal("0"),
        quality_threshold=Decimal("0.5"), hourly_rate=None, weekly_cap_hours=None, classes=DEFECT_CLASSES)
    run = client_import.job_from_zip_execute(run_id=run.pk)
    assert run.state == ImportState.DONE, run.error
    job = run.job
    token = coco_awaited(job)
    categories = client_import.import_upload_categories(job=job, token=token)
    assert sorted(categories.values()) == sorted(c.key for c in DEFECT_CLASSES)  # named by key: preselected
    follow = client_import.preannotations_import(
        job=job, upload_path=client_import.import_upload_path(job=job, token=token), fmt="coco", actor=None,
        category_map=dict(categories))  # each category is its class key
    assert client_import.import_run_execute(run_id=follow.pk).state == ImportState.DONE
    assert ImportRun.objects.get(pk=follow.pk, kind=ImportKind.PREDICTIONS).publish_when_done

    for task in job.tasks.all():
        listed = next(t for t in manifest if Path(t["image"]).stem == task.key)
        expected, _, _ = masks_from_results(json.loads((sample / listed["prediction"]).read_text())["result"])
        got = masks_of_task(task.prediction["result"], task)
        assert got.keys() == expected.keys()
        assert all(np.array_equal(got[label], expected[label]) for label in expected)


def test_no_sample_is_one_readable_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"manifest\.json does not exist: make the sample job first"):
        call_command("make_client_files", "--sample", str(tmp_path / "none"), "--out", str(tmp_path))

"""The job page's one progress poller, run by Node on a stand-in DOM with the answers of the real progress JSON:
it moves bars and fields (scoped ones too), reloads the page once a watched import ends, and only stops polling when
publishing or scoring ends."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from annotations.models import ImportFormat, ImportRun, ImportState, Job
from tests.annotations.test_console import staff_client  # noqa: F401 - the staff client fixture
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.portal.test_job_progress import job  # noqa: F401 - the five-photo job, published

POLLER = Path(settings.BASE_DIR) / "templates" / "annotations" / "_progress_poll.html"
HARNESS = Path(__file__).with_name("poller_harness.js")
pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(shutil.which("node") is None, reason="Node runs the page's script")]


def run_poller(answers: list[dict], watch: str = "") -> dict:
    done = subprocess.run(["node", str(HARNESS), str(POLLER), json.dumps(answers), watch],
                          capture_output=True, text=True, timeout=30, check=True)
    return json.loads(done.stdout)


def test_bars_and_fields_move_and_the_page_reloads_once_a_watched_import_ends(
        staff_client: Client, job: Job) -> None:  # noqa: F811
    run = ImportRun.objects.create(job=job, format=ImportFormat.LABEL_STUDIO, file_name="c.json", upload_path="x",
                                   state=ImportState.RUNNING, photos_total=8, photos_checked=5)
    url = f"/console/jobs/{job.pk}/progress.json"
    running = staff_client.get(url).json()
    run.state, run.photos_checked = ImportState.DONE, 8
    run.save()
    ended = staff_client.get(url).json()
    assert running["watch"] == [f"import-{run.pk}"]
    assert ended["watch"] == []
    for answers in ([running, ended], [running, running, ended]):
        shown = run_poller([{**a, "imports": {"5": a["imports"][str(run.pk)]}} for a in answers],
                           watch=f"import-{run.pk}")
        assert shown["reloaded"]
        assert shown["fetched"] == len(answers)
        assert shown["scoped"] == 8  # the import's own counter, read at imports.<id>
        assert shown["field"] == ended["bars"]["annotated"]["n"]
        assert shown["bar"] == [ended["bars"]["annotated"]["n"], max(ended["bars"]["annotated"]["of"], 1)]


def test_polling_stops_without_a_reload_when_only_publishing_ends(staff_client: Client, job: Job) -> None:  # noqa: F811
    url = f"/console/jobs/{job.pk}/progress.json"
    published_at = list(job.batches.values_list("pk", "published_at"))
    job.batches.update(published_at=None)
    publishing = staff_client.get(url).json()
    for pk, at in published_at:
        job.batches.filter(pk=pk).update(published_at=at)
    published = staff_client.get(url).json()
    assert publishing["running"]
    assert not published["running"]
    shown = run_poller([{**a, "imports": {}} for a in (publishing, published, published)])
    assert not shown["reloaded"]
    assert shown["fetched"] == 2  # no third request once nothing runs


def test_an_import_runs_own_page_reloads_when_its_flat_answer_says_it_finished(
        staff_client: Client, job: Job) -> None:  # noqa: F811
    run = ImportRun.objects.create(job=job, format=ImportFormat.LABEL_STUDIO, file_name="c.json", upload_path="x",
                                   state=ImportState.RUNNING)
    running = staff_client.get(f"/console/imports/{run.pk}.json").json()
    run.state = ImportState.FAILED
    run.save()
    failed = staff_client.get(f"/console/imports/{run.pk}.json").json()
    shown = run_poller([running, failed])
    assert shown["reloaded"]
    assert shown["fetched"] == 2

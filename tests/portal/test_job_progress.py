"""The console job page's progress bars, its background work's bars and their JSON, and its charts: counts from
work made through the services, the charts' tables per day, a query count that does not grow with the job."""
import re
import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotations.models import (
    Annotation,
    Batch,
    GoldSource,
    ImportFormat,
    ImportRun,
    ImportState,
    Job,
    LabelStudioAccount,
)
from annotations.quality.labelstudio_json import brush_result
from annotations.services import jobs
from annotations.services.assignment import batch_assign
from annotations.services.gold import gold_set
from annotations.services.hand_in import batch_hand_in
from annotations.services.review import annotation_accept
from annotations.services.scoring import score_annotation
from annotations.services.sync import annotation_upsert
from payroll.services.entries import time_entry_create
from tests.annotations.test_console import staff_client  # noqa: F401 - the staff client fixture
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.factories import contractor_in_state, contractor_signed_in, staff_user
from workforce.models import Contractor, OnboardingState, User


@pytest.fixture
def job(sample: Path) -> Job:  # noqa: F811
    """The five-photo sample in batches of two photos (plus hidden gold), marked published."""
    job, _ = jobs.job_create(name="Screens", client="Refurb Co", instructions="Paint.",
                             specs=jobs.specs_from_manifest(sample / "manifest.json"), image_source=str(sample),
                             actor=None, batch_size=2)
    jobs.batches_cut(job=job)
    job.batches.update(published_at=timezone.now())
    return job


@pytest.fixture
def staff() -> User:
    return staff_user()


def _annotate(batch: Batch, contractor: Contractor, *, days_ago: int = 0) -> list[Annotation]:
    """The holder's work on every photo of the batch, submitted `days_ago` days ago, through the sync's upsert."""
    account, _ = LabelStudioAccount.objects.get_or_create(
        contractor=contractor, defaults={"ls_user_id": 700_000 + contractor.pk, "email": contractor.user.email})
    at = (timezone.now() - timedelta(days=days_ago)).isoformat()
    made = []
    for bt in batch.batch_tasks.order_by("id"):
        bt.ls_task_id = bt.ls_task_id or 800_000 + bt.pk
        bt.save(update_fields=["ls_task_id"])
        made.append(annotation_upsert(payload={
            "id": uuid.uuid4().int % 2_000_000_000, "task": bt.ls_task_id, "completed_by": account.ls_user_id,
            "result": [], "lead_time": 60.0, "created_at": at, "updated_at": at}))
    return made


def bar_text(html: str, label: str) -> str:
    """The words of the bar labelled `label`, e.g. "3 of 7 (42 %)"."""
    found = re.search(rf'<label for="bar-\w+">{label}: (.*?)</label>', html, re.S)
    assert found, label
    return re.sub(r"<[^>]+>", "", found.group(1))


def chart_rows(html: str, title: str) -> dict[str, str]:
    table = re.search(rf'<table data-chart="{title}">(.*?)</table>', html, re.S).group(1)
    return dict(re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", table))


@pytest.mark.django_db
def test_the_job_page_shows_each_bar_with_the_counts_of_the_work_done(
        staff_client: Client, job: Job, staff: User) -> None:  # noqa: F811
    ana = contractor_in_state(OnboardingState.ACTIVE)
    batch = batch_assign(batch=job.batches.get(number=1), contractor=ana, actor=staff)
    work = _annotate(batch, ana)
    batch_hand_in(batch=batch, contractor=ana)
    annotation_accept(annotation=work[0], reviewer=staff)
    photos, in_batch = job.tasks.count(), batch.batch_tasks.count()
    gold = job.tasks.filter(gold_result__isnull=False).count()

    html = staff_client.get(f"/console/jobs/{job.pk}/").content.decode()
    def pct(n: int) -> int:
        return n * 100 // photos
    assert bar_text(html, "Photos annotated") == f"{in_batch} of {photos} ({pct(in_batch)} %)"
    assert bar_text(html, "Photos handed in") == f"{in_batch} of {photos} ({pct(in_batch)} %)"
    assert bar_text(html, "Photos reviewed") == f"1 of {photos} ({pct(1)} %)"
    assert bar_text(html, "Photos accepted") == f"1 of {photos} ({pct(1)} %)"
    assert bar_text(html, "Gold photos") == f"{gold} of {photos} ({pct(gold)} %)"
    batches = job.batches.count()
    assert bar_text(html, "Batches published to Label Studio") == f"{batches} of {batches} (100 %)"
    assert f'<progress id="bar-annotated" class="full-width" max="{photos}" value="{in_batch}"' in html
    assert f'href="/console/jobs/{job.pk}/">Refresh</a>' in html
    assert "<noscript>" in html
    assert html.count("<script>") == 1  # one poller for every bar of the page

    console = staff_client.get("/console/").content.decode()
    assert f'<progress max="{photos}" value="1" aria-label="Screens: photos accepted">' in console


@pytest.mark.django_db
def test_the_charts_tables_hold_the_photos_and_hours_of_each_day(
        staff_client: Client, job: Job, staff: User) -> None:  # noqa: F811
    # At noon (UTC) of today: an entry ending "two days ago" at 00:20 would start the day before, so the test
    # failed between midnight and 01:30.
    noon = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    with time_machine.travel(noon, tick=True):
        ana, bo = contractor_in_state(OnboardingState.ACTIVE), contractor_in_state(OnboardingState.ACTIVE)
        with time_machine.travel(timezone.now() - timedelta(days=3), tick=False):  # held before the time logged on them
            first = batch_assign(batch=job.batches.get(number=1), contractor=ana, actor=staff)
            second = batch_assign(batch=job.batches.get(number=2), contractor=bo, actor=staff)
        _annotate(first, ana, days_ago=2)
        _annotate(second, bo, days_ago=0)
        now = timezone.now().replace(second=0, microsecond=0)
        time_entry_create(contractor=ana, batch=first, start=now - timedelta(days=2, minutes=90),
                          end=now - timedelta(days=2), actor=ana.user)
        time_entry_create(contractor=bo, batch=second, start=now - timedelta(minutes=50),
                          end=now - timedelta(minutes=5), actor=bo.user)
        time_entry_create(contractor=ana, batch=first, start=now - timedelta(minutes=30), end=now, actor=ana.user)

        html = staff_client.get(f"/console/jobs/{job.pk}/").content.decode()
        photos = chart_rows(html, "Photos per day")
        hours = chart_rows(html, "Hours per day")
        today, two_days_ago = f"{timezone.now():%Y-%m-%d}", f"{timezone.now() - timedelta(days=2):%Y-%m-%d}"
        assert len(photos) == len(hours) == 30
        assert photos[two_days_ago] == str(first.batch_tasks.count())
        assert photos[today] == str(second.batch_tasks.count())
        assert sum(int(n) for n in photos.values()) == Annotation.objects.filter(batch_task__batch__job=job).count()
        assert hours[two_days_ago] == "1.50"
        assert hours[today] == "1.25"  # 45 + 30 minutes
        assert {v for day, v in hours.items() if day not in (today, two_days_ago)} == {"0"}
        assert html.count('role="img"') == 2


@pytest.mark.django_db
def test_the_job_page_reads_in_as_many_queries_with_more_batches_and_days(
        staff_client: Client, sample: Path, staff: User) -> None:  # noqa: F811
    def queries(job: Job) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(f"/console/jobs/{job.pk}/").status_code == 200
        return len(captured)

    big, _ = jobs.job_create(name="Big", client="c", instructions="i",
                             specs=jobs.specs_from_manifest(sample / "manifest.json"), image_source=str(sample),
                             actor=None, batch_size=1)
    jobs.batches_cut(job=big)
    big.batches.update(published_at=timezone.now())
    batches = list(big.batches.order_by("number"))

    def work(batch: Batch, days_ago: int) -> None:
        holder = contractor_in_state(OnboardingState.ACTIVE)
        with time_machine.travel(timezone.now() - timedelta(days=days_ago + 1), tick=False):
            held = batch_assign(batch=batch, contractor=holder, actor=staff)
        _annotate(held, holder, days_ago=days_ago)
        time_entry_create(contractor=holder, batch=batch, actor=holder.user,
                          start=timezone.now() - timedelta(days=days_ago, hours=1),
                          end=timezone.now() - timedelta(days=days_ago, minutes=30))

    work(batches[0], 0)
    one_day = queries(big)
    for days_ago, batch in enumerate(batches[1:4], start=1):
        work(batch, days_ago)
    handed = Batch.objects.get(pk=batches[1].pk)
    batch_hand_in(batch=handed, contractor=handed.assigned_to)
    assert Annotation.objects.filter(batch_task__batch__job=big).dates("ls_created_at", "day").count() == 4
    assert queries(big) == one_day


@pytest.mark.django_db
def test_the_progress_json_answers_staff_only_and_follows_the_work(
        staff_client: Client, job: Job, staff: User) -> None:  # noqa: F811
    url = f"/console/jobs/{job.pk}/progress.json"
    assert Client().get(url).status_code in (302, 403)
    contractor_client, _ = contractor_signed_in("ana@example.test")
    assert contractor_client.get(url).status_code in (302, 403, 404)
    assert staff_client.get("/console/jobs/999999/progress.json").status_code == 404

    data = staff_client.get(url).json()
    batches = job.batches.count()
    assert data["bars"]["published"] == {"n": batches, "of": batches, "pct": 100}
    assert data["bars"]["annotated"]["n"] == 0
    assert not data["publishing"]

    job.batches.filter(number__gt=1).update(published_at=None)  # as if publishing were still running
    ana = contractor_in_state(OnboardingState.ACTIVE)
    _annotate(batch_assign(batch=job.batches.get(number=1), contractor=ana, actor=staff), ana)
    data = staff_client.get(url).json()
    assert data["bars"]["published"] == {"n": 1, "of": batches, "pct": 100 // batches}
    assert data["publishing"]
    assert data["running"]
    assert data["bars"]["annotated"]["n"] == job.batches.get(number=1).batch_tasks.count()
    html = staff_client.get(f"/console/jobs/{job.pk}/").content.decode()
    assert f'data-poll="{url}" data-running="1"' in html


@pytest.mark.django_db
def test_the_scoring_bar_counts_the_annotations_scored_on_their_photos_current_gold(
        staff_client: Client, job: Job, staff: User) -> None:  # noqa: F811
    ana = contractor_in_state(OnboardingState.ACTIVE)
    work = _annotate(batch_assign(batch=job.batches.get(number=1), contractor=ana, actor=staff), ana)
    on_gold = [a for a in work if a.batch_task.task.gold_result is not None]
    assert on_gold
    url = f"/console/jobs/{job.pk}/progress.json"
    data = staff_client.get(url).json()
    assert data["bars"]["scored"] == {"n": 0, "of": len(on_gold), "pct": 0}
    assert data["scoring"]

    score_annotation(annotation_id=on_gold[0].pk)  # what the scoring task does
    assert staff_client.get(url).json()["bars"]["scored"]["n"] == 1

    task = on_gold[0].batch_task.task
    mask = np.zeros((task.height, task.width), bool)
    mask[10:40, 10:60] = True
    gold_set(task=task, result=[brush_result(mask, label="Scratch", rid="new")], source=GoldSource.IMPORT)
    assert staff_client.get(url).json()["bars"]["scored"]["n"] == 0  # scored on the old gold: to be scored again


@pytest.mark.django_db
def test_a_running_import_moves_on_the_job_page_through_the_one_poller_and_on_its_own_page(
        staff_client: Client, job: Job) -> None:  # noqa: F811
    run = ImportRun.objects.create(job=job, format=ImportFormat.LABEL_STUDIO, file_name="client.json",
                                   upload_path="x", state=ImportState.RUNNING, photos_total=8, photos_checked=3)
    data = staff_client.get(f"/console/jobs/{job.pk}/progress.json").json()
    assert data["imports"][str(run.pk)]["photos_checked"] == 3
    assert data["running"]
    html = staff_client.get(f"/console/jobs/{job.pk}/").content.decode()
    assert f'data-scope="imports.{run.pk}"' in html
    assert html.count("data-poll=") == 1
    own = staff_client.get(f"/console/imports/{run.pk}/").content.decode()
    assert f'data-poll="/console/imports/{run.pk}.json" data-running="1"' in own
    assert staff_client.get(f"/console/imports/{run.pk}.json").json()["running"]

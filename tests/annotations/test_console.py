"""The staff console: who may see it, creating a job from the sample, progress CSV, review decisions."""
import csv
import io
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image

from annotations.defects import format_classes
from annotations.models import (
    Annotation,
    Batch,
    BatchState,
    BatchTask,
    Job,
    QualityScore,
    Review,
    ReviewState,
    Task,
)
from annotations.services import jobs
from annotations.templatetags.scores import score as score_filter
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.factories import ContractorFactory, UserFactory, batch_held_by, contractor_in_state, job_plain, staff_user
from workforce.models import OnboardingState

URLS = ["/console/", "/console/jobs/new/", "/console/review/", "/console/stale/"]


@pytest.fixture
def staff_client() -> Client:
    client = Client()
    client.force_login(staff_user(role="superuser", email="lead@labelcrew.test"))
    return client


def _create_job(staff_client: Client, sample_dir: Path, classes: str = format_classes()) -> Job:
    response = staff_client.post("/console/jobs/new/", {
        "name": "Screens", "client": "Refurb Co", "instructions": "Paint every defect.", "classes": classes,
        "source_kind": "manifest", "source_path": str(sample_dir / "manifest.json"), "batch_size": 2,
        "gold_rate": "0.5", "quality_threshold": "0.5", "hourly_rate": "2.00", "weekly_cap_hours": "20",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    return Job.objects.get()


@pytest.mark.django_db
@pytest.mark.parametrize("url", URLS)
def test_console_pages_need_staff(client: Client, url: str) -> None:
    assert client.get(url)["Location"].startswith("/accounts/login/")
    contractor = contractor_in_state(OnboardingState.ACTIVE)
    client.force_login(contractor.user)
    assert client.get(url).status_code == 403


@pytest.mark.django_db
def test_staff_create_a_job_from_the_sample_and_download_its_progress(staff_client: Client, sample: Path) -> None:  # noqa: F811
    job = _create_job(staff_client, sample)
    assert job.tasks.count() == 5
    assert job.batches.count() == 3
    page = staff_client.get(f"/console/jobs/{job.pk}/").content.decode()
    assert "#1" in page
    assert "#3" in page
    assert "Screens" in staff_client.get("/console/").content.decode()
    response = staff_client.get(f"/console/jobs/{job.pk}/progress.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["batch", "batch_state", "contractor_email"]
    assert len(rows) - 1 == BatchTask.objects.filter(batch__job=job).count()
    assert staff_client.get(f"/console/jobs/{job.pk}/capacity/").status_code == 200


@pytest.mark.django_db
def test_text_starting_a_formula_comes_out_quoted_in_the_progress_csv(staff_client: Client) -> None:
    # The CSV's free text is the holder's email and the photo's key; either may start with "=".
    holder = ContractorFactory(user=UserFactory(email="=cmd@example.com"))
    job = job_plain(name="=HYPERLINK(\"http://evil.example\")")
    task = Task.objects.create(job=job, key='=HYPERLINK("http://evil.example")', image_path="none.jpg",
                               image_sha256="0" * 64, width=8, height=8)
    BatchTask.objects.create(batch=batch_held_by(holder, job=job), task=task)
    response = staff_client.get(f"/console/jobs/{job.pk}/progress.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][2] == "'=cmd@example.com"
    assert rows[1][3] == "'=HYPERLINK(\"http://evil.example\")"


@pytest.mark.django_db
def test_reviewer_accepts_then_promotes_to_gold_and_rework_needs_a_comment(
    staff_client: Client, sample: Path,  # noqa: F811
) -> None:
    job = _create_job(staff_client, sample)
    bt = BatchTask.objects.filter(batch__job=job, is_gold=False).first()
    result = bt.task.prediction["result"]
    bt.task.gold_result = None
    bt.task.save()
    annotation = Annotation.objects.create(ls_annotation_id=9001, batch_task=bt, result=result, lead_time=42.0)
    assert "#9001" in staff_client.get("/console/review/").content.decode()
    refused = staff_client.post(f"/console/review/{annotation.pk}/", {"decision": "rework", "comment": ""})
    assert "say what to fix" in refused.content.decode()
    staff_client.post(f"/console/review/{annotation.pk}/", {"decision": "accept"})
    staff_client.post(f"/console/review/{annotation.pk}/", {"decision": "promote"})
    annotation.refresh_from_db()
    bt.task.refresh_from_db()
    assert annotation.review_state == ReviewState.ACCEPTED
    assert bt.task.gold_result == result
    assert [r.decision for r in Review.objects.order_by("id")] == ["accept", "promote"]
    assert "#9001" not in staff_client.get("/console/review/").content.decode()


@pytest.mark.django_db
def test_reviewers_see_the_annotation_over_the_photo_against_prediction_and_gold(
    staff_client: Client, sample: Path,  # noqa: F811
) -> None:
    job = _create_job(staff_client, sample)
    bt = BatchTask.objects.filter(batch__job=job, is_gold=False).first()
    # The contractor kept only the first mask of the pre-annotation.
    annotation = Annotation.objects.create(ls_annotation_id=9002, batch_task=bt,
                                           result=bt.task.prediction["result"][:1], lead_time=60.0)
    page = staff_client.get(f"/console/review/{annotation.pk}/").content.decode()
    assert f"/console/review/{annotation.pk}/against-prediction.jpg" in page
    assert f"/console/review/{annotation.pk}/against-gold.jpg" in page
    for against in ("prediction", "gold"):
        response = staff_client.get(f"/console/review/{annotation.pk}/against-{against}.jpg")
        assert response["Content-Type"] == "image/jpeg"
        image = Image.open(io.BytesIO(response.content))
        assert image.size == (640, 427)  # the sample photo, not enlarged
    pixels = np.asarray(Image.open(io.BytesIO(
        staff_client.get(f"/console/review/{annotation.pk}/against-prediction.jpg").content)), dtype=int)
    blue_dominant = (pixels[..., 2] - pixels[..., :2].max(axis=2)) > 40
    assert blue_dominant.any()  # the masks the contractor dropped show as misses
    assert staff_client.get(f"/console/review/{annotation.pk}/against-nothing.jpg").status_code == 404


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(captured)


def _job(sample_dir: Path, name: str, batch_size: int) -> Job:
    job, _ = jobs.job_create(name=name, client="Refurb Co", instructions="",
                             specs=jobs.specs_from_manifest(sample_dir / "manifest.json"),
                             image_source=str(sample_dir), actor=None, batch_size=batch_size)
    jobs.batches_cut(job=job)
    for n, bt in enumerate(BatchTask.objects.filter(batch__job=job).order_by("id")):
        Annotation.objects.create(ls_annotation_id=job.pk * 1000 + n, batch_task=bt, result=[], lead_time=1.0)
    return job


@pytest.mark.django_db
def test_console_pages_cost_the_same_queries_for_few_rows_as_for_many(
    staff_client: Client, sample: Path,  # noqa: F811
) -> None:
    small = _job(sample, "Small", batch_size=5)  # 1 batch
    few = [_queries(staff_client, url) for url in
           ["/console/", f"/console/jobs/{small.pk}/", f"/console/jobs/{small.pk}/progress.csv", "/console/review/"]]
    big = _job(sample, "Big", batch_size=1)  # 5 batches, more annotations, a second job
    many = [_queries(staff_client, url) for url in
            ["/console/", f"/console/jobs/{big.pk}/", f"/console/jobs/{big.pk}/progress.csv", "/console/review/"]]
    assert big.batches.count() == 5
    assert many == few


@pytest.mark.parametrize(("value", "shown"), [
    (1.0, "1.00"), (Decimal("0.9600"), "0.96"), (0.455, "0.46"), ("0.5", "0.50"), (None, "—"), ("", "—"),
    ("abc", "—"), (float("nan"), "—"),
])
def test_every_score_on_the_console_reads_with_two_decimals(value: object, shown: str) -> None:
    assert score_filter(value) == shown


def _gold_answers_handed_in(score: Callable[..., QualityScore], n: int) -> list[QualityScore]:
    ana = contractor_in_state(OnboardingState.ACTIVE)
    made = [score(ana, 0.5 + i / 100, rubber_stamp=i % 2 == 0) for i in range(n)]
    Batch.objects.filter(assigned_to=ana).update(state=BatchState.HANDED_IN)  # the holder's work, now reviewable
    return made


def _queue_row(page: str, annotation: Annotation) -> str:
    return page.split(f">#{annotation.ls_annotation_id}<")[1].split("</tr>")[0]


@pytest.mark.django_db
def test_the_review_queue_shows_the_score_on_gold_and_the_rubber_stamp_flag(
        staff_client: Client, score: Callable[..., QualityScore]) -> None:
    stamped = score(contractor_in_state(OnboardingState.ACTIVE), 0.96, rubber_stamp=True)
    careful = score(stamped.annotation.contractor, 1.0)
    Batch.objects.update(state=BatchState.HANDED_IN)
    page = staff_client.get("/console/review/").content.decode()
    assert ">0.96<" in _queue_row(page, stamped.annotation)
    assert "pre-annotation submitted unchanged on gold" in _queue_row(page, stamped.annotation)
    assert ">1.00<" in _queue_row(page, careful.annotation)
    assert "pre-annotation submitted unchanged on gold" not in _queue_row(page, careful.annotation)


@pytest.mark.django_db
def test_the_review_queue_costs_the_same_queries_for_3_and_30_scored_gold_answers(
        staff_client: Client, score: Callable[..., QualityScore]) -> None:
    _gold_answers_handed_in(score, 3)
    few = _queries(staff_client, "/console/review/")
    made = _gold_answers_handed_in(score, 27)
    many = _queries(staff_client, "/console/review/")
    assert Annotation.objects.count() == 30
    stamped = next(m for m in reversed(made) if m.rubber_stamp)
    assert "pre-annotation submitted unchanged on gold" in _queue_row(
        staff_client.get("/console/review/").content.decode(), stamped.annotation)
    assert many == few


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["", "abc", "-1", "1e3"])
def test_assign_and_reclaim_answer_404_to_a_batch_id_that_is_not_a_number(staff_client: Client, value: str) -> None:
    assert staff_client.post("/console/assign/", {"batch": value, "contractor": value}).status_code == 404
    assert staff_client.post("/console/stale/", {"batch": value}).status_code == 404


def _listed(page: str, annotations: list[Annotation]) -> list[int]:
    """The positions on the page of the annotations that appear on it, as indexes into `annotations` in page order."""
    found = [(page.index(f">#{a.ls_annotation_id}<"), i) for i, a in enumerate(annotations)
             if f">#{a.ls_annotation_id}<" in page]
    return [i for _, i in sorted(found)]


@pytest.mark.django_db
def test_the_review_queue_finds_by_contractor_and_photo_filters_by_flag_and_job_and_orders(
        staff_client: Client, score: Callable[..., QualityScore]) -> None:
    ana = contractor_in_state(OnboardingState.ACTIVE, display_name="Ana Reyes")
    ben = contractor_in_state(OnboardingState.ACTIVE, display_name="Ben Okafor")
    made = [score(ana, 0.9, minutes=1), score(ben, 0.8, minutes=2, rubber_stamp=True), score(ana, 0.7, minutes=3)]
    Batch.objects.update(state=BatchState.HANDED_IN)
    answers = [m.annotation for m in made]
    assert _listed(staff_client.get("/console/review/").content.decode(), answers) == [0, 1, 2]
    assert _listed(staff_client.get("/console/review/?order=newest").content.decode(), answers) == [2, 1, 0]
    page = staff_client.get("/console/review/?q=reyes").content.decode()
    assert _listed(page, answers) == [0, 2]
    assert 'data-testid="list-count">2 waiting' in page
    assert _listed(staff_client.get(f"/console/review/?q={ben.user.email.upper()}").content.decode(), answers) == [1]
    task_key = answers[0].batch_task.task.key
    on_task = [i for i, a in enumerate(answers) if a.batch_task.task.key == task_key]
    assert _listed(staff_client.get(f"/console/review/?q={task_key}").content.decode(), answers) == on_task
    assert _listed(staff_client.get("/console/review/?flag=unchanged").content.decode(), answers) == [1]
    assert _listed(staff_client.get("/console/review/?flag=not-holder").content.decode(), answers) == []
    other = job_plain()
    assert _listed(staff_client.get(f"/console/review/?job={other.pk}").content.decode(), answers) == []
    job = answers[0].batch_task.batch.job
    assert _listed(staff_client.get(f"/console/review/?job={job.pk}").content.decode(), answers) == [0, 1, 2]
    # A value the form refuses shows the whole queue, not an error.
    response = staff_client.get("/console/review/?job=abc&order=sideways&flag=odd")
    assert response.status_code == 200
    assert _listed(response.content.decode(), answers) == [0, 1, 2]


@pytest.mark.django_db
def test_the_review_queue_pages_50_at_a_time(staff_client: Client, score: Callable[..., QualityScore]) -> None:
    made = _gold_answers_handed_in(score, 51)
    first = staff_client.get("/console/review/").content.decode()
    second = staff_client.get("/console/review/?page=2").content.decode()
    answers = [m.annotation for m in made]
    assert len(_listed(first, answers)) == 50
    assert len(_listed(second, answers)) == 1
    assert "Page 1 of 2" in first


def _stale(contractor: object, job: Job, hours_ago: int) -> Batch:
    """A batch of `job` held by the contractor since `hours_ago`, past its deadline (deadline_hours after)."""
    batch = batch_held_by(contractor, job=job)
    assigned = batch.assigned_at - timedelta(hours=hours_ago)
    Batch.objects.filter(pk=batch.pk).update(assigned_at=assigned,
                                             deadline_at=assigned + timedelta(hours=job.deadline_hours))
    return batch


@pytest.mark.django_db
def test_stale_work_filters_by_job_and_holder_and_pages(staff_client: Client) -> None:
    screens, phones = job_plain(), job_plain()
    ana = contractor_in_state(OnboardingState.ACTIVE, display_name="Ana Reyes")
    ben = contractor_in_state(OnboardingState.ACTIVE, display_name="Ben Okafor")
    late = [_stale(ana, screens, 500), _stale(ben, phones, 400)]
    batch_held_by(ana, job=screens)  # in time: never listed
    page = staff_client.get("/console/stale/").content.decode()
    assert 'data-testid="list-count">2 stale batches' in page
    assert f'name="batch" value="{late[0].pk}"' in page
    assert f'name="batch" value="{late[1].pk}"' in page
    page = staff_client.get(f"/console/stale/?job={phones.pk}").content.decode()
    assert f'value="{late[0].pk}"' not in page
    assert f'name="batch" value="{late[1].pk}"' in page
    page = staff_client.get("/console/stale/?q=reyes").content.decode()
    assert f'name="batch" value="{late[0].pk}"' in page
    assert f'value="{late[1].pk}"' not in page
    for _ in range(50):
        _stale(ben, phones, 300)
    assert "Page 1 of 2" in staff_client.get("/console/stale/").content.decode()
    assert 'data-testid="list-count">52 stale batches' in staff_client.get("/console/stale/?page=2").content.decode()


@pytest.mark.django_db
def test_stale_work_costs_the_same_queries_for_2_and_40_stale_batches(staff_client: Client) -> None:
    job = job_plain()
    people = [contractor_in_state(OnboardingState.ACTIVE) for _ in range(2)]
    for c in people:
        _stale(c, job, 500)
    few = _queries(staff_client, "/console/stale/")
    for i in range(38):
        _stale(people[i % 2], job, 500)
    assert _queries(staff_client, "/console/stale/") == few

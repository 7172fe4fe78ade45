"""The qualification round end to end: real Label Studio, a real Celery worker, PostgreSQL."""
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.test import Client

from annotations import labelstudio
from annotations.models import Batch, BatchKind, BatchState, BatchTask, Job, LabelStudioAccount, QualityScore
from annotations.selectors.qualification import qualification_round
from annotations.services import jobs, qualification
from annotations.services.sync import sync_poll
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.factories import UserFactory, contractor_in_state, staff_user
from workforce.models import Contractor, OnboardingState

pytestmark = pytest.mark.labelstudio
WAIT = 90


@pytest.fixture
def qjob(sample: Path, label_studio: str) -> Iterator[Job]:  # noqa: F811
    """The five-photo sample job (all with gold), running a round of three; its projects go afterwards."""
    job, _ = jobs.job_create(name=f"Qualify {uuid.uuid4().hex[:6]}", client="Refurb Co", instructions="Paint.",
                             specs=jobs.specs_from_manifest(sample / "manifest.json"), image_source=str(sample),
                             actor=None)
    qualification.job_qualification_set(job=job, tasks=3)
    yield job
    for project_id in Batch.objects.filter(job=job, ls_project_id__isnull=False).values_list("ls_project_id",
                                                                                              flat=True):
        labelstudio.project_delete(project_id=project_id)


def _wait_for(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT} s for {what}"
        time.sleep(0.5)


def _annotate_in_studio(bt: BatchTask, ls_user_id: int, result: list) -> None:
    """What the applicant does in Label Studio: submit an answer on the task (made here with the admin token
    on their behalf; Label Studio keeps completed_by as given)."""
    answer = httpx.post(f"{settings.LABEL_STUDIO_URL}/api/tasks/{bt.ls_task_id}/annotations/", timeout=30,
                        headers={"Authorization": f"Token {settings.LABEL_STUDIO_API_KEY}"},
                        json={"result": result, "completed_by": ls_user_id, "lead_time": 300.0})
    assert answer.status_code == 201, answer.text


@pytest.mark.django_db(transaction=True)
def test_an_applicant_labels_the_round_in_label_studio_and_gets_a_score(qjob: Job, celery_worker: str) -> None:
    email = f"qualify-{uuid.uuid4().hex[:10]}@example.org"
    applicant = contractor_in_state(OnboardingState.QUALIFYING, user=UserFactory(email=email))

    # The worker makes the Label Studio user and the round, and publishes it.
    _wait_for(lambda: Batch.objects.filter(kind=BatchKind.QUALIFICATION, assigned_to=applicant,
                                           published_at__isnull=False).exists(), "the published round")
    batch = qualification.qualification_batch_of(applicant)
    account = LabelStudioAccount.objects.get(contractor=applicant)
    in_studio = labelstudio.call(lambda ls: list(ls.tasks.list(project=batch.ls_project_id, fields="all")),
                                 what="read the round's tasks")
    rows = list(batch.batch_tasks.select_related("task").order_by("id"))
    assert sorted(t.id for t in in_studio) == sorted(bt.ls_task_id for bt in rows)
    assert len(rows) == 3
    client = Client()
    client.force_login(applicant.user)
    dashboard = client.get("/dashboard/").content.decode()
    assert f"/projects/{batch.ls_project_id}/data" in dashboard
    assert "0 of 3 photos scored" in dashboard

    # Two photos exactly as gold, one with the model's pre-annotation submitted unchanged.
    for bt in rows[:2]:
        _annotate_in_studio(bt, account.ls_user_id, bt.task.gold_result)
    _annotate_in_studio(rows[2], account.ls_user_id, rows[2].task.prediction["result"])
    assert sync_poll() >= 3  # commits: the worker scores each one

    _wait_for(lambda: Contractor.objects.get(pk=applicant.pk).qualification_score is not None, "the round's score")
    scores = list(QualityScore.objects.filter(annotation__batch_task__batch=batch)
                  .order_by("annotation__batch_task_id").values_list("macro_iou", flat=True))
    assert scores[:2] == [1.0, 1.0]
    assert 0 < scores[2] < 1
    applicant.refresh_from_db()
    expected = Decimal(str(statistics.fmean(scores))).quantize(Decimal("0.0001"))
    assert applicant.qualification_score == expected
    assert applicant.state == OnboardingState.QUALIFYING
    found = qualification_round(contractor_id=applicant.pk)
    assert found.complete
    assert found.batch.state == BatchState.HANDED_IN

    staff = Client()
    staff.force_login(staff_user())
    page = staff.get(f"/staff/applicants/{applicant.pk}/").content.decode()
    assert "3 of 3 photos scored" in page
    assert f"{statistics.fmean(scores):.2f}" in page

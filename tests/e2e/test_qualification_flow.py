"""The qualification round in real Chromium: the worker opens it in the real Label Studio, the applicant's
answers there are synced and scored, the applicant reads the score and the overlays, staff approve."""
import re
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from annotations import labelstudio
from annotations.models import Batch, BatchKind, BatchState, BatchTask, Job, LabelStudioAccount, QualityScore
from annotations.services import jobs, qualification
from annotations.services.sync import sync_poll
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.e2e.test_console_flow import sign_in_as_staff
from tests.factories import TEST_PASSWORD, UserFactory, contractor_in_state
from workforce.models import Contractor, OnboardingState

WAIT = 90


@pytest.fixture
def qjob(sample: Path, label_studio: str) -> Iterator[Job]:  # noqa: F811
    job, _ = jobs.job_create(name=f"Qualify {uuid.uuid4().hex[:6]}", client="Refurb Co", instructions="Paint.",
                             specs=jobs.specs_from_manifest(sample / "manifest.json"), image_source=str(sample),
                             actor=None)
    qualification.job_qualification_set(job=job, tasks=3)
    yield job
    for project_id in Batch.objects.filter(job=job, ls_project_id__isnull=False).values_list("ls_project_id",
                                                                                              flat=True):
        labelstudio.project_delete(project_id=project_id)


def wait_for(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {WAIT} s for {what}; see var/test-logs/celery-worker.log")
        time.sleep(0.5)


def answer_in_label_studio(bt: BatchTask, ls_user_id: int, result: list) -> None:
    """The applicant's submit in Label Studio (the admin token posts it as them; completed_by is kept)."""
    answer = httpx.post(f"{settings.LABEL_STUDIO_URL}/api/tasks/{bt.ls_task_id}/annotations/", timeout=30,
                        headers={"Authorization": f"Token {settings.LABEL_STUDIO_API_KEY}"},
                        json={"result": result, "completed_by": ls_user_id, "lead_time": 240.0})
    assert answer.status_code == 201, answer.text


@pytest.mark.labelstudio
@pytest.mark.django_db(transaction=True)
def test_an_applicant_takes_the_round_reads_the_score_and_staff_approve(
    qjob: Job, celery_worker: str, page: Page, browser: Browser, live_server: LiveServer, artifacts: Path,
    tmp_path: Path,
) -> None:
    email = f"round-{uuid.uuid4().hex[:8]}@example.org"
    applicant = contractor_in_state(OnboardingState.QUALIFYING, user=UserFactory(email=email),
                                    display_name="Amani")
    EmailAddress.objects.create(user=applicant.user, email=email, verified=True, primary=True)  # allauth's record
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email:", exact=True).fill(email)
    page.get_by_label("Password:", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_test_id("next-step")).to_contain_text("qualification round in Label Studio")

    # The worker makes the Label Studio user and the round and publishes it; the dashboard then links it.
    wait_for(lambda: Batch.objects.filter(kind=BatchKind.QUALIFICATION, assigned_to=applicant,
                                          published_at__isnull=False).exists(), "the published round")
    batch = qualification.qualification_batch_of(applicant)
    page.reload()
    round_card = page.get_by_role("region", name="Qualification round")
    expect(round_card.get_by_test_id("qualification-progress")).to_have_text("0 of 3 photos scored")
    project = f"{settings.LABEL_STUDIO_PUBLIC_URL}/projects/{batch.ls_project_id}/data"  # through the gateway
    link = page.get_by_role("region", name="My batches").get_by_role("link", name=re.compile("qualification round"))
    expect(link).to_have_attribute("href", project)
    expect(round_card.get_by_role("link", name="Open the qualification round in Label Studio")).to_have_attribute(
        "href", project)
    expect(page.get_by_role("region", name="Label Studio")).to_contain_text(email)

    # Two photos as gold, the third with the model's wrong pre-annotation submitted unchanged.
    account = LabelStudioAccount.objects.get(contractor=applicant)
    rows = list(batch.batch_tasks.select_related("task").order_by("id"))
    for bt in rows[:2]:
        answer_in_label_studio(bt, account.ls_user_id, bt.task.gold_result)
    answer_in_label_studio(rows[2], account.ls_user_id, rows[2].task.prediction["result"])
    sync_poll()
    wait_for(lambda: Contractor.objects.get(pk=applicant.pk).qualification_score is not None, "the round's score")
    mean = statistics.fmean(QualityScore.objects.filter(annotation__batch_task__batch=batch)
                            .values_list("macro_iou", flat=True))

    page.reload()
    expect(round_card.get_by_test_id("qualification-progress")).to_have_text("3 of 3 photos scored")
    expect(round_card.get_by_test_id("qualification-score")).to_have_text(f"{mean:.2f}")
    expect(round_card.get_by_test_id("qualification-outcome")).to_contain_text(
        "Passed" if mean >= settings.QUALITY_QUALIFICATION_PASS else "Below the pass mark")
    expect(round_card).to_contain_text("Your qualification round is complete. Staff now decide")
    page.screenshot(path=artifacts / "qualification-dashboard.png", full_page=True)

    page.get_by_role("link", name="Scores and overlays of each reference photo").click()
    scored = page.get_by_role("region", name="Scored photos").get_by_role("row").filter(
        has_text="qualification round")
    expect(scored).to_have_count(3)
    expect(scored.filter(has_text="pre-annotation submitted unchanged")).to_have_count(1)
    overlay = page.request.get(live_server.url + scored.first.get_by_role("link", name="View").get_attribute("href"))
    assert overlay.status == 200
    assert overlay.headers["content-type"] == "image/jpeg"
    page.screenshot(path=artifacts / "qualification-quality.png", full_page=True)

    # Staff read the round on the applicant's page and approve; the round closes.
    staff_context = browser.new_context(viewport={"width": 1280, "height": 900})
    staff = staff_context.new_page()
    try:
        sign_in_as_staff(staff, live_server, tmp_path)
        staff.goto(f"{live_server.url}/staff/applicants/{applicant.pk}/")
        card = staff.get_by_test_id("qualification")
        expect(card.get_by_test_id("qualification-progress")).to_have_text("3 of 3 photos scored")
        expect(card.get_by_test_id("qualification-score")).to_have_text(f"{mean:.2f}")
        # Nothing is preselected; with every photo scored, approving asks for no confirmation.
        expect(staff.get_by_label("Action")).to_have_value("")
        expect(staff.get_by_label(re.compile("qualification photos are not scored"))).to_have_count(0)
        staff.get_by_label("Action").select_option(label="Approve")
        staff.get_by_label("Reason").fill("Qualification round scored; overlays checked.")
        staff.get_by_role("button", name="Apply", exact=True).click()
        expect(staff.locator("ul.messages")).to_contain_text("now approved")
        staff.screenshot(path=artifacts / "qualification-staff.png", full_page=True)
    finally:
        staff_context.close()
    applicant.refresh_from_db()
    assert applicant.state == OnboardingState.APPROVED
    wait_for(lambda: Batch.objects.get(pk=batch.pk).state == BatchState.DONE, "the round to close")

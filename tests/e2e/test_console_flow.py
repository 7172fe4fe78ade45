"""The staff console in real Chromium: a job from the sample, published by the Celery worker to the real
Label Studio, auto-assigned, annotated there, synced back, reviewed and promoted to gold."""
import re
import time
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import pytest
from allauth.mfa.models import Authenticator
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from annotations import labelstudio
from annotations.models import Annotation, Batch, BatchTask, Job, LabelStudioAccount, ReviewState
from annotations.services.accounts import label_studio_account_ensure
from annotations.services.hand_in import batch_hand_in
from annotations.services.sync import sync_poll
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.factories import UserFactory, authenticator_activate, contractor_in_state, totp_code
from workforce.models import Contractor, OnboardingState, User

PASSWORD = "plum-orbit-canvas-42"
STAFF_EMAIL = "ops@example.org"
PROJECT = re.compile(r"^project \d+$")
AUTO_ASSIGNED = re.compile(r"Auto-assigned (\d+) batch\(es\)\.")


def sign_in_as_staff(page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    password_file = tmp_path / "staff-password"
    password_file.write_text(PASSWORD)
    call_command("ensure_staff_user", "--email", STAFF_EMAIL, "--password-file", str(password_file))
    secret = staff_authenticator(STAFF_EMAIL)
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email:", exact=True).fill(STAFF_EMAIL)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    type_the_code(page, secret)
    expect(page).to_have_url(re.compile(r"/staff/applicants/$"))


def staff_authenticator(email: str) -> str:
    """Give the staff user (an admin: a second factor is required) a fresh authenticator app; returns its secret."""
    user = User.objects.get(email=email.lower())
    Authenticator.objects.filter(user=user).delete()
    return authenticator_activate(user)


def type_the_code(page: Page, secret: str) -> None:
    """allauth's code step after the password: the authenticator app's current code."""
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    page.get_by_placeholder("Code").fill(totp_code(secret))
    page.get_by_role("button", name="Sign In").click()


def label_studio_account(contractor: Contractor, *, seconds: float = 30) -> LabelStudioAccount:
    """The contractor's Label Studio account. Becoming qualifying and active each queue
    ensure_label_studio_account in the worker; a signup of the same email at the same moment makes
    Label Studio answer 500, so let the worker's run finish first, then ensure (idempotent)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if LabelStudioAccount.objects.filter(contractor=contractor, active=True).exists():
            break
        time.sleep(0.5)
    for attempt in range(3):
        try:
            return label_studio_account_ensure(contractor=contractor)
        except labelstudio.LabelStudioUnavailable:
            if attempt == 2:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


def wait_until_published(page: Page, job: Job, *, seconds: float = 40) -> None:
    """Reload the job page until every batch row links its Label Studio project (the link shows once
    every task is imported) and the database agrees that every batch is published."""
    batches = job.batches.count()
    rows = page.get_by_role("row").filter(has_text=re.compile(r"^#\d+"))
    deadline = time.monotonic() + seconds
    while True:
        expect(rows).to_have_count(batches)
        if (page.get_by_role("link", name=PROJECT).count() == batches
                and not job.batches.filter(published_at__isnull=True).exists()):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"Not every batch was published within {seconds} s; see var/test-logs/celery-worker.log")
        time.sleep(1)
        page.reload()


@pytest.mark.labelstudio
@pytest.mark.django_db(transaction=True)
def test_staff_create_publish_assign_and_review_a_job_through_the_console(
    browser: Browser, live_server: LiveServer, celery_worker: str, label_studio: str, artifacts: Path,
    sample: Path, tmp_path: Path,  # noqa: F811
) -> None:
    # 1. An active contractor (contractor_in_state approves with qualification score 0.9) with a Label Studio user.
    contractor = contractor_in_state(
        OnboardingState.ACTIVE, user=UserFactory(email=f"c-{uuid4().hex[:10]}@example.org"))
    assert contractor.qualification_score >= Decimal("0.5")
    account = label_studio_account(contractor)

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        # 2. Sign in as staff and create a job from the sample manifest.
        sign_in_as_staff(page, live_server, tmp_path)
        page.get_by_role("link", name="Console", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Jobs")
        page.get_by_role("link", name="New job").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("New job")
        page.get_by_label("Name", exact=True).fill("Screens E2E")
        page.get_by_label("Client", exact=True).fill("Refurb Co")
        page.get_by_label("Instructions", exact=True).fill("Paint every defect.")
        page.get_by_role("radio", name="A sample job's manifest.json").check()
        page.get_by_label("Path", exact=True).fill(str(sample / "manifest.json"))
        page.get_by_label("Batch size", exact=True).fill("2")
        page.get_by_label("Gold rate", exact=True).fill("0.5")
        page.get_by_role("button", name="Create job and publish batches").click()

        expect(page).to_have_url(re.compile(r"/console/jobs/\d+/$"))
        expect(page.get_by_role("heading", level=1)).to_contain_text("Screens E2E")
        expect(page.locator("ul.messages")).to_contain_text("5 new photo(s), 3 new batch(es)")
        job = Job.objects.get(name="Screens E2E")
        assert job.quality_threshold == Decimal("0.5")
        assert job.batches.count() == 3
        wait_until_published(page, job)
        assert not BatchTask.objects.filter(batch__job=job, ls_task_id__isnull=True).exists()
        page.screenshot(path=artifacts / "console-job.png", full_page=True)

        # 3. The capacity board: auto-assign gives the contractor at least one batch.
        page.get_by_role("link", name="Capacity board and assignment").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Capacity board")
        page.get_by_role("button", name="Auto-assign open batches").click()
        expect(page.locator("ul.messages")).to_contain_text(AUTO_ASSIGNED)
        assigned = int(AUTO_ASSIGNED.search(page.locator("ul.messages").inner_text()).group(1))
        assert assigned >= 1
        row = page.get_by_role("row").filter(has=page.get_by_role("cell", name=str(contractor), exact=True))
        expect(row).to_have_count(1)
        # Column 9 of the board is "Open batches".
        open_batches = int(row.get_by_role("cell").nth(8).inner_text())
        assert open_batches >= 1
        page.screenshot(path=artifacts / "console-capacity.png", full_page=True)

        # 4. The contractor annotates one task of a batch they hold, in Label Studio; the poll brings it in.
        mine = BatchTask.objects.filter(batch__job=job, batch__assigned_to=contractor)
        bt = (mine.filter(is_gold=False, ls_task_id__isnull=False).select_related("task", "batch")
              .order_by("batch__number", "id").first())
        assert bt is not None, list(mine.values("batch__number", "is_gold", "ls_task_id"))
        held = bt.batch
        result = bt.task.prediction["result"]
        made = labelstudio.call(
            lambda ls: ls.annotations.create(id=bt.ls_task_id, result=result, lead_time=300,
                                             completed_by=account.ls_user_id),
            what=f"annotate task {bt.ls_task_id}")
        for other in mine.filter(batch=held).exclude(pk=bt.pk).select_related("task"):  # the rest of the batch
            labelstudio.call(lambda ls, o=other: ls.annotations.create(
                id=o.ls_task_id, result=o.task.prediction["result"], lead_time=60, completed_by=account.ls_user_id),
                what=f"annotate task {other.ls_task_id}")
        assert sync_poll(batch_ids=[held.pk]) >= 1
        batch_hand_in(batch=held, contractor=contractor)  # reviewed once handed in (the dashboard's button)
        annotation = Annotation.objects.get(ls_annotation_id=made.id)
        assert annotation.contractor == contractor
        assert annotation.review_state == ReviewState.PENDING
        assert bt.task.gold_result != annotation.result  # so that promoting it is seen

        # 5. Review: accept, then promote to gold.
        page.get_by_role("link", name="Console", exact=True).click()
        page.get_by_role("link", name=re.compile(r"^Review queue")).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Review queue")
        page.get_by_role("link", name=f"#{made.id}", exact=True).click()
        expect(page).to_have_url(re.compile(rf"/console/review/{annotation.pk}/$"))
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Annotation #{made.id}")
        images = [page.get_by_role("img", name="The annotation compared with the pre-annotation"),
                  page.get_by_role("img", name="The annotation compared with the gold answer")]
        for image in images:
            expect(image).to_be_visible()
            image.scroll_into_view_if_needed()
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
            assert image.evaluate("img => img.naturalWidth") > 0
        page.screenshot(path=artifacts / "console-review.png", full_page=True)
        page.get_by_role("radio", name="Accept", exact=True).check()
        page.get_by_role("button", name="Record decision").click()
        expect(page).to_have_url(re.compile(r"/console/review/$"))
        expect(page.locator("ul.messages")).to_contain_text(f"Annotation {made.id}: accept recorded.")
        expect(page.get_by_role("link", name=f"#{made.id}", exact=True)).to_have_count(0)

        page.goto(f"{live_server.url}/console/review/{annotation.pk}/")
        page.get_by_role("radio", name=re.compile(r"^Promote to gold")).check()
        page.get_by_role("button", name="Record decision").click()
        expect(page.locator("ul.messages")).to_contain_text(f"Annotation {made.id}: promote recorded.")
        annotation.refresh_from_db()
        bt.task.refresh_from_db()
        assert annotation.review_state == ReviewState.ACCEPTED
        assert bt.task.gold_result == annotation.result == result
    finally:
        context.close()
        # 6. The Label Studio projects this job made.
        for project_id in Batch.objects.filter(ls_project_id__isnull=False).values_list("ls_project_id", flat=True):
            labelstudio.project_delete(project_id=project_id)

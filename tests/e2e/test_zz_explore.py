import time
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from django.conf import settings
from playwright.sync_api import Browser

from annotations import labelstudio
from annotations.services import jobs
from annotations.services.accounts import label_studio_account_ensure, label_studio_password
from annotations.services.publishing import batch_publish
from tests.annotations.test_jobs import sample  # noqa: F401
from tests.factories import UserFactory, contractor_in_state
from workforce.models import OnboardingState


@pytest.mark.labelstudio
@pytest.mark.django_db(transaction=True)
def test_explore(browser: Browser, label_studio: str, sample: Path, artifacts: Path) -> None:  # noqa: F811
    job, _ = jobs.job_create(name=f"X {uuid4().hex[:5]}", client="c", instructions="i",
                             specs=jobs.specs_from_manifest(sample / "manifest.json"), image_source=str(sample),
                             actor=None, batch_size=2)
    jobs.batches_cut(job=job)
    batch = batch_publish(batch_id=job.batches.get(number=1).pk)
    c = contractor_in_state(OnboardingState.ACTIVE, user=UserFactory(email=f"x-{uuid4().hex[:6]}@ex.org"))
    account = label_studio_account_ensure(contractor=c)
    password = label_studio_password(account=account)
    bt = batch.batch_tasks.order_by("id").first()
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(20000)
    t0 = time.monotonic()
    page.goto(settings.LABEL_STUDIO_URL + "/user/login/")
    page.screenshot(path=artifacts / "x-login.png")
    page.locator("input[name=email]").fill(c.user.email)
    page.locator("input[name=password]").fill(password)
    page.locator("button[type=submit], input[type=submit]").first.click()
    page.wait_for_load_state("networkidle")
    print("after login", page.url, time.monotonic() - t0)
    page.goto(f"{settings.LABEL_STUDIO_URL}/projects/{batch.ls_project_id}/data?task={bt.ls_task_id}")
    page.wait_for_timeout(8000)
    print("task page", page.url, time.monotonic() - t0)
    page.screenshot(path=artifacts / "x-task.png")
    buttons = page.get_by_role("button").all()
    print([b.inner_text()[:30] for b in buttons][:60])
    (artifacts / "x-task.html").write_text(page.content())
    headers = {"Authorization": f"Token {settings.LABEL_STUDIO_API_KEY}"}
    print(httpx.get(f"{settings.LABEL_STUDIO_URL}/api/projects/{batch.ls_project_id}/", headers=headers).json())
    labelstudio.project_delete(project_id=batch.ls_project_id)

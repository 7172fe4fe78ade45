"""A contractor opens their batch from the dashboard: real Chromium, through the gateway (nginx), in the real
Label Studio UI; they stay signed in to LabelCrew and cannot open someone else's project by its URL."""
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, Response, expect
from pytest_django.live_server_helper import LiveServer

from annotations import labelstudio
from annotations.models import Annotation, Batch, Job
from annotations.services import assignment
from annotations.services.accounts import label_studio_account_ensure
from annotations.services.sync import sync_poll
from tests.annotations.test_gateway import two_published_batches
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.factories import UserFactory, contractor_in_state
from workforce.models import Contractor, OnboardingState

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]


@pytest.fixture
def batches(sample: Path, label_studio: str, gateway: str, settings: object  # noqa: F811
            ) -> Iterator[tuple[Job, Batch, Batch]]:
    """P and Q published, with their webhooks to this session's live server (the gateway fixture made it SITE_URL)."""
    settings.LABEL_STUDIO_WEBHOOK_SECRET = "gateway-e2e-webhook-secret"  # type: ignore[attr-defined]
    job, p, q = two_published_batches(sample)
    yield job, p, q
    for batch in (p, q):
        labelstudio.project_delete(project_id=batch.ls_project_id)


def contractor_holding(batch: Batch) -> Contractor:
    contractor = contractor_in_state(OnboardingState.ACTIVE,
                                     user=UserFactory(email=f"gw-e2e-{uuid.uuid4().hex[:10]}@example.org"))
    label_studio_account_ensure(contractor=contractor)
    assignment.batch_assign(batch=batch, contractor=contractor, actor=None, reason="test")
    return contractor


@pytest.mark.django_db(transaction=True)
def test_contractor_labels_their_batch_through_the_gateway_and_stays_signed_in_to_labelcrew(
        page: Page, live_server: LiveServer, gateway: str, batches: tuple[Job, Batch, Batch],
        artifacts: Path) -> None:
    _, p, q = batches
    contractor = contractor_holding(p)
    refused: list[str] = []

    def note_refusal(response: Response) -> None:
        if "x-labelcrew-refused" in response.headers:
            refused.append(f"{response.request.method} {response.url}: {response.headers['x-labelcrew-refused']}")
            print("refused:", refused[-1])

    page.on("response", note_refusal)
    signed_in = Client()
    signed_in.force_login(contractor.user)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                               "value": signed_in.cookies[settings.SESSION_COOKIE_NAME].value}])
    page.goto(live_server.url + "/dashboard/")

    page.get_by_test_id("label-in-label-studio").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(gateway)}/projects/{p.ls_project_id}/data"), timeout=20_000)
    label_all = page.get_by_role("button", name=re.compile("Label All Tasks", re.I))
    expect(label_all).to_be_visible(timeout=30_000)
    page.screenshot(path=str(artifacts / "gateway-1-data-manager.png"))

    # Label the first photo: the model's pre-annotation is loaded; submit it as the contractor's answer.
    label_all.click()
    submit = page.get_by_test_id("bottombar-submit-button")
    expect(submit).to_be_visible(timeout=30_000)
    page.screenshot(path=str(artifacts / "gateway-2-labeling.png"))
    page.get_by_role("button", name="Close modal").click()  # the job's instructions open with each task
    with page.expect_response(lambda r: re.search(r"/api/tasks/\d+/annotations", r.url) is not None
                              and r.request.method == "POST", timeout=20_000) as posted:
        submit.click()
    assert posted.value.status == 201, posted.value.text()
    ls_annotation_id = posted.value.json()["id"]

    # The annotation made through the gateway arrives in LabelCrew as the contractor's, by Label Studio's webhook;
    # the poll then finds nothing new.
    deadline = time.monotonic() + 15
    while not Annotation.objects.filter(ls_annotation_id=ls_annotation_id).exists():
        assert time.monotonic() < deadline, "the webhook did not bring the annotation within 15 s"
        time.sleep(0.2)
    assert Annotation.objects.get(ls_annotation_id=ls_annotation_id).contractor == contractor
    sync_poll(batch_ids=[p.pk])
    assert Annotation.objects.filter(ls_annotation_id=ls_annotation_id).count() == 1

    # Still signed in to LabelCrew.
    page.goto(live_server.url + "/dashboard/")
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_test_id("label-in-label-studio")).to_be_visible()

    # Another contractor's project by URL, the project list and an export: refused or back to the dashboard.
    answer = page.goto(f"{gateway}/projects/{q.ls_project_id}/data")
    assert answer.status == 403
    expect(page.locator("body")).to_contain_text("Refused by LabelCrew's gateway")
    page.screenshot(path=str(artifacts / "gateway-3-other-project-refused.png"))
    assert page.goto(f"{gateway}/api/projects/{p.ls_project_id}/export").status == 403
    page.goto(f"{gateway}/projects/")
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    print("refused while labelling:", *refused, sep="\n  ")

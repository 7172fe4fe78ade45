"""What the authenticated API fuzz (bench/api_fuzz.py) found, each kept as a test of the request that gave a 500."""
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import current_app
from django.test import override_settings
from rest_framework.test import APIClient

from annotations.models import Batch
from annotations.services import jobs
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.factories import staff_user


@pytest.fixture
def embedded_celery() -> Iterator[None]:
    """Celery as in embedded mode (no broker): a task runs in the request that sends it."""
    before = current_app.conf.task_always_eager, current_app.conf.task_eager_propagates
    current_app.conf.task_always_eager, current_app.conf.task_eager_propagates = True, True
    try:
        yield
    finally:
        current_app.conf.task_always_eager, current_app.conf.task_eager_propagates = before


@pytest.mark.django_db(transaction=True)  # the task is sent after commit, in the request
def test_publishing_in_embedded_mode_without_label_studio_answers_503_naming_it_not_500(
        embedded_celery: None, sample: Path) -> None:  # noqa: F811
    job, _ = jobs.job_create(name="New", client="Refurb Co", instructions="", actor=None, batch_size=2,
                             specs=jobs.specs_from_manifest(sample / "manifest.json"), image_source=str(sample))
    jobs.batches_cut(job=job)
    client = APIClient()
    client.force_login(staff_user(role="operations"))
    with override_settings(LABEL_STUDIO_URL="", LABEL_STUDIO_API_KEY=""):
        response = client.post(f"/api/v1/console/jobs/{job.pk}/publish/")
    assert response.status_code == 503
    assert "Label Studio is not configured" in response.json()["detail"]
    assert not Batch.objects.filter(job=job, published_at__isnull=False).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/payroll/timesheets/%F2%94%B6%A7Q%03/reject/", "/no-such-page/"])
def test_an_unreadable_multipart_body_to_an_unknown_path_is_a_400_naming_the_body(path: str) -> None:
    from django.conf import settings
    from django.test import Client

    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.cookies[settings.CSRF_COOKIE_NAME] = "a" * 32
    part_headers_over_the_limit = b"--B\r\nX-Long: " + b"a" * 2000 + b"\r\n\r\nv\r\n--B--\r\n"
    response = client.generic("POST", path, part_headers_over_the_limit,
                              content_type="multipart/form-data; boundary=B")
    assert response.status_code == 400
    assert response.content.decode().startswith("body: not a readable multipart/form-data body")
    # The same body to a known page was already a 400 (Django's own answer).
    assert client.generic("POST", "/accounts/login/", part_headers_over_the_limit,
                          content_type="multipart/form-data; boundary=B").status_code == 400

"""Gold import and re-scoring from a job's console page."""
import json
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from annotations.models import GoldSource, GoldVersion, Job
from annotations.services import jobs
from annotations.services.gold import gold_current
from annotations.services.publishing import image_url
from tests.annotations.test_gold import _export_item, _task
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.factories import contractor_in_state, staff_user
from workforce.models import OnboardingState

pytestmark = pytest.mark.django_db


@pytest.fixture
def sample_job(sample: Path) -> Job:  # noqa: F811
    job, _ = jobs.job_create(name="Screens", client="Refurb Co", instructions="Paint every defect.",
                             specs=jobs.specs_from_manifest(sample / "manifest.json"), image_source=str(sample),
                             actor=None, batch_size=2)
    jobs.batches_cut(job=job)
    return job


@pytest.fixture
def staff_client() -> Client:
    client = Client()
    client.force_login(staff_user())
    return client


def upload(content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("project-3-export.json", content, content_type="application/json")


def messages_of(response: object) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_staff_import_a_label_studio_export_as_new_gold(staff_client: Client, sample_job: Job) -> None:
    task = _task(sample_job)
    gold_current(task)
    document = [_export_item({"image": image_url(task.image_path)}, task.prediction["result"])]
    response = staff_client.post(f"/console/jobs/{sample_job.pk}/gold-import/",
                                 {"export": upload(json.dumps(document).encode())})
    assert response.status_code == 302
    assert messages_of(response) == ["Gold imported: 1 photo(s) got a new gold version; the annotations scored on "
                                     "the old one are re-scored in the background."]
    gold = gold_current(task)
    assert (gold.version, gold.source, gold.result) == (2, GoldSource.IMPORT, task.prediction["result"])


def test_a_bad_export_changes_nothing_and_says_why(staff_client: Client, sample_job: Job) -> None:
    before = GoldVersion.objects.count()
    response = staff_client.post(f"/console/jobs/{sample_job.pk}/gold-import/", {"export": upload(b"{not json")})
    assert messages_of(response)[0].startswith("Gold import refused, nothing changed: document: not JSON")
    response = staff_client.post(f"/console/jobs/{sample_job.pk}/gold-import/", {})
    assert messages_of(response)[-1] == "Gold import: This field is required."
    assert GoldVersion.objects.count() == before


def test_gold_import_and_rescore_are_staff_only_and_need_csrf(sample_job: Job) -> None:
    contractor = Client()
    contractor.force_login(contractor_in_state(OnboardingState.ACTIVE).user)
    assert contractor.post(f"/console/jobs/{sample_job.pk}/gold-import/", {"export": upload(b"[]")}).status_code == 403
    assert contractor.post(f"/console/jobs/{sample_job.pk}/rescore/").status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff_user())
    assert strict.post(f"/console/jobs/{sample_job.pk}/rescore/").status_code == 403


def test_staff_queue_a_rescore_of_the_job(staff_client: Client, sample_job: Job) -> None:
    response = staff_client.post(f"/console/jobs/{sample_job.pk}/rescore/")
    assert response.status_code == 302
    assert messages_of(response)[-1].startswith("Scoring every annotation on the job's gold photos")

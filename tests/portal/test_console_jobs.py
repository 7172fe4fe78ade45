"""The console's job pages: the new-job form and its refusals, and the job page with its pay terms and gold forms."""
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from annotations.defects import format_classes
from annotations.models import Job
from payroll.selectors.weeks import WEEK, week_start_utc
from tests.annotations.test_console import _create_job, staff_client  # noqa: F401 - the staff client fixture
from tests.annotations.test_gold_console import sample_job  # noqa: F401 - the sample job fixture
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.factories import job_plain


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_a_bad_source_is_refused_on_the_form(staff_client: Client, tmp_path: Path) -> None:  # noqa: F811
    response = staff_client.post("/console/jobs/new/", {
        "name": "X", "client": "Y", "instructions": "Z", "source_kind": "folder", "source_path": str(tmp_path),
        "classes": format_classes(),
        "batch_size": 2, "gold_rate": "0.1", "quality_threshold": "0.5", "hourly_rate": "2.00",
        "weekly_cap_hours": "20",
    })
    assert response.status_code == 200
    assert "holds no photos" in response.content.decode()
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_staff_choose_the_label_classes_and_a_bad_line_is_refused_naming_it(
    staff_client: Client, sample: Path,  # noqa: F811
) -> None:
    refused = staff_client.post("/console/jobs/new/", {"classes": "scratch | Scratch | #e6194b\ndent | Dent"})
    assert "line 2: write `key | Label | #rrggbb`" in refused.content.decode()
    job = _create_job(staff_client, sample, classes="scratch | Scratch | #e6194b\ndent | Dent | #00aa00")
    assert [c["label"] for c in job.label_classes] == ["Scratch", "Dent"]
    assert '<Label value="Dent" background="#00aa00"/>' in job.labeling_config
    assert "Crack" not in job.labeling_config


@pytest.mark.django_db
def test_job_page_shows_the_pay_terms_history_and_the_change_form(staff_client: Client) -> None:  # noqa: F811
    job = job_plain()
    html = page(staff_client, f"/console/jobs/{job.pk}/")
    assert "the job's start" in html
    assert "USD 2.00" in html
    assert f'action="/console/payroll/jobs/{job.pk}/terms/"' in html
    next_monday = week_start_utc(timezone.now()) + WEEK
    assert f'value="{next_monday:%Y-%m-%d}"' in html


@pytest.mark.django_db
def test_the_job_page_offers_import_and_rescore(staff_client: Client, sample_job: Job) -> None:  # noqa: F811
    html = staff_client.get(f"/console/jobs/{sample_job.pk}/").content.decode()
    assert f'action="/console/jobs/{sample_job.pk}/gold-import/"' in html
    assert 'enctype="multipart/form-data"' in html
    assert f'action="/console/jobs/{sample_job.pk}/rescore/"' in html

"""manage.py load_demo_job against the real Label Studio: a published job, active contractors, synced work."""
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from annotations import labelstudio
from annotations.management.commands.load_demo_job import JOB_CLIENT, JOB_NAME, demo_email
from annotations.models import Annotation, AssignmentEvent, Batch, Job, LabelStudioAccount
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from workforce.models import Contractor, OnboardingState, User

pytestmark = [pytest.mark.labelstudio, pytest.mark.django_db]


@pytest.fixture
def demo(sample: Path, label_studio: str) -> Iterator[Path]:  # noqa: F811
    """The sample job as SAMPLE_JOB_DIR and a staff user; the Label Studio projects are deleted afterwards."""
    User.objects.create_user(email="staff@labelcrew.local", password=None, is_staff=True)
    with override_settings(SAMPLE_JOB_DIR=sample):
        yield sample
    for project_id in Batch.objects.filter(ls_project_id__isnull=False).values_list("ls_project_id", flat=True):
        labelstudio.project_delete(project_id=project_id)


def _load() -> str:
    out = StringIO()
    call_command("load_demo_job", "--contractors", "3", "--batch-size", "2", stdout=out)
    return out.getvalue()


def _counts() -> tuple[int, ...]:
    return (Job.objects.count(), Batch.objects.count(), Contractor.objects.count(),
            LabelStudioAccount.objects.count(), AssignmentEvent.objects.count(), Annotation.objects.count())


def test_it_publishes_the_job_onboards_contractors_assigns_and_syncs_annotations_once(demo: Path) -> None:
    output = _load()
    for step in range(1, 7):
        assert f"\n{step}. " in f"\n{output}"

    job = Job.objects.get(name=f"{JOB_NAME} (640x427)", client=JOB_CLIENT)
    batches = list(job.batches.order_by("number"))
    assert len(batches) == 3  # five photos in batches of two
    assert all(b.ls_project_id and b.published_at for b in batches)

    contractors = {c.user.email: c for c in Contractor.objects.select_related("user", "label_studio_account")}
    assert sorted(contractors) == [demo_email(n) for n in (1, 2, 3)]
    assert all(c.state == OnboardingState.ACTIVE for c in contractors.values())
    assert all(c.label_studio_account.ls_user_id for c in contractors.values())
    assert not any(c.user.has_usable_password() for c in contractors.values())
    low = contractors[demo_email(3)]
    assert low.qualification_score < job.quality_threshold

    assigned = {b.assigned_to_id for b in job.batches.all()}
    assert None not in assigned  # every batch found a holder
    assert low.pk not in assigned
    assert not AssignmentEvent.objects.filter(contractor=low).exists()

    annotations = list(Annotation.objects.filter(batch_task__batch__job=job).select_related("batch_task__batch"))
    assert annotations
    for annotation in annotations:
        assert annotation.contractor_id == annotation.batch_task.batch.assigned_to_id
        assert not annotation.unassigned_work
        assert not annotation.problems
        assert 120 <= annotation.lead_time <= 900

    before = _counts()
    _load()
    assert _counts() == before
    in_studio = sum(len(labelstudio.annotations_of_project(project_id=b.ls_project_id)) for b in batches)
    assert in_studio == len(annotations)


def test_without_label_studio_it_stops_with_one_readable_line(demo: Path) -> None:
    with (override_settings(LABEL_STUDIO_URL="http://127.0.0.1:9", LABEL_STUDIO_TIMEOUT=1.0),
          pytest.raises(CommandError, match="Label Studio unavailable") as caught):
        _load()
    assert "\n" not in str(caught.value)
    assert not Job.objects.exists()

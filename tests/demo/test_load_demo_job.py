"""manage.py load_demo_job against the real Label Studio: a published job, active contractors, synced work."""
import random
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from annotations import labelstudio
from annotations.models import (
    Annotation,
    AssignmentEvent,
    Batch,
    BatchState,
    BatchTask,
    Job,
    LabelStudioAccount,
    Task,
)
from annotations.services.agreement import photo_agreement_record
from demo.management.commands.load_demo_job import JOB_CLIENT, JOB_NAME, demo_result
from demo.people import demo_email
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


def _load(*extra: str) -> str:
    out = StringIO()
    call_command("load_demo_job", "--contractors", "3", "--batch-size", "2", *extra, stdout=out)
    return out.getvalue()


def _counts() -> tuple[int, ...]:
    return (Job.objects.count(), Batch.objects.count(), Contractor.objects.count(),
            LabelStudioAccount.objects.count(), AssignmentEvent.objects.count(), Annotation.objects.count())


def test_it_publishes_the_job_onboards_contractors_assigns_and_syncs_annotations_once(
    demo: Path, tmp_path: Path
) -> None:
    output = _load()
    for step in range(1, 9):
        assert f"\n{step}. " in f"\n{output}"

    job = Job.objects.get(name=f"{JOB_NAME} (640x427)", client=JOB_CLIENT)
    # Listed at the seed posting's terms, its close-ups cut from gold photos that no batch hides.
    assert job.listed
    examples = set(job.tasks.filter(public_example=True).values_list("pk", flat=True))
    assert examples
    assert not BatchTask.objects.filter(task_id__in=examples, is_gold=True).exists()
    listing = Client().get(f"/jobs/{job.pk}/").content.decode()
    assert "USD 2.00 per hour" in listing
    assert f'src="/jobs/{job.pk}/examples/' in listing
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
    assert low.pk not in assigned
    able = [c for c in contractors.values() if c.pk != low.pk]
    for batch in job.batches.filter(assigned_to__isnull=True):  # only the gold rule or the open-batch limit left it
        gold = set(batch.batch_tasks.filter(is_gold=True).values_list("task_id", flat=True))
        for contractor in able:
            had = set(BatchTask.objects.filter(batch__job=job, batch__assigned_to=contractor)
                      .values_list("task_id", flat=True))
            full = job.batches.filter(assigned_to=contractor).count() >= job.max_open_batches
            assert gold & had or full, (batch.number, contractor.pk)
    assert len(assigned - {None}) == 2  # both contractors above the threshold hold work
    assert not AssignmentEvent.objects.filter(contractor=low, batch__job=job).exists()  # auto-assign skips them

    annotations = list(Annotation.objects.filter(batch_task__batch__job=job).select_related("batch_task__batch"))
    assert annotations
    for annotation in annotations:
        assert annotation.contractor_id == annotation.batch_task.batch.assigned_to_id
        assert not annotation.unassigned_work
        assert not annotation.problems
        assert 120 <= annotation.lead_time <= 900
    # Every held batch's gold photo is labelled, so the worker has something to score for each holder.
    gold_rows = BatchTask.objects.filter(batch__job=job, is_gold=True)
    assert gold_rows.count() == len(batches)
    held_gold = gold_rows.filter(batch__assigned_to__isnull=False)
    assert {a.batch_task_id for a in annotations} >= set(held_gold.values_list("pk", flat=True))
    # demo-contractor-2 submits the pre-annotation unchanged; demo-contractor-1 fixes it toward the gold.
    by_holder = {a.contractor.user.email: a for a in annotations if a.batch_task.is_gold}
    stamped = by_holder[demo_email(2)]
    assert stamped.result == stamped.batch_task.task.prediction["result"]
    careful = by_holder[demo_email(1)]
    assert careful.result != careful.batch_task.task.prediction["result"]

    # The second job: each of its 4 photos labelled in Label Studio by all 3 of the crew, each batch handed in.
    overlap = Job.objects.get(name=f"{JOB_NAME} (640x427), 3 annotators per photo")
    assert overlap.annotators_per_photo == 3
    assert set(overlap.batches.values_list("state", flat=True)) == {BatchState.HANDED_IN}
    for task in overlap.tasks.all():
        made = Annotation.objects.filter(batch_task__task=task, deleted=False)
        assert sorted(made.values_list("contractor__user__email", flat=True)) == [demo_email(n) for n in (1, 2, 3)]
    record = photo_agreement_record(task_id=overlap.tasks.order_by("id").first().pk)  # what the worker computes
    assert len(record.annotation_ids) == 3
    assert record.merged_result

    before = _counts()
    password = tmp_path / "crew-password"
    password.write_text("a demo crew password\n")
    _load("--password-file", str(password))
    assert _counts() == before
    for n in (1, 2, 3):  # through allauth's form, which signs in verified addresses only
        client = Client()
        client.post("/accounts/login/", {"login": demo_email(n), "password": "a demo crew password"})
        assert client.session.get("_auth_user_id") == str(contractors[demo_email(n)].user_id), demo_email(n)
    in_studio = sum(len(labelstudio.annotations_of_project(project_id=b.ls_project_id)) for b in batches)
    assert in_studio == len(annotations)
    assert Annotation.objects.filter(batch_task__batch__job=overlap).count() == 12  # nothing made twice


def test_a_short_crew_password_is_refused_before_anything_is_made(demo: Path, tmp_path: Path) -> None:
    password = tmp_path / "crew-password"
    password.write_text("short")
    with pytest.raises(CommandError, match="shorter than 12 characters"):
        _load("--password-file", str(password))
    assert not Job.objects.exists()
    assert not Contractor.objects.exists()


def test_without_label_studio_it_stops_with_one_readable_line(demo: Path) -> None:
    with (override_settings(LABEL_STUDIO_URL="http://127.0.0.1:9", LABEL_STUDIO_TIMEOUT=1.0),
          pytest.raises(CommandError, match="Label Studio unavailable") as caught):
        _load()
    assert "\n" not in str(caught.value)
    assert not Job.objects.exists()


def _labels(result: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for item in result:
        grouped.setdefault(item["value"]["brushlabels"][0], []).append(item)
    return grouped


def _brush(label: str, rle: list[int]) -> dict:
    return {"type": "brushlabels", "value": {"format": "rle", "rle": rle, "brushlabels": [label]}}


def test_demo_results_take_each_class_from_gold_or_the_pre_annotation_by_skill() -> None:
    gold = [_brush("Scratch", [1]), _brush("Pit", [2]), _brush("Pit", [3])]
    prediction = [_brush("Scratch", [9]), _brush("Crack", [8])]
    task = Task(prediction={"result": prediction}, gold_result=gold)
    assert demo_result(task=task, skill=0.0, rng=random.Random(1)) == prediction
    assert _labels(demo_result(task=task, skill=1.0, rng=random.Random(1))) == _labels(gold)
    mixes = [_labels(demo_result(task=task, skill=0.5, rng=random.Random(seed))) for seed in range(40)]
    for mix in mixes:  # each class whole from one source: gold's, or the pre-annotation's (maybe none)
        for label in ("Scratch", "Pit", "Crack"):
            assert mix.get(label) in (_labels(gold).get(label), _labels(prediction).get(label))
    assert len({repr(sorted(mix.items())) for mix in mixes}) > 2

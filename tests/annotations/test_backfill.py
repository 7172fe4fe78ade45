"""Backfilled work: a batch handed over in the past and its holder's annotations, without Label Studio."""
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from annotations.models import AssignmentAction, Batch, BatchState, Job, LabelStudioAccount, ReviewState, Task
from annotations.services.backfill import BackfilledAnnotation, annotations_backfill, batch_backfill
from common.errors import DomainError
from tests.factories import contractor_in_state, job_plain, staff_user
from workforce.models import Contractor, OnboardingState

pytestmark = pytest.mark.django_db
MONDAY = datetime(2026, 11, 16, tzinfo=UTC)


@pytest.fixture
def job() -> Job:
    job = job_plain()
    Task.objects.bulk_create([Task(job=job, key=f"photo-{i}", image_path=f"photos/{i}.jpg",
                                   image_sha256=uuid.uuid4().hex, width=8, height=8) for i in range(6)])
    return job


@pytest.fixture
def contractor() -> Contractor:
    return contractor_in_state(OnboardingState.ACTIVE)


def _backfill(job: Job, contractor: Contractor, **overrides: object) -> Batch:
    fields = {"actor": staff_user(), "reason": "hours of week 47", "assigned_at": MONDAY,
              "started_at": MONDAY + timedelta(hours=9), "state": BatchState.HANDED_IN, "size": 4}
    return batch_backfill(job=job, contractor=contractor, **{**fields, **overrides})


def test_a_backfilled_batch_is_held_since_the_given_moment_audited_and_never_published(
    job: Job, contractor: Contractor
) -> None:
    batch = _backfill(job, contractor)
    assert (batch.number, batch.state, batch.assigned_to_id) == (1, BatchState.HANDED_IN, contractor.pk)
    assert batch.assigned_at == MONDAY
    assert batch.started_at == MONDAY + timedelta(hours=9)
    assert batch.deadline_at == MONDAY + timedelta(hours=job.deadline_hours)
    assert batch.ls_project_id is None
    assert batch.published_at is None
    assert batch.batch_tasks.count() == 4
    assert not batch.batch_tasks.filter(is_gold=True).exists()
    event = batch.assignment_events.get()
    assert (event.contractor_id, event.action, event.reason) == (contractor.pk, AssignmentAction.ASSIGN,
                                                                 "hours of week 47")


def test_backfilled_batches_may_share_photos_and_draw_them_repeatably(job: Job, contractor: Contractor) -> None:
    first, second = _backfill(job, contractor), _backfill(job, contractor, size=10)
    assert second.number == 2
    assert second.batch_tasks.count() == 6  # at most every photo of the job
    drawn = sorted(first.batch_tasks.values_list("task_id", flat=True))
    Batch.objects.filter(pk__in=[first.pk, second.pk]).delete()
    assert sorted(_backfill(job, contractor).batch_tasks.values_list("task_id", flat=True)) == drawn


@pytest.mark.parametrize(("overrides", "field"), [({"state": BatchState.OPEN}, "state"), ({"size": 0}, "size")])
def test_an_open_or_empty_backfilled_batch_is_refused(job: Job, contractor: Contractor, overrides: dict,
                                                      field: str) -> None:
    with pytest.raises(DomainError) as caught:
        _backfill(job, contractor, **overrides)
    assert caught.value.field == field
    assert not Batch.objects.exists()


def test_backfilled_annotations_are_the_holders_accepted_work_with_their_lead_times(
    job: Job, contractor: Contractor
) -> None:
    LabelStudioAccount.objects.create(contractor=contractor, ls_user_id=41, email=contractor.user.email)
    batch = _backfill(job, contractor)
    rows = list(batch.batch_tasks.order_by("id"))
    made = [BackfilledAnnotation(ls_annotation_id=1_000_000_000 + k, batch_task=row, lead_time=300.5,
                                 made_at=MONDAY + timedelta(hours=10 + k)) for k, row in enumerate(rows[:2])]
    annotations = annotations_backfill(batch=batch, annotations=made)
    assert [a.ls_annotation_id for a in annotations] == [1_000_000_000, 1_000_000_001]
    for annotation, item in zip(annotations, made, strict=True):
        annotation.refresh_from_db()
        assert annotation.contractor_id == contractor.pk
        assert annotation.ls_user_id == 41
        assert annotation.review_state == ReviewState.ACCEPTED
        assert annotation.lead_time == 300.5
        assert annotation.ls_created_at == annotation.ls_updated_at == item.made_at
        assert not annotation.unassigned_work
        assert not annotation.deleted


def test_a_holder_without_label_studio_user_still_gets_the_work(job: Job, contractor: Contractor) -> None:
    batch = _backfill(job, contractor)
    row = batch.batch_tasks.first()
    [annotation] = annotations_backfill(batch=batch, annotations=[
        BackfilledAnnotation(ls_annotation_id=7, batch_task=row, lead_time=60.0, made_at=MONDAY)])
    assert annotation.contractor_id == contractor.pk
    assert annotation.ls_user_id is None


def test_annotations_of_another_batch_are_refused(job: Job, contractor: Contractor) -> None:
    batch, other = _backfill(job, contractor), _backfill(job, contractor)
    stranger = BackfilledAnnotation(ls_annotation_id=8, batch_task=other.batch_tasks.first(), lead_time=60.0,
                                    made_at=MONDAY)
    with pytest.raises(DomainError, match="Only the work photos of batch #1"):
        annotations_backfill(batch=batch, annotations=[stranger])
    assert not batch.batch_tasks.filter(annotations__isnull=False).exists()

"""The stored job progress counts (JobProgress) follow the services that change them, once per transaction, and
the rebuild repairs a row changed by hand."""
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from annotations.models import Annotation, GoldSource, Job, JobProgress, ReviewState, Task
from annotations.selectors.jobs import PROGRESS_FIELDS, job_progress_live, job_with_progress, jobs_with_progress
from annotations.services import jobs
from annotations.services.assignment import batch_assign, batch_reclaim
from annotations.services.gold import gold_set
from annotations.services.hand_in import batch_hand_in
from annotations.services.job_progress import _Refresh, job_progress_touch
from annotations.services.review import annotation_accept
from tests.annotations.test_batch_life import _annotate, staff  # noqa: F401 - the reviewer
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.factories import contractor_in_state
from workforce.models import OnboardingState, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(sample: Path, django_capture_on_commit_callbacks: Callable) -> Job:  # noqa: F811
    """The five-photo sample cut in batches of two photos plus one hidden gold, marked published, its creation
    committed (its refresh run) as it would be outside the test's transaction."""
    with django_capture_on_commit_callbacks(execute=True):
        job, _ = jobs.job_create(name="Screens", client="Refurb Co", instructions="Paint.",
                                 specs=jobs.specs_from_manifest(sample / "manifest.json"), image_source=str(sample),
                                 actor=None, batch_size=2)
        jobs.batches_cut(job=job)
        job.batches.update(published_at=timezone.now())
        job_progress_touch(job_ids=[job.pk])  # published around the services
    return job


def _pending() -> list[int]:
    return [f.job_id for _, f, _ in connection.run_on_commit if isinstance(f, _Refresh) and not f.ran]


def _stored(job: Job) -> dict[str, int]:
    return JobProgress.objects.filter(job=job).values(*PROGRESS_FIELDS).get()


def _spoil(job: Job) -> None:
    """Change the row by hand, so an assertion after the next step shows that step recounted it."""
    JobProgress.objects.update_or_create(job=job, defaults=dict.fromkeys(PROGRESS_FIELDS, 999))


def test_a_new_job_and_its_batches_get_their_row_once_they_commit(
        sample: Path, django_capture_on_commit_callbacks: Callable) -> None:  # noqa: F811
    with django_capture_on_commit_callbacks(execute=True):
        job, made = jobs.job_create(name="Screens", client="Refurb Co", instructions="Paint.",
                                    specs=jobs.specs_from_manifest(sample / "manifest.json"),
                                    image_source=str(sample), actor=None, batch_size=2)
        jobs.batches_cut(job=job)
    row = _stored(job)
    assert row == job_progress_live(job)
    assert (row["n_tasks"], row["n_batches"], row["n_published"], row["n_annotated"]) == (
        made, job.batches.count(), 0, 0)
    assert row["n_gold"] == Task.objects.filter(job=job, gold_result__isnull=False).count() > 0


def test_the_counts_follow_sync_hand_in_review_reclaim_and_gold(
        job: Job, staff: User, django_capture_on_commit_callbacks: Callable) -> None:  # noqa: F811
    ana = contractor_in_state(OnboardingState.ACTIVE)
    first = job.batches.get(number=1)
    with django_capture_on_commit_callbacks(execute=True):
        batch_assign(batch=first, contractor=ana, actor=staff)
    _spoil(job)
    with django_capture_on_commit_callbacks(execute=True):
        made = _annotate(first, ana)  # each synced annotation recounts
    assert _stored(job) == job_progress_live(job)
    assert _stored(job)["n_annotated"] == len(made) > 0

    _spoil(job)
    with django_capture_on_commit_callbacks(execute=True):
        batch_hand_in(batch=first, contractor=ana)
    assert _stored(job)["n_handed_in"] == first.batch_tasks.count()
    assert _stored(job) == job_progress_live(job)

    work = next(a for a in made if not a.batch_task.is_gold)
    _spoil(job)
    with django_capture_on_commit_callbacks(execute=True):
        annotation_accept(annotation=work, reviewer=staff)
    assert Annotation.objects.get(pk=work.pk).review_state == ReviewState.ACCEPTED
    assert (_stored(job)["n_reviewed"], _stored(job)["n_accepted"]) == (1, 1)
    assert _stored(job) == job_progress_live(job)

    # A second batch goes to a second contractor: hidden gold is shared between batches and never goes twice to one
    # person, so which of the other batches Ana could take would depend on the job's id (the gold draw's seed).
    bo = contractor_in_state(OnboardingState.ACTIVE)
    second = job.batches.exclude(pk=first.pk).order_by("number").first()
    with django_capture_on_commit_callbacks(execute=True):
        batch_assign(batch=second, contractor=bo, actor=staff)
        _annotate(second, bo, skip=1)
    annotated = _stored(job)["n_annotated"]
    assert annotated > len(made)
    _spoil(job)
    with django_capture_on_commit_callbacks(execute=True):
        batch_reclaim(batch=second, actor=staff, reason="late")
    assert _stored(job) == job_progress_live(job)
    assert _stored(job)["n_annotated"] == annotated  # what was synced stays counted; nothing handed in

    task = Task.objects.filter(job=job).order_by("pk").first()
    Task.objects.filter(pk=task.pk).update(gold_result=None)  # a photo without gold, made around the services
    with django_capture_on_commit_callbacks(execute=True):
        job_progress_touch(job_ids=[job.pk])
    gold_before = _stored(job)["n_gold"]
    with django_capture_on_commit_callbacks(execute=True):
        gold_set(task=Task.objects.get(pk=task.pk), result=[], source=GoldSource.IMPORT)
    assert _stored(job)["n_gold"] == gold_before + 1
    assert _stored(job) == job_progress_live(job)


def test_the_readers_take_the_row_and_count_live_without_one(job: Job) -> None:
    live = job_progress_live(job)
    JobProgress.objects.filter(job=job).delete()
    assert {name: getattr(job_with_progress(job.pk), name) for name in PROGRESS_FIELDS} == live
    listed = jobs_with_progress().get(pk=job.pk)  # the list shows the counts up to n_accepted
    assert {name: getattr(listed, name) for name in PROGRESS_FIELDS[:8]} == {
        name: live[name] for name in PROGRESS_FIELDS[:8]}
    _spoil(job)  # a stored row is what both read
    assert job_with_progress(job.pk).n_accepted == jobs_with_progress().get(pk=job.pk).n_accepted == 999


def test_one_refresh_per_job_and_transaction_and_none_after_a_rollback(
        job: Job, django_capture_on_commit_callbacks: Callable) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        job_progress_touch(job_ids=[job.pk, job.pk, None])
        with transaction.atomic():
            job_progress_touch(job_ids=[job.pk])
        try:
            with transaction.atomic():
                job_progress_touch(job_ids=[job.pk + 1])
                raise RuntimeError
        except RuntimeError:
            pass
        assert _pending() == [job.pk]  # the rolled-back refresh went with its savepoint
        job_progress_touch(job_ids=[job.pk + 1])
        assert _pending() == [job.pk, job.pk + 1]
    assert [f.job_id for f in callbacks if isinstance(f, _Refresh)] == [job.pk, job.pk + 1]


def test_the_rebuild_repairs_a_row_changed_by_hand_and_writes_missing_ones(job: Job) -> None:
    other = jobs.job_create(name="Other", client="Refurb Co", instructions="Paint.", specs=[], image_source="tests",
                            actor=None)[0]
    JobProgress.objects.filter(job=other).delete()
    _spoil(job)
    out = StringIO()
    call_command("job_progress_rebuild", stdout=out)
    assert _stored(job) == job_progress_live(job)
    assert _stored(other) == job_progress_live(other)
    jobs_made = Job.objects.count()
    assert f"{jobs_made:,} jobs recomputed, 2 rows written" in out.getvalue()
    out = StringIO()
    call_command("job_progress_rebuild", stdout=out)
    assert "0 rows written" in out.getvalue()

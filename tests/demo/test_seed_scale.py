"""manage.py seed_scale at a small size: consistent rows in every table the console reads, an empty database only."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Q, Sum
from django.test import Client

from annotations.models import Annotation, Batch, BatchKind, BatchState, BatchTask, Job, QualityScore, ReviewState
from annotations.selectors.jobs import job_with_progress, jobs_with_progress
from payroll.models import PayRun, Statement, TimeEntry, Timesheet, TimesheetState
from workforce.models import Contractor, OnboardingState, User

pytestmark = pytest.mark.django_db


def test_it_fills_an_empty_database_consistently_and_refuses_one_that_holds_anything() -> None:
    out = StringIO()
    call_command("seed_scale", "--contractors", "45", "--tasks", "300", "--annotations", "1500", "--scores", "20",
                 stdout=out)
    assert ("45 contractors, 3 jobs, 1,300 tasks in 130 batches, 45 qualification rounds, 1,500 annotations, "
            "20 quality scores") in out.getvalue()
    assert Contractor.objects.filter(state=OnboardingState.ACTIVE).count() == 45
    assert Contractor.objects.values("country").distinct().count() == 40
    big = Job.objects.get(name="Screens at scale")
    assert (big.tasks.count(), big.batches.filter(kind=BatchKind.WORK).count()) == (300, 30)  # + 45 rounds
    assert big.pay_terms_changes.count() == 1  # made by job_create: its opening terms
    # Every batch holds 10 work photos and one hidden gold photo of its job; held ones have a holder and an event.
    per_batch = Batch.objects.filter(kind=BatchKind.WORK).annotate(
        photos=Count("batch_tasks"), gold=Count("batch_tasks", filter=Q(batch_tasks__is_gold=True)))
    assert set(per_batch.values_list("photos", "gold")) == {(11, 1)}
    assert not Batch.objects.filter(state=BatchState.OPEN, assigned_to__isnull=False).exists()
    assert not Batch.objects.exclude(state=BatchState.OPEN).filter(assigned_to__isnull=True).exists()
    assert not Batch.objects.exclude(state=BatchState.OPEN).filter(assignment_events__isnull=True).exists()
    assert not BatchTask.objects.filter(is_gold=True).exclude(task__job=F("batch__job")).exists()
    assert not Annotation.objects.exclude(contractor=F("batch_task__batch__assigned_to")).exists()
    assert not Annotation.objects.filter(batch_task__batch__state__in=(BatchState.OPEN, BatchState.ASSIGNED)).exists()
    assert not Annotation.objects.filter(batch_task__batch__state=BatchState.DONE, batch_task__is_gold=False,
                                         deleted=False).exclude(
        review_state=ReviewState.ACCEPTED).exists()
    assert not QualityScore.objects.filter(annotation__batch_task__is_gold=False).exists()
    rounds = Batch.objects.filter(kind=BatchKind.QUALIFICATION, state=BatchState.DONE)
    assert rounds.values("assigned_to").distinct().count() == 45  # every contractor qualified
    assert Annotation.objects.filter(deleted=True).exists()  # earlier attempts, deleted in Label Studio
    assert Annotation.objects.values("ls_annotation_id").distinct().count() == 1500
    # Four pay weeks per contractor under the cap, each timesheet the sum of its entries; the oldest paid.
    assert Timesheet.objects.count() == 45 * 4
    assert not Timesheet.objects.filter(work_minutes__gt=20 * 60).exists()
    sums = dict(TimeEntry.objects.values_list("timesheet").annotate(m=Sum("minutes")))
    assert all(sums.get(s.pk, 0) == s.work_minutes for s in Timesheet.objects.all())
    run = PayRun.objects.get()
    assert set(Timesheet.objects.filter(week_start=run.week_start).values_list("state", flat=True)) == {
        TimesheetState.PAID}
    assert Statement.objects.filter(pay_run=run).count() == Timesheet.objects.filter(
        week_start=run.week_start, work_minutes__gt=0).count()

    staff = Client()
    staff.force_login(User.objects.get(email="scale-staff@labelcrew.local"))
    assert staff.get(f"/console/jobs/{big.pk}/").status_code == 200
    with pytest.raises(CommandError, match=r"^seed_scale fills only an empty, migrated database; this one holds 46 "
                                           r"users, 3 jobs, 45 contractors\. Point DATABASE_URL at a new database\.$"):
        call_command("seed_scale", "--contractors", "5", "--tasks", "20")


def test_the_jobs_progress_counts_each_photo_once_however_many_annotations_and_batches_it_has() -> None:
    call_command("seed_scale", "--contractors", "30", "--tasks", "200", "--annotations", "1200", "--scores", "10",
                 stdout=StringIO())
    big = jobs_with_progress().get(name="Screens at scale")
    live = Annotation.objects.filter(batch_task__task__job=big, deleted=False, was_cancelled=False)
    assert big.n_tasks == 200
    assert big.n_gold == Job.objects.get(pk=big.pk).tasks.filter(gold_result__isnull=False).count() == 20
    assert big.n_batches == big.batches.count() == 20 + 30  # work batches and the qualification rounds
    assert big.n_annotated == live.values("batch_task__task").distinct().count()
    assert big.n_accepted == Annotation.objects.filter(batch_task__task__job=big, review_state=ReviewState.ACCEPTED
                                                       ).values("batch_task__task").distinct().count()
    assert Annotation.objects.filter(batch_task__task__job=big).count() > big.n_annotated  # several per photo
    one = job_with_progress(big.pk)  # the job page's single job, read in one pass over its annotations
    assert [getattr(one, f"n_{n}") for n in ("tasks", "gold", "batches", "annotated", "reviewed", "accepted")] == [
        getattr(big, f"n_{n}") for n in ("tasks", "gold", "batches", "annotated", "reviewed", "accepted")]
    assert job_with_progress(10**9) is None
    second = jobs_with_progress().get(name="Screens, second client")
    assert second.n_tasks == 500
    assert second.n_annotated == Annotation.objects.filter(batch_task__task__job=second, deleted=False).values(
        "batch_task__task").distinct().count()

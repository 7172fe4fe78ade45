"""The qualification round: a batch of gold photos per applicant, scored, shown to them and to staff."""
from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from django.test import Client, override_settings
from django.utils import timezone

from annotations.models import Batch, BatchKind, BatchState, Job
from annotations.selectors.qualification import qualification_round
from annotations.services import assignment, qualification
from annotations.services.contractor_quality import contractor_quality_apply
from common.errors import Conflict, DomainError
from payroll.selectors.terms import pay_terms_at
from payroll.services.entries import time_entry_create
from tests.annotations.conftest import gold_task
from tests.factories import contractor_in_state, staff_user
from workforce.models import Contractor, OnboardingState
from workforce.services.decisions import contractor_decide

S = OnboardingState
pytestmark = pytest.mark.django_db


@pytest.fixture
def qjob(job: Job) -> Job:
    """A job with six gold photos whose round is three of them."""
    for _ in range(6):
        gold_task(job)
    return qualification.job_qualification_set(job=job, tasks=3)


@pytest.fixture
def applicant() -> Contractor:
    return contractor_in_state(S.QUALIFYING, display_name="Bo")


def _client(user: object) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _score_round(score: Callable, contractor: Contractor, values: list[float]) -> None:
    """Score the applicant's answers on the first len(values) photos of their round, then apply the rules."""
    batch = qualification.qualification_batch_of(contractor)
    for bt, value in zip(batch.batch_tasks.select_related("task").order_by("id"), values, strict=False):
        score(contractor, value, task=bt.task)
    contractor_quality_apply(contractor_id=contractor.pk)
    contractor.refresh_from_db()


# --- the job's round ------------------------------------------------------------------------

def test_a_round_needs_that_many_gold_photos_and_at_most_fifty(job: Job) -> None:
    gold_task(job)
    with pytest.raises(DomainError, match="has 1 photo"):
        qualification.job_qualification_set(job=job, tasks=2)
    with pytest.raises(DomainError, match="between 0 and 50"):
        qualification.job_qualification_set(job=job, tasks=51)
    job.refresh_from_db()
    assert job.qualification_tasks == 0
    assert qualification.qualification_job() is None
    assert qualification.job_qualification_set(job=job, tasks=1).qualification_tasks == 1
    assert qualification.qualification_job() == job


# --- opening a round ------------------------------------------------------------------------

def test_an_applicant_gets_one_batch_of_gold_photos_held_by_them(qjob: Job, applicant: Contractor) -> None:
    batch = qualification.qualification_round_open(contractor=applicant)
    assert batch.kind == BatchKind.QUALIFICATION
    assert (batch.job, batch.assigned_to, batch.state) == (qjob, applicant, BatchState.ASSIGNED)
    assert batch.deadline_at - batch.assigned_at == timedelta(days=7)
    rows = list(batch.batch_tasks.select_related("task"))
    assert len(rows) == 3
    assert all(bt.is_gold and bt.task.gold_result is not None for bt in rows)
    assert batch.assignment_events.get().reason == qualification.ROUND_REASON
    # Asking again (a retried task, a staff click) gives the same batch.
    assert qualification.qualification_round_open(contractor=applicant) == batch
    assert Batch.objects.filter(kind=BatchKind.QUALIFICATION).count() == 1


def test_each_applicant_gets_their_own_repeatable_draw(qjob: Job) -> None:
    applicants, draws = [contractor_in_state(S.QUALIFYING) for _ in range(4)], []
    for contractor in applicants:
        batch = qualification.qualification_round_open(contractor=contractor)
        draws.append(frozenset(batch.batch_tasks.values_list("task_id", flat=True)))
    assert len(set(draws)) > 1  # 20 possible draws of 3 from 6: four applicants all alike would be a bug
    assert set(qjob.batches.values_list("number", flat=True)) == {1, 2, 3, 4}
    first = qualification.qualification_batch_of(applicants[0])
    first.batch_tasks.all().delete()
    first.delete()
    again = qualification.qualification_round_open(contractor=applicants[0])
    assert frozenset(again.batch_tasks.values_list("task_id", flat=True)) == draws[0]


def test_no_round_without_a_job_that_runs_one_or_for_someone_not_qualifying(job: Job, applicant: Contractor) -> None:
    with pytest.raises(DomainError, match="No job runs a qualification round"):
        qualification.qualification_round_open(contractor=applicant)
    for _ in range(3):
        gold_task(job)
    qualification.job_qualification_set(job=job, tasks=3)
    with pytest.raises(Conflict, match="not qualifying"):
        qualification.qualification_round_open(contractor=contractor_in_state(S.ACTIVE))
    assert not Batch.objects.exists()


def test_a_round_is_never_handed_on_reclaimed_or_auto_assigned(qjob: Job, applicant: Contractor) -> None:
    batch = qualification.qualification_round_open(contractor=applicant)
    staff = staff_user()
    with pytest.raises(Conflict, match="qualification round of"):
        assignment.batch_reclaim(batch=batch, actor=staff, reason="too slow")
    with pytest.raises(Conflict, match="qualification round of"):
        assignment.batch_reassign(batch=batch, contractor=contractor_in_state(S.ACTIVE), actor=staff, reason="x")
    long_after = timezone.now() + timedelta(days=30)
    assert assignment.batches_reclaim_stale(now=long_after) == []
    batch.refresh_from_db()
    assert (batch.assigned_to, batch.state) == (applicant, BatchState.ASSIGNED)
    Batch.objects.filter(pk=batch.pk).update(state=BatchState.OPEN, assigned_to=None, published_at=timezone.now())
    assert assignment.batches_auto_assign(job=qjob, actor=staff) == []


def test_deciding_on_the_applicant_closes_the_round(qjob: Job, applicant: Contractor,
                                                    django_capture_on_commit_callbacks: Callable) -> None:
    batch = qualification.qualification_round_open(contractor=applicant)
    with django_capture_on_commit_callbacks(execute=True):
        contractor_decide(contractor=applicant, action="approve",
                                             actor=staff_user(), reason="good work")
    batch.refresh_from_db()
    assert batch.state == BatchState.DONE


def test_time_on_the_round_is_logged_and_paid_like_any_batch(qjob: Job, applicant: Contractor) -> None:
    now = timezone.now().replace(second=0, microsecond=0)
    with time_machine.travel(now - timedelta(hours=2), tick=False):  # opened before the time logged on it
        batch = qualification.qualification_round_open(contractor=applicant)
    entries = time_entry_create(contractor=applicant, batch=batch, start=now - timedelta(minutes=90),
                                end=now - timedelta(minutes=30), actor=applicant.user, now=now)
    assert sum(e.minutes for e in entries) == 60
    assert {e.hourly_rate for e in entries} == {pay_terms_at(job=qjob, moment=now).hourly_rate}
    page = _client(applicant.user).get("/pay/").content.decode()
    assert f'<option value="{batch.pk}">{qjob.name}, qualification round</option>' in page


# --- scoring the round ----------------------------------------------------------------------

def test_the_score_is_recorded_only_once_every_photo_is_scored_pass_or_not(
        qjob: Job, applicant: Contractor, score: Callable) -> None:
    qualification.qualification_round_open(contractor=applicant)
    _score_round(score, applicant, [0.9, 0.1])
    found = qualification_round(contractor_id=applicant.pk)
    assert (found.scored, found.tasks, found.complete, found.passed) == (2, 3, False, None)
    assert applicant.qualification_score is None
    _score_round(score, applicant, [0.9, 0.1, 0.5])  # the third photo: the first two are scored again
    found = qualification_round(contractor_id=applicant.pk)
    assert found.complete
    assert found.passed is False
    assert str(applicant.qualification_score) == "0.5000"
    assert found.batch.state == BatchState.HANDED_IN
    assert applicant.state == S.QUALIFYING  # staff decide


@override_settings(QUALITY_QUALIFICATION_AUTO_APPROVE=True)
def test_with_auto_approval_a_pass_approves_and_a_fail_waits_for_staff(qjob: Job, score: Callable) -> None:
    good, weak = contractor_in_state(S.QUALIFYING), contractor_in_state(S.QUALIFYING)
    for contractor, values in ((good, [0.7, 0.6, 0.65]), (weak, [0.6, 0.6, 0.5])):
        qualification.qualification_round_open(contractor=contractor)
        _score_round(score, contractor, values)
    assert good.state == S.APPROVED
    assert "passed the qualification round: 0.65 over 3 photos (pass mark 0.60)" in good.state_reason
    assert weak.state == S.QUALIFYING
    assert str(weak.qualification_score) == "0.5667"


# --- pages ----------------------------------------------------------------------------------

def test_the_applicant_sees_their_round_and_its_score_and_no_one_elses(
        qjob: Job, applicant: Contractor, score: Callable) -> None:
    other = contractor_in_state(S.QUALIFYING)
    qualification.qualification_round_open(contractor=applicant)
    qualification.qualification_round_open(contractor=other)
    page = _client(applicant.user).get("/dashboard/").content.decode()
    assert "qualification round</a>: 3 photos" in page  # under My batches, with its Label Studio link
    assert "In progress: the score is final once every photo is scored." in page
    _score_round(score, applicant, [0.8, 0.7, 0.9])
    page = _client(applicant.user).get("/dashboard/").content.decode()
    assert '<strong data-testid="qualification-progress">3 of 3 photos scored</strong>' in page
    assert '<strong data-testid="qualification-score">0.80</strong>' in page
    assert "Passed" in page
    theirs = _client(other.user).get("/dashboard/").content.decode()
    assert "0 of 3 photos scored" in theirs
    assert "0.80" not in theirs


def test_staff_see_the_round_on_the_applicant_page_and_can_open_a_missing_one(
        job: Job, applicant: Contractor) -> None:
    staff = _client(staff_user())
    page = staff.get(f"/staff/applicants/{applicant.pk}/").content.decode()
    assert "No qualification round." in page
    refused = staff.post(f"/console/qualification/{applicant.pk}/open/", follow=True).content.decode()
    assert "No qualification round opened: No job runs a qualification round" in refused
    for _ in range(3):
        gold_task(job)
    qualification.job_qualification_set(job=job, tasks=3)
    opened = staff.post(f"/console/qualification/{applicant.pk}/open/", follow=True).content.decode()
    assert "publishing it to Label Studio in the background" in opened
    assert "0 of 3 photos scored" in opened
    assert qualification.qualification_batch_of(applicant).job == job


def test_only_staff_open_rounds_or_set_a_jobs_round(qjob: Job, applicant: Contractor) -> None:
    contractor = _client(contractor_in_state(S.ACTIVE).user)
    assert contractor.post(f"/console/qualification/{applicant.pk}/open/").status_code in (302, 403)
    assert contractor.post(f"/console/jobs/{qjob.pk}/qualification/", {"qualification_tasks": 1}).status_code in (
        302, 403)
    qjob.refresh_from_db()
    assert qjob.qualification_tasks == 3
    assert not Batch.objects.exists()


def test_staff_set_the_round_on_the_job_page_with_a_clear_refusal(qjob: Job) -> None:
    staff = _client(staff_user())
    page = staff.post(f"/console/jobs/{qjob.pk}/qualification/", {"qualification_tasks": 9}, follow=True)
    assert "Qualification round unchanged: qualification_tasks: the job has 6 photo(s) with gold" in (
        page.content.decode())
    page = staff.post(f"/console/jobs/{qjob.pk}/qualification/", {"qualification_tasks": "x"}, follow=True)
    assert "Qualification round: Enter a whole number." in page.content.decode()
    page = staff.post(f"/console/jobs/{qjob.pk}/qualification/", {"qualification_tasks": 5}, follow=True)
    assert "New applicants now qualify on 5 gold photo(s) of this job." in page.content.decode()
    qjob.refresh_from_db()
    assert qjob.qualification_tasks == 5


def test_the_decision_starts_empty_and_approving_with_unscored_photos_needs_the_confirm_box(
        qjob: Job, applicant: Contractor, score: Callable) -> None:
    qualification.qualification_round_open(contractor=applicant)
    _score_round(score, applicant, [0.9])
    staff = _client(staff_user())
    url = f"/staff/applicants/{applicant.pk}/"
    page = staff.get(url).content.decode()
    assert '<option value="" selected>Choose…</option>' in page
    assert 'value="approve" selected' not in page
    assert "Approve although 2 of 3 qualification photos are not scored" in page

    assert "Choose an action." in staff.post(url, {"reason": "looks fine"}).content.decode()
    refused = staff.post(url, {"action": "approve", "reason": "looks fine"})
    assert refused.status_code == 200
    assert "2 qualification photo(s) are not scored yet: tick the box to approve anyway" in refused.content.decode()
    applicant.refresh_from_db()
    assert applicant.state == S.QUALIFYING
    confirmed = staff.post(url, {"action": "approve", "reason": "seen the masks", "confirm_unscored": "on"})
    assert confirmed.status_code == 302
    applicant.refresh_from_db()
    assert applicant.state == S.APPROVED


def test_with_every_photo_scored_approving_needs_no_confirm_box(
        qjob: Job, applicant: Contractor, score: Callable) -> None:
    qualification.qualification_round_open(contractor=applicant)
    _score_round(score, applicant, [0.9, 0.8, 0.7])
    staff = _client(staff_user())
    url = f"/staff/applicants/{applicant.pk}/"
    assert "qualification photos are not scored" not in staff.get(url).content.decode()
    assert staff.post(url, {"action": "approve", "reason": "scored and checked"}).status_code == 302
    applicant.refresh_from_db()
    assert applicant.state == S.APPROVED

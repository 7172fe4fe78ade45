"""The batch's life (annotations/batch_life.py): its table, the services that drive it, and one batch walked from
assignment to done through a real Label Studio, a rework round included, without setting any state by hand."""
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from annotations import batch_life, labelstudio
from annotations.batch_life import QUALIFICATION_TRANSITIONS, WORK_TRANSITIONS, InvalidBatchTransition
from annotations.models import (
    Annotation,
    Batch,
    BatchKind,
    BatchState,
    BatchTask,
    BatchTransition,
    Job,
    LabelStudioAccount,
    ReviewState,
)
from annotations.services import jobs
from annotations.services.accounts import label_studio_account_ensure
from annotations.services.assignment import batch_assign, batch_reassign, batch_reclaim, batches_reclaim_stale
from annotations.services.hand_in import batch_hand_in
from annotations.services.publishing import batch_publish
from annotations.services.review import annotation_accept, annotation_rework
from annotations.services.sync import annotation_upsert
from common.errors import Conflict, DomainError, NotAllowed
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.factories import UserFactory, contractor_in_state, staff_user
from workforce.models import Contractor, Notification, NotificationKind, OnboardingState, User

S = BatchState


# --- the table -----------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "table"), [(BatchKind.WORK, WORK_TRANSITIONS),
                                        (BatchKind.QUALIFICATION, QUALIFICATION_TRANSITIONS)])
def test_every_transition_is_allowed_or_refused_by_the_table_and_only_allowed_ones_are_audited(
        kind: str, table: dict) -> None:
    """The writer itself: a batch in each state (made here, as only this test may) asked to go to every state."""
    job = jobs.job_create(name="Table", client="c", instructions="i", specs=[], image_source="t", actor=None)[0]
    holder = contractor_in_state(OnboardingState.ACTIVE)
    number = 0
    for from_state in table:
        for to_state in S.values:
            number += 1
            batch = Batch.objects.create(job=job, number=number, kind=kind, state=from_state,
                                         assigned_to=holder if kind == BatchKind.WORK else None)
            if to_state in table[from_state]:
                record = batch_life.transition(batch=batch, to_state=to_state, reason="table")
                assert (record.from_state, record.to_state, record.contractor_id) == (
                    from_state, to_state, batch.assigned_to_id)
                assert Batch.objects.get(pk=batch.pk).state == to_state
            else:
                with pytest.raises(InvalidBatchTransition):
                    batch_life.transition(batch=batch, to_state=to_state)
                assert Batch.objects.get(pk=batch.pk).state == from_state
                assert not BatchTransition.objects.filter(batch=batch).exists()
    assert table[S.DONE] <= {S.REWORK}  # finished work only goes back to its holder, by a reviewer
    if kind == BatchKind.WORK:
        assert S.OPEN not in table[S.HANDED_IN] | table[S.IN_REVIEW] | table[S.REWORK]  # never reclaimed


@pytest.mark.django_db
def test_an_unknown_state_is_refused_naming_it() -> None:
    job = jobs.job_create(name="Table", client="c", instructions="i", specs=[], image_source="t", actor=None)[0]
    batch = Batch.objects.create(job=job, number=1)
    with pytest.raises(DomainError, match="'shipped' is not a batch state"):
        batch_life.transition(batch=batch, to_state="shipped")


# --- the services, without Label Studio ----------------------------------------------------

@pytest.fixture
def job(sample: Path) -> Job:  # noqa: F811
    """The five-photo sample cut in batches of two photos plus one hidden gold, marked published (publishing
    itself is tested against Label Studio below)."""
    job, _ = jobs.job_create(name="Screens", client="Refurb Co", instructions="Paint.",
                             specs=jobs.specs_from_manifest(sample / "manifest.json"), image_source=str(sample),
                             actor=None, batch_size=2)
    jobs.batches_cut(job=job)
    job.batches.update(published_at=timezone.now())
    return job


def _annotate(batch: Batch, contractor: Contractor, *, skip: int = 0) -> list[Annotation]:
    """The holder's work on every photo of the batch but the last `skip`, through the sync's own upsert."""
    account, _ = LabelStudioAccount.objects.get_or_create(
        contractor=contractor, defaults={"ls_user_id": 700_000 + contractor.pk, "email": contractor.user.email})
    rows = list(batch.batch_tasks.order_by("id"))
    made = []
    for bt in rows[:len(rows) - skip]:
        bt.ls_task_id = bt.ls_task_id or 800_000 + bt.pk
        bt.save(update_fields=["ls_task_id"])
        made.append(annotation_upsert(payload={
            "id": uuid.uuid4().int % 2_000_000_000, "task": bt.ls_task_id, "completed_by": account.ls_user_id,
            "result": [], "lead_time": 60.0, "created_at": timezone.now().isoformat(),
            "updated_at": timezone.now().isoformat()}))
    return made


@pytest.fixture
def staff() -> User:
    return staff_user()


@pytest.mark.django_db
def test_handing_in_needs_the_holder_and_an_annotation_on_every_photo(job: Job, staff: User) -> None:
    ana, bo = contractor_in_state(OnboardingState.ACTIVE), contractor_in_state(OnboardingState.ACTIVE)
    batch = batch_assign(batch=job.batches.get(number=1), contractor=ana, actor=staff)
    with pytest.raises(DomainError, match="3 of 3 photos have no submitted annotation"):
        batch_hand_in(batch=batch, contractor=ana)
    _annotate(batch, ana, skip=1)
    assert Batch.objects.get(pk=batch.pk).state == S.IN_PROGRESS  # the first synced annotation did that
    with pytest.raises(DomainError, match="1 of 3 photos have no submitted annotation"):
        batch_hand_in(batch=batch, contractor=ana)
    with pytest.raises(NotAllowed):
        batch_hand_in(batch=batch, contractor=bo)
    assert Batch.objects.get(pk=batch.pk).state == S.IN_PROGRESS


@pytest.mark.django_db
def test_handed_in_work_is_never_reclaimed_reassigned_or_reviewed_before_it_is_handed_in(job: Job,
                                                                                        staff: User) -> None:
    ana, bo = contractor_in_state(OnboardingState.ACTIVE), contractor_in_state(OnboardingState.ACTIVE)
    batch = batch_assign(batch=job.batches.get(number=1), contractor=ana, actor=staff)
    made = _annotate(batch, ana)
    work = next(a for a in made if not a.batch_task.is_gold)
    with pytest.raises(Conflict, match="not handed in yet"):
        annotation_accept(annotation=work, reviewer=staff)
    batch_hand_in(batch=batch, contractor=ana)
    assert Batch.objects.get(pk=batch.pk).state == S.HANDED_IN
    assert batches_reclaim_stale(now=timezone.now() + timedelta(days=30)) == []
    with pytest.raises(Conflict, match="handed in; only a batch that is assigned or in progress"):
        batch_reclaim(batch=batch, actor=staff, reason="late")
    with pytest.raises(Conflict, match="handed in; only a batch that is assigned or in progress"):
        batch_reassign(batch=batch, contractor=bo, actor=staff, reason="faster")
    with pytest.raises(Conflict, match="nothing to hand in"):
        batch_hand_in(batch=batch, contractor=ana)
    assert Batch.objects.get(pk=batch.pk).assigned_to == ana


@pytest.mark.django_db
def test_review_moves_the_batch_and_each_rework_emails_its_comment_once(
        job: Job, staff: User, django_capture_on_commit_callbacks: Callable) -> None:
    ana = contractor_in_state(OnboardingState.ACTIVE)
    batch = batch_assign(batch=job.batches.get(number=1), contractor=ana, actor=staff)
    work = [a for a in _annotate(batch, ana) if not a.batch_task.is_gold]
    batch_hand_in(batch=batch, contractor=ana)
    annotation_accept(annotation=work[0], reviewer=staff)
    assert Batch.objects.get(pk=batch.pk).state == S.IN_REVIEW
    mail.outbox.clear()
    with pytest.raises(DomainError, match="say what to fix"):
        annotation_rework(annotation=work[1], reviewer=staff, comment="  ")
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        annotation_rework(annotation=work[1], reviewer=staff, comment="The crack goes on to the edge.\nPaint it all.")
    assert Batch.objects.get(pk=batch.pk).state == S.REWORK
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [ana.user.email]
    assert "> The crack goes on to the edge.\n> Paint it all." in mail.outbox[0].body
    assert work[1].batch_task.task.key in mail.outbox[0].subject
    notice = Notification.objects.get(contractor=ana, kind=NotificationKind.REWORK)  # also on the dashboard
    assert notice.params["comment"] == "The crack goes on to the edge.\nPaint it all."
    with pytest.raises(DomainError, match="1 photo sent back for rework is unchanged"):
        batch_hand_in(batch=batch, contractor=ana)

    client = Client()
    client.force_login(ana.user)
    page = client.get("/dashboard/").content.decode()
    assert "The crack goes on to the edge.<br>Paint it all." in page
    assert f"To fix: photo {work[1].batch_task.task.key}" in page
    assert f"/my/annotations/{work[1].pk}.jpg" in page  # its overlay: the sample photos have pre-annotations
    assert client.get(f"/my/annotations/{work[1].pk}.jpg")["Content-Type"] == "image/jpeg"
    other = Client()
    other.force_login(contractor_in_state(OnboardingState.ACTIVE).user)
    assert other.get(f"/my/annotations/{work[1].pk}.jpg").status_code == 404
    assert other.post(f"/batches/{batch.pk}/hand-in/").status_code == 404


# --- the whole life, through Label Studio --------------------------------------------------

def _in_studio(method: str, path: str, **kwargs: object) -> dict:
    response = httpx.request(method, f"{settings.LABEL_STUDIO_URL}{path}", timeout=30,
                             headers={"Authorization": f"Token {settings.LABEL_STUDIO_API_KEY}"}, **kwargs)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _submit(bt: BatchTask, ls_user_id: int, result: list) -> int:
    """What the contractor does in Label Studio: submit an annotation (made with the admin token on their behalf;
    Label Studio keeps completed_by as given)."""
    return _in_studio("POST", f"/api/tasks/{bt.ls_task_id}/annotations/",
                      json={"result": result, "completed_by": ls_user_id, "lead_time": 120.0})["id"]


@pytest.fixture
def ls_job(sample: Path, label_studio: str) -> Iterator[Job]:  # noqa: F811
    job, _ = jobs.job_create(name=f"Life {uuid.uuid4().hex[:6]}", client="Refurb Co", instructions="Paint.",
                             specs=jobs.specs_from_manifest(sample / "manifest.json"), image_source=str(sample),
                             actor=None, batch_size=2)
    jobs.batches_cut(job=job)
    yield job
    for project_id in Batch.objects.filter(job=job, ls_project_id__isnull=False).values_list("ls_project_id",
                                                                                              flat=True):
        labelstudio.project_delete(project_id=project_id)


@pytest.mark.labelstudio
@pytest.mark.django_db(transaction=True)
def test_a_batch_lives_from_assignment_to_done_with_a_rework_round_in_label_studio(ls_job: Job) -> None:
    staff = staff_user()
    ana = contractor_in_state(OnboardingState.ACTIVE, user=UserFactory(email=f"life-{uuid.uuid4().hex[:8]}@ex.org"))
    account = label_studio_account_ensure(contractor=ana)
    batch = batch_publish(batch_id=ls_job.batches.get(number=1).pk)
    batch = batch_assign(batch=batch, contractor=ana, actor=staff)
    rows = list(batch.batch_tasks.select_related("task").order_by("id"))
    contractor, reviewer = Client(), Client()
    contractor.force_login(ana.user)
    reviewer.force_login(staff)

    # Work on all photos but one, then "Hand in": Label Studio is read first, the missing photo named.
    ids = {bt.pk: _submit(bt, account.ls_user_id, bt.task.prediction["result"]) for bt in rows[:-1]}
    refused = contractor.post(f"/batches/{batch.pk}/hand-in/", follow=True).content.decode()
    assert f"1 of {len(rows)} photos have no submitted annotation in Label Studio yet: {rows[-1].task.key}" in refused
    assert Batch.objects.get(pk=batch.pk).state == S.IN_PROGRESS
    ids[rows[-1].pk] = _submit(rows[-1], account.ls_user_id, rows[-1].task.prediction["result"])
    handed = contractor.post(f"/batches/{batch.pk}/hand-in/", follow=True).content.decode()
    assert "handed in for review" in handed
    assert Batch.objects.get(pk=batch.pk).state == S.HANDED_IN

    # Review photo by photo: one accepted, one sent back with a comment.
    work = [Annotation.objects.get(ls_annotation_id=ids[bt.pk]) for bt in rows if not bt.is_gold]
    queue = reviewer.get("/console/review/").content.decode()
    assert all(f"#{a.ls_annotation_id}" in queue for a in work)
    reviewer.post(f"/console/review/{work[0].pk}/", {"decision": "accept"})
    reviewer.post(f"/console/review/{work[1].pk}/", {"decision": "rework", "comment": "Missed the pit top left."})
    assert Batch.objects.get(pk=batch.pk).state == S.REWORK
    assert "Missed the pit top left." in contractor.get("/dashboard/").content.decode()

    # The fix, made in Label Studio, is what lets the batch be handed in again.
    assert "unchanged" in contractor.post(f"/batches/{batch.pk}/hand-in/", follow=True).content.decode()
    fixed = next(bt for bt in rows if bt.pk == work[1].batch_task_id)
    _in_studio("PATCH", f"/api/annotations/{ids[fixed.pk]}/", json={"result": fixed.task.gold_result})
    contractor.post(f"/batches/{batch.pk}/hand-in/")
    assert Batch.objects.get(pk=batch.pk).state == S.HANDED_IN
    work[1].refresh_from_db()
    assert work[1].review_state == ReviewState.PENDING
    assert work[1].result == fixed.task.gold_result
    reviewer.post(f"/console/review/{work[1].pk}/", {"decision": "accept"})

    batch.refresh_from_db()
    assert batch.state == S.DONE
    assert list(batch.transitions.values_list("from_state", "to_state")) == [
        (S.OPEN, S.ASSIGNED), (S.ASSIGNED, S.IN_PROGRESS), (S.IN_PROGRESS, S.HANDED_IN),
        (S.HANDED_IN, S.IN_REVIEW), (S.IN_REVIEW, S.REWORK), (S.REWORK, S.HANDED_IN), (S.HANDED_IN, S.IN_REVIEW),
        (S.IN_REVIEW, S.DONE)]
    assert set(batch.transitions.values_list("contractor_id", flat=True)) == {ana.pk}
    assert batches_reclaim_stale(now=timezone.now() + timedelta(days=30)) == []

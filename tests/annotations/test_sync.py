"""Annotations reach LabelCrew from the real Label Studio: by the catch-up poll and by signed webhooks."""
import json
import socket
import time
import uuid
from collections.abc import Callable

import httpx
import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import reverse

from annotations import labelstudio
from annotations.models import Annotation, Batch, BatchState, BatchTask, Job, LabelStudioAccount, ReviewState, SyncState
from annotations.services.publishing import batch_publish
from annotations.services.sync import annotation_upsert, sync_poll
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.annotations.test_publishing import job  # noqa: F401 - a job whose projects are deleted afterwards
from tests.factories import ContractorFactory
from workforce.models import Contractor

SECRET = "test-webhook-secret-" + "x" * 20
URL = "/webhooks/label-studio/"

pytestmark = [pytest.mark.labelstudio, pytest.mark.urls("tests.annotations.urls_for_sync")]


def _contractor_in_studio() -> tuple[Contractor, int]:
    contractor = ContractorFactory()
    email = f"annotator-{uuid.uuid4().hex[:10]}@example.com"
    ls_user_id = labelstudio.user_ensure(email=email, first_name="Ann", last_name="Otator",
                                         password="a-long-password-1")
    LabelStudioAccount.objects.create(contractor=contractor, ls_user_id=ls_user_id, email=email)
    return contractor, ls_user_id


def _annotate(bt: BatchTask, ls_user_id: int, *, result: list | None = None, lead_time: float = 42.5) -> dict:
    """An annotation made in Label Studio as that user; returns it as Label Studio serializes it."""
    answer = httpx.post(f"{settings.LABEL_STUDIO_URL}/api/tasks/{bt.ls_task_id}/annotations/", timeout=10,
                        headers={"Authorization": f"Token {settings.LABEL_STUDIO_API_KEY}"},
                        json={"result": result if result is not None else bt.task.prediction["result"],
                              "completed_by": ls_user_id, "lead_time": lead_time})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _event(action: str, annotation: dict, batch: Batch) -> dict:
    """A webhook body shaped as Label Studio sends it."""
    return {"action": action, "annotation": annotation,
            "task": {"id": annotation["task"], "data": {}, "project": batch.ls_project_id},
            "project": {"id": batch.ls_project_id, "title": f"batch {batch.number}"}}


@pytest.fixture
def held(job: Job) -> tuple[Batch, Contractor, int]:  # noqa: F811
    """Batch 1, published and held by a contractor who has a Label Studio user."""
    batch = batch_publish(batch_id=job.batches.get(number=1).pk)
    contractor, ls_user_id = _contractor_in_studio()
    Batch.objects.filter(pk=batch.pk).update(assigned_to=contractor, state=BatchState.ASSIGNED)
    batch.refresh_from_db()
    return batch, contractor, ls_user_id


@pytest.fixture
def post_webhook(client: Client) -> Callable[..., HttpResponse]:
    def post(body: object, *, secret: str | None = SECRET) -> HttpResponse:
        headers = {"HTTP_X_LABELCREW_WEBHOOK_SECRET": secret} if secret is not None else {}
        with override_settings(LABEL_STUDIO_WEBHOOK_SECRET=SECRET):
            return client.post(URL, data=json.dumps(body), content_type="application/json", **headers)
    return post


def _plain(batch: Batch) -> BatchTask:
    return batch.batch_tasks.filter(is_gold=False).select_related("task").order_by("id").first()


def _gold(batch: Batch) -> BatchTask:
    return batch.batch_tasks.filter(is_gold=True).select_related("task").get()


def test_the_url_is_named_in_the_annotations_namespace() -> None:
    assert reverse("annotations:label-studio-webhook") == URL


@pytest.mark.django_db
def test_the_poll_brings_an_annotation_in_once_with_its_contractor_and_lead_time(held: tuple) -> None:
    batch, contractor, ls_user_id = held
    made = _annotate(_plain(batch), ls_user_id, lead_time=42.5)
    assert sync_poll(batch_ids=[batch.pk]) == 1
    assert sync_poll(batch_ids=[batch.pk]) == 1
    row = Annotation.objects.get()
    assert row.ls_annotation_id == made["id"]
    assert row.contractor == contractor
    assert row.lead_time == 42.5
    assert not row.unassigned_work
    assert row.problems == []
    assert row.review_state == ReviewState.PENDING
    assert row.ls_created_at.utcoffset().total_seconds() == 0
    assert SyncState.objects.get().failing is False


@pytest.mark.django_db
def test_a_signed_webhook_records_the_annotation_once_however_often_it_arrives(held: tuple, post_webhook) -> None:
    batch, contractor, ls_user_id = held
    event = _event("ANNOTATION_CREATED", _annotate(_plain(batch), ls_user_id), batch)
    for _ in range(2):
        answer = post_webhook(event)
        assert (answer.status_code, answer.json()) == (200, {"ok": True})
    row = Annotation.objects.get()
    assert (row.contractor, row.unassigned_work, row.lead_time) == (contractor, False, 42.5)
    sync_poll(batch_ids=[batch.pk])  # the poll agrees with the webhook: still one row
    assert Annotation.objects.count() == 1


@pytest.mark.django_db
def test_a_webhook_without_the_right_secret_is_refused_and_writes_nothing(held: tuple, post_webhook, client) -> None:
    batch, _, ls_user_id = held
    event = _event("ANNOTATION_CREATED", _annotate(_plain(batch), ls_user_id), batch)
    assert post_webhook(event, secret=None).status_code == 403
    assert post_webhook(event, secret="wrong").status_code == 403
    with override_settings(LABEL_STUDIO_WEBHOOK_SECRET=""):  # unconfigured: nothing is trusted
        answer = client.post(URL, data=json.dumps(event), content_type="application/json",
                             HTTP_X_LABELCREW_WEBHOOK_SECRET="")
    assert answer.status_code == 403
    assert not Annotation.objects.exists()


@pytest.mark.django_db
def test_a_webhook_for_a_task_or_project_labelcrew_does_not_know_is_422_with_a_message(held: tuple,
                                                                                       post_webhook) -> None:
    batch, _, ls_user_id = held
    made = _annotate(_plain(batch), ls_user_id)
    answer = post_webhook(_event("ANNOTATION_CREATED", {**made, "task": 99_999_999}, batch))
    assert answer.status_code == 422
    assert "task 99999999" in answer.json()["detail"]
    event = _event("ANNOTATION_CREATED", made, batch)
    event["project"] = {"id": 99_999_998}
    answer = post_webhook(event)
    assert answer.status_code == 422
    assert "project 99999998" in answer.json()["detail"]
    assert not Annotation.objects.exists()


@pytest.mark.django_db
def test_a_bad_body_is_400(post_webhook, client) -> None:
    with override_settings(LABEL_STUDIO_WEBHOOK_SECRET=SECRET):
        answer = client.post(URL, data="{not json", content_type="application/json",
                             HTTP_X_LABELCREW_WEBHOOK_SECRET=SECRET)
    assert answer.status_code == 400
    assert post_webhook(["a", "list"]).status_code == 400
    assert post_webhook({"action": "ANNOTATION_CREATED", "annotation": {"id": 1}}).status_code == 400


@pytest.mark.django_db
def test_an_unknown_label_is_recorded_as_a_problem_not_an_error(held: tuple, post_webhook) -> None:
    batch, _, ls_user_id = held
    bt = _plain(batch)
    result = json.loads(json.dumps(bt.task.prediction["result"]))
    result[0]["value"]["brushlabels"] = ["Smudge"]
    made = _annotate(bt, ls_user_id)
    answer = post_webhook(_event("ANNOTATION_CREATED", {**made, "result": result}, batch))
    assert answer.status_code == 200
    row = Annotation.objects.get()
    assert [p["code"] for p in row.problems] == ["unknown_label"]
    assert "'Smudge' is not a class of this job" in row.problems[0]["message"]


@pytest.mark.django_db
def test_work_by_someone_who_does_not_hold_the_batch_is_flagged_unassigned(held: tuple) -> None:
    batch, _, _ = held
    stranger, stranger_ls_id = _contractor_in_studio()
    _annotate(_plain(batch), stranger_ls_id)
    sync_poll(batch_ids=[batch.pk])
    row = Annotation.objects.get()
    assert row.contractor == stranger
    assert row.unassigned_work is True


@pytest.mark.django_db
def test_a_deleted_annotation_is_marked_deleted_by_the_webhook_and_by_the_poll(held: tuple, post_webhook) -> None:
    batch, _, ls_user_id = held
    first = _annotate(_plain(batch), ls_user_id)
    second = _annotate(_gold(batch), ls_user_id)
    sync_poll(batch_ids=[batch.pk])
    answer = post_webhook({"action": "ANNOTATIONS_DELETED", "annotations": [{"id": first["id"]}],
                           "project": {"id": batch.ls_project_id}})
    assert answer.status_code == 200
    assert post_webhook({"action": "ANNOTATION_DELETED", "annotation": {"id": first["id"]}}).status_code == 200
    assert Annotation.objects.get(ls_annotation_id=first["id"]).deleted is True
    # A late created event does not bring it back.
    post_webhook(_event("ANNOTATION_CREATED", first, batch))
    assert Annotation.objects.get(ls_annotation_id=first["id"]).deleted is True
    # A deletion whose webhook was missed: the poll notices it is gone from Label Studio.
    labelstudio.call(lambda ls: ls.annotations.delete(id=second["id"]), what="delete annotation")
    sync_poll(batch_ids=[batch.pk])
    assert Annotation.objects.get(ls_annotation_id=second["id"]).deleted is True


@pytest.mark.django_db
def test_a_gold_task_annotation_is_queued_for_scoring_and_others_wait_for_review(held: tuple) -> None:
    batch, _, ls_user_id = held
    gold_bt = _gold(batch)
    gold = _annotate(gold_bt, ls_user_id, result=gold_bt.task.gold_result)
    plain = _annotate(_plain(batch), ls_user_id)
    sync_poll(batch_ids=[batch.pk])
    assert Annotation.objects.get(ls_annotation_id=gold["id"]).review_state == ReviewState.SCORING
    assert Annotation.objects.get(ls_annotation_id=plain["id"]).review_state == ReviewState.PENDING


@pytest.mark.django_db
def test_an_update_keeps_a_review_decision_unless_the_content_changed(held: tuple) -> None:
    batch, _, ls_user_id = held
    made = _annotate(_plain(batch), ls_user_id)
    annotation_upsert(payload=made)
    Annotation.objects.update(review_state=ReviewState.ACCEPTED)
    annotation_upsert(payload={**made, "lead_time": 50.0})
    assert Annotation.objects.get().review_state == ReviewState.ACCEPTED
    annotation_upsert(payload={**made, "result": [], "updated_at": "2099-01-01T00:00:00Z"})
    row = Annotation.objects.get()
    assert (row.review_state, row.result) == (ReviewState.PENDING, [])


@pytest.mark.django_db
def test_label_studio_down_during_a_poll_is_recorded_and_the_next_poll_catches_up(held: tuple) -> None:
    batch, _, ls_user_id = held
    first = _annotate(_plain(batch), ls_user_id)
    sync_poll(batch_ids=[batch.pk])
    second = _annotate(_gold(batch), ls_user_id)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with override_settings(LABEL_STUDIO_URL=f"http://127.0.0.1:{closed}"), \
            pytest.raises(labelstudio.LabelStudioUnavailable, match="cannot reach"):
        sync_poll(batch_ids=[batch.pk])
    state = SyncState.objects.get()
    assert state.failing is True
    assert "cannot reach" in state.error
    assert sync_poll(batch_ids=[batch.pk]) == 2
    state.refresh_from_db()
    assert (state.failing, state.error) == (False, "")
    assert state.last_success_at is not None
    assert sorted(Annotation.objects.filter(deleted=False).values_list("ls_annotation_id", flat=True)) == \
        sorted([first["id"], second["id"]])


@pytest.mark.django_db(transaction=True)
def test_an_annotation_made_in_label_studio_arrives_by_its_real_webhook_exactly_once(held: tuple, live_server,
                                                                                    settings) -> None:
    batch, contractor, ls_user_id = held
    settings.LABEL_STUDIO_WEBHOOK_SECRET = SECRET  # the live server thread reads the same settings
    labelstudio.webhook_ensure(project_id=batch.ls_project_id, url=live_server.url + URL, secret=SECRET,
                               actions=["ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED"])
    made = _annotate(_plain(batch), ls_user_id)
    deadline = time.monotonic() + 10
    while not Annotation.objects.filter(ls_annotation_id=made["id"]).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # a duplicate delivery would land by now
    row = Annotation.objects.get()
    assert (row.ls_annotation_id, row.contractor, row.unassigned_work) == (made["id"], contractor, False)

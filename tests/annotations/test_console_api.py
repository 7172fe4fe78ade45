"""The staff console's API (/api/v1/console/): staff only, paged and filtered, acting through the console's services
with the console's refusals; and the throttle every API endpoint answers through."""
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from annotations.models import (
    Annotation,
    AssignmentAction,
    AssignmentEvent,
    Batch,
    BatchState,
    BatchTask,
    Delivery,
    DeliveryState,
    Job,
    Review,
    ReviewState,
)
from annotations.selectors.jobs import job_with_progress
from annotations.services import jobs
from annotations.services.assignment import batch_assign
from annotations.services.delivery import delivery_start
from annotations.services.review import annotation_accept
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.factories import batch_held_by, contractor_in_state, job_plain, staff_user
from workforce.models import Contractor, OnboardingState, User

pytestmark = pytest.mark.django_db
S = OnboardingState
API = "/api/v1/console"


def api_of(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def lead() -> User:
    return staff_user()


@pytest.fixture
def staff(lead: User) -> APIClient:
    return api_of(lead)


def _published_job(sample_dir: Path, name: str = "Screens", **kwargs: object) -> Job:
    """The sample's five photos in batches of one, plus one hidden gold each, marked published (publishing itself
    is tested against Label Studio elsewhere)."""
    job, _ = jobs.job_create(name=name, client="Refurb Co", instructions="Paint every defect.",
                             specs=jobs.specs_from_manifest(sample_dir / "manifest.json"), image_source=str(sample_dir),
                             actor=None, batch_size=1, **kwargs)
    jobs.batches_cut(job=job)
    for batch in job.batches.all():
        Batch.objects.filter(pk=batch.pk).update(ls_project_id=800_000 + batch.pk, published_at=timezone.now())
    return job


@pytest.fixture
def job(sample: Path) -> Job:  # noqa: F811
    return _published_job(sample)


def _annotate(batch_task: BatchTask, contractor: Contractor | None = None) -> Annotation:
    return Annotation.objects.create(ls_annotation_id=uuid.uuid4().int % 2_000_000_000, batch_task=batch_task,
                                     contractor=contractor, result=batch_task.task.prediction["result"],
                                     lead_time=30.0, ls_created_at=timezone.now())


def _own_task(job: Job, number: int) -> BatchTask:
    return BatchTask.objects.get(batch__job=job, batch__number=number, is_gold=False)


def _batch(job: Job, number: int) -> Batch:
    return job.batches.get(number=number)


# --- who may call ------------------------------------------------------------------------------------------

def _endpoints(job: Job, annotation: Annotation, delivery: Delivery) -> list[tuple[str, str]]:
    batch = _batch(job, 1).pk
    return [
        ("get", f"{API}/jobs/"), ("get", f"{API}/jobs/{job.pk}/"), ("post", f"{API}/jobs/{job.pk}/publish/"),
        ("post", f"{API}/jobs/{job.pk}/rescore/"), ("post", f"{API}/jobs/{job.pk}/auto-assign/"),
        ("get", f"{API}/jobs/{job.pk}/capacity/"), ("get", f"{API}/jobs/{job.pk}/deliveries/"),
        ("post", f"{API}/jobs/{job.pk}/deliveries/"), ("get", f"{API}/batches/"), ("get", f"{API}/batches/stale/"),
        ("get", f"{API}/batches/{batch}/"), ("post", f"{API}/batches/{batch}/assign/"),
        ("post", f"{API}/batches/{batch}/reclaim/"), ("get", f"{API}/review/"),
        ("get", f"{API}/review/{annotation.pk}/"), ("post", f"{API}/review/{annotation.pk}/decision/"),
        ("get", f"{API}/deliveries/{delivery.pk}/"),
    ]


def _delivered(job: Job, lead: User) -> tuple[Annotation, Delivery]:
    """An accepted annotation of photo 1 and a partial delivery of it, made through the services."""
    accepted = annotation_accept(annotation=_annotate(_own_task(job, 1)), reviewer=lead)
    return accepted, delivery_start(job=job, actor=lead, partial=True)


def test_every_endpoint_refuses_contractors_and_anonymous_callers_and_changes_nothing(job: Job, lead: User) -> None:
    annotation, delivery = _delivered(job, lead)
    pending = _annotate(_own_task(job, 2))
    ana = contractor_in_state(S.ACTIVE)
    before = (list(Batch.objects.values_list("state", "assigned_to").order_by("pk")), Review.objects.count(),
              Delivery.objects.count())
    for caller in (api_of(ana.user), api_of(None)):
        for method, url in _endpoints(job, pending, delivery):
            response = getattr(caller, method)(url, {"contractor": ana.pk, "decision": "accept"}, format="json")
            assert response.status_code in (401, 403), (method, url, response.status_code)
    assert (list(Batch.objects.values_list("state", "assigned_to").order_by("pk")), Review.objects.count(),
            Delivery.objects.count()) == before
    assert annotation.review_state == ReviewState.ACCEPTED


def test_every_read_answers_staff(staff: APIClient, job: Job, lead: User) -> None:
    annotation, delivery = _delivered(job, lead)
    for method, url in _endpoints(job, annotation, delivery):
        if method == "get":
            assert staff.get(url).status_code == 200, url
    assert staff.get(f"{API}/jobs/999999/").status_code == 404
    assert staff.get(f"{API}/review/999999/").status_code == 404


def test_the_schema_lists_every_console_path(staff: APIClient) -> None:
    paths = staff.get("/api/schema/", {"format": "json"}).json()["paths"]
    for path in ("jobs/", "jobs/{id}/", "jobs/{id}/publish/", "jobs/{id}/rescore/", "jobs/{id}/auto-assign/",
                 "jobs/{id}/capacity/", "jobs/{id}/deliveries/", "batches/", "batches/stale/", "batches/{id}/",
                 "batches/{id}/assign/", "batches/{id}/reclaim/", "review/", "review/{id}/", "review/{id}/decision/",
                 "deliveries/{id}/"):
        assert f"{API}/{path}" in paths, path
    assert "post" in paths[f"{API}/batches/{{id}}/assign/"]


# --- jobs -----------------------------------------------------------------------------------------------------

def test_the_job_list_pages_searches_and_carries_the_progress_counts(staff: APIClient, job: Job, lead: User) -> None:
    for name in ("Bumpers", "Hinges"):
        job_plain(name=name)
    accepted = annotation_accept(annotation=_annotate(_own_task(job, 1)), reviewer=lead)
    _annotate(_own_task(job, 2))
    first = staff.get(f"{API}/jobs/", {"page_size": 2}).json()
    assert first["count"] == 3
    assert [row["name"] for row in first["results"]] == ["Hinges", "Bumpers"]  # newest first
    last = staff.get(first["next"]).json()
    assert [row["name"] for row in last["results"]] == ["Screens"]
    expected = job_with_progress(job.pk)
    progress = last["results"][0]["progress"]
    assert progress == {"photos": expected.n_tasks, "gold": expected.n_gold, "batches": expected.n_batches,
                        "annotated": 2, "reviewed": 1, "accepted": 1}
    assert progress["photos"] == 5
    assert progress["batches"] == 5
    assert [row["name"] for row in staff.get(f"{API}/jobs/", {"search": "hing"}).json()["results"]] == ["Hinges"]
    assert staff.get(f"{API}/jobs/", {"search": "refurb"}).json()["count"] == 3  # the client too
    detail = staff.get(f"{API}/jobs/{job.pk}/").json()
    assert detail["progress"] == progress
    assert detail["batches_by_state"] == {state: job.batches.filter(state=state).count()
                                          for state in BatchState.values}
    assert sum(detail["batches_by_state"].values()) == 5
    assert accepted.review_state == ReviewState.ACCEPTED


def test_publish_queues_the_unpublished_batches(staff: APIClient, sample: Path) -> None:  # noqa: F811
    fresh, _ = jobs.job_create(name="New", client="Refurb Co", instructions="", actor=None, batch_size=2,
                               specs=jobs.specs_from_manifest(sample / "manifest.json"), image_source=str(sample))
    jobs.batches_cut(job=fresh)
    response = staff.post(f"{API}/jobs/{fresh.pk}/publish/")
    assert response.status_code == 202
    assert response.json() == {"job": fresh.pk, "queued": fresh.batches.filter(published_at__isnull=True).count()}
    assert response.json()["queued"] == 3
    assert staff.post(f"{API}/jobs/{fresh.pk}/rescore/").json() == {"job": fresh.pk, "queued": True}
    assert staff.post(f"{API}/jobs/999999/publish/").status_code == 404


# --- batches, assignment, reclaim --------------------------------------------------------------------------------

def test_the_batch_list_pages_and_filters_by_job_state_and_holder(staff: APIClient, job: Job, lead: User,
                                                                  sample: Path) -> None:  # noqa: F811
    other = _published_job(sample, name="Other")
    ana, bo = contractor_in_state(S.ACTIVE), contractor_in_state(S.ACTIVE)
    batch_assign(batch=_batch(job, 2), contractor=ana, actor=lead)
    batch_assign(batch=_batch(other, 1), contractor=bo, actor=lead)
    everything = staff.get(f"{API}/batches/", {"page_size": 4}).json()
    assert everything["count"] == 10
    assert len(everything["results"]) == 4
    assert everything["next"]
    of_job = staff.get(f"{API}/batches/", {"job": job.pk}).json()["results"]
    assert [row["number"] for row in of_job] == [1, 2, 3, 4, 5]
    assert {row["job"] for row in of_job} == {job.pk}
    assert of_job[0]["tasks"] == 2  # the photo and its hidden gold
    held = staff.get(f"{API}/batches/", {"state": "assigned"}).json()["results"]
    assert {(row["job"], row["number"], row["contractor"]) for row in held} == {(job.pk, 2, ana.pk),
                                                                                (other.pk, 1, bo.pk)}
    assert held[0]["contractor_email"] in (ana.user.email, bo.user.email)
    anas = staff.get(f"{API}/batches/", {"contractor": ana.pk}).json()["results"]
    assert [(row["job"], row["number"]) for row in anas] == [(job.pk, 2)]
    assert staff.get(f"{API}/batches/", {"job": job.pk, "state": "open"}).json()["count"] == 4
    refused = staff.get(f"{API}/batches/", {"state": "lost"})
    assert refused.status_code == 400
    assert "state" in refused.json()
    assert staff.get(f"{API}/batches/", {"job": 999999}).status_code == 404


def test_assigning_by_hand_hands_the_batch_over_and_keeps_the_reason(staff: APIClient, job: Job, lead: User) -> None:
    ana = contractor_in_state(S.ACTIVE)
    batch = _batch(job, 1)
    response = staff.post(f"{API}/batches/{batch.pk}/assign/", {"contractor": ana.pk, "reason": "knows phones"},
                          format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["state"], body["contractor"], body["contractor_email"]) == ("assigned", ana.pk, ana.user.email)
    assert [(e["action"], e["contractor"], e["actor"], e["reason"]) for e in body["history"]] == [
        ("assign", ana.pk, lead.email, "knows phones")]
    batch.refresh_from_db()
    assert (batch.state, batch.assigned_to) == (BatchState.ASSIGNED, ana)
    assert staff.get(f"{API}/batches/{batch.pk}/").json() == body


@pytest.mark.parametrize(("who", "field", "status", "said"), [
    ("approved", "contractor", 400, "cannot receive batches"),  # not active yet
    ("below_cap", "contractor", 400, "h left this week"),  # no hours left for the batch
    ("nobody", "contractor", 400, "No such contractor"),
    ("holder", "batch", 409, "is held by"),  # the batch is already held
])
def test_an_assignment_the_console_refuses_is_refused_naming_the_field(
        staff: APIClient, job: Job, lead: User, who: str, field: str, status: int, said: str) -> None:
    batch = _batch(job, 1)
    holder = contractor_in_state(S.ACTIVE)
    if who == "holder":
        batch_assign(batch=batch, contractor=holder, actor=lead)
    contractor_id = {
        "approved": lambda: contractor_in_state(S.APPROVED).pk,
        "below_cap": lambda: _without_hours(contractor_in_state(S.ACTIVE)).pk,
        "nobody": lambda: 999_999,
        "holder": lambda: contractor_in_state(S.ACTIVE).pk,
    }[who]()
    events = AssignmentEvent.objects.count()
    response = staff.post(f"{API}/batches/{batch.pk}/assign/", {"contractor": contractor_id}, format="json")
    assert response.status_code == status, response.json()
    assert said in response.json()[field][0]
    assert AssignmentEvent.objects.count() == events
    batch.refresh_from_db()
    assert batch.assigned_to_id == (holder.pk if who == "holder" else None)


def _without_hours(contractor: Contractor) -> Contractor:
    """A contractor who would need more hours than the weekly cap leaves: a slow pace measured on past work."""
    old = batch_held_by(contractor)
    bt = BatchTask.objects.create(batch=old, task=_own_task(Job.objects.get(name="Screens"), 5).task)
    Annotation.objects.create(ls_annotation_id=uuid.uuid4().int % 2_000_000_000, batch_task=bt,
                              contractor=contractor, lead_time=60 * 3600.0, ls_created_at=timezone.now())
    Batch.objects.filter(pk=old.pk).update(state=BatchState.DONE)
    return contractor


def test_a_bad_assign_body_is_refused_naming_the_field(staff: APIClient, job: Job) -> None:
    batch = _batch(job, 1)
    for body, field in (({}, "contractor"), ({"contractor": "ana"}, "contractor"),
                        ({"contractor": 1, "reason": "x" * 501}, "reason"),
                        ({"contractor": 1, "reason": "a\u202eb"}, "reason")):
        response = staff.post(f"{API}/batches/{batch.pk}/assign/", body, format="json")
        assert (response.status_code, field in response.json()) == (400, True), body
    assert staff.post(f"{API}/batches/999999/assign/", {"contractor": 1}, format="json").status_code == 404


def test_auto_assign_fills_who_can_receive_and_the_board_then_says_why_not(
        staff: APIClient, job: Job) -> None:
    ana = contractor_in_state(S.ACTIVE)
    weak = contractor_in_state(S.ACTIVE)
    Contractor.objects.filter(pk=weak.pk).update(qualification_score=Decimal("0.3"))
    board = staff.get(f"{API}/jobs/{job.pk}/capacity/").json()
    rows = {row["contractor"]: row for row in board["results"]}
    assert rows[ana.pk]["can_receive"] is True
    assert rows[ana.pk]["why_not"] == ""
    assert rows[weak.pk]["can_receive"] is False
    assert "quality threshold" in rows[weak.pk]["why_not"]
    assert rows[weak.pk]["quality"] == "0.3000"
    assert [row["contractor"] for row in staff.get(
        f"{API}/jobs/{job.pk}/capacity/", {"receiving": "true"}).json()["results"]] == [ana.pk]
    response = staff.post(f"{API}/jobs/{job.pk}/auto-assign/")
    assert response.status_code == 200
    assigned = response.json()["assigned"]
    # At most 2 open batches each; which two depends on the hidden gold draw (no gold photo twice to one person).
    assert [row["contractor"] for row in assigned] == [ana.pk, ana.pk]
    assert set(Batch.objects.filter(assigned_to=ana).values_list("number", flat=True)) == {
        row["number"] for row in assigned}
    after = {row["contractor"]: row for row in staff.get(f"{API}/jobs/{job.pk}/capacity/").json()["results"]}
    assert after[ana.pk]["can_receive"] is False
    assert after[ana.pk]["why_not"] == "holds 2 open batches (at most 2)"
    assert after[ana.pk]["open_batches"] == 2
    assert staff.get(f"{API}/jobs/{job.pk}/capacity/", {"receiving": "true"}).json()["count"] == 0


def test_the_capacity_board_pages_and_searches_by_name(staff: APIClient, job: Job) -> None:
    made = [contractor_in_state(S.ACTIVE, display_name=f"Worker {n}") for n in range(3)]
    made.append(contractor_in_state(S.ACTIVE, display_name="Zoë"))
    first = staff.get(f"{API}/jobs/{job.pk}/capacity/", {"page_size": 3}).json()
    assert first["count"] == 4
    assert len(first["results"]) == 3
    second = staff.get(first["next"]).json()
    assert {r["contractor"] for r in first["results"] + second["results"]} == {c.pk for c in made}
    found = staff.get(f"{API}/jobs/{job.pk}/capacity/", {"search": "ZOË"}).json()["results"]
    assert [row["contractor"] for row in found] == [made[-1].pk]
    assert found[0]["cap_hours"] == "20.00"
    assert found[0]["remaining_hours"] == "20.00"
    assert staff.get(f"{API}/jobs/999999/capacity/").status_code == 404


def test_reclaim_offers_a_held_batch_again_and_refuses_an_open_one(staff: APIClient, job: Job, lead: User) -> None:
    ana = contractor_in_state(S.ACTIVE)
    batch = _batch(job, 1)
    batch_assign(batch=batch, contractor=ana, actor=lead, now=timezone.now() - timedelta(hours=30))
    stale = staff.get(f"{API}/batches/stale/").json()
    assert stale["count"] == 1
    assert stale["results"][0]["batch"]["id"] == batch.pk
    assert stale["results"][0]["reason"] == "not started within 24 h of assignment"
    response = staff.post(f"{API}/batches/{batch.pk}/reclaim/", {}, format="json")
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["contractor"]) == ("open", None)
    event = AssignmentEvent.objects.filter(action=AssignmentAction.RECLAIM).get()
    assert (event.batch_id, event.contractor, event.actor, event.reason) == (
        batch.pk, ana, lead, "reclaimed from the console")
    assert staff.get(f"{API}/batches/stale/").json()["count"] == 0
    again = staff.post(f"{API}/batches/{batch.pk}/reclaim/", {"reason": "twice"}, format="json")
    assert again.status_code == 409
    assert "batch" in again.json()
    assert AssignmentEvent.objects.filter(action=AssignmentAction.RECLAIM).count() == 1


# --- review ------------------------------------------------------------------------------------------------------

def test_the_review_queue_pages_filters_and_shows_the_flags(staff: APIClient, job: Job, sample: Path) -> None:  # noqa: F811
    other = _published_job(sample, name="Other")
    ana = contractor_in_state(S.ACTIVE)
    made = [_annotate(_own_task(job, n)) for n in (1, 2, 3)]
    Annotation.objects.filter(pk=made[0].pk).update(unassigned_work=True, problems=["unknown label: Dent"])
    theirs = _annotate(_own_task(other, 1), contractor=ana)
    page = staff.get(f"{API}/review/", {"page_size": 3}).json()
    assert page["count"] == 4
    assert [row["id"] for row in page["results"]] == [a.pk for a in made]  # oldest first
    assert page["results"][0]["flags"] == ["not the batch holder", "unknown label: Dent"]
    assert page["results"][1]["flags"] == []
    assert page["results"][1]["gold_score"] is None
    assert page["results"][0]["photo"] == _own_task(job, 1).task.key
    assert [row["id"] for row in staff.get(f"{API}/review/", {"job": other.pk}).json()["results"]] == [theirs.pk]
    by_ana = staff.get(f"{API}/review/", {"contractor": ana.pk}).json()["results"]
    assert [(row["id"], row["contractor_email"]) for row in by_ana] == [(theirs.pk, ana.user.email)]
    assert staff.get(f"{API}/review/", {"job": "x"}).status_code == 400


def test_review_decisions_go_through_the_review_service_with_its_refusals(
        staff: APIClient, job: Job, lead: User) -> None:
    annotation = _annotate(_own_task(job, 1))
    decide = f"{API}/review/{annotation.pk}/decision/"
    detail = staff.get(f"{API}/review/{annotation.pk}/").json()
    assert detail["decisions"] == ["accept", "rework", "promote"]  # no merge: one annotator
    assert detail["labels"] == detail["prediction_labels"]
    assert detail["labels"]
    refused = staff.post(decide, {"decision": "rework", "comment": "  "}, format="json")
    assert refused.status_code == 400
    assert "say what to fix" in refused.json()["comment"][0]
    merge = staff.post(decide, {"decision": "merge"}, format="json")
    assert merge.status_code == 400
    assert "decision" in merge.json()
    early = staff.post(decide, {"decision": "promote"}, format="json")
    assert early.status_code == 409
    assert "Accept the annotation" in early.json()["detail"]
    assert not Review.objects.exists()
    accepted = staff.post(decide, {"decision": "accept", "comment": "clean edges"}, format="json")
    assert accepted.status_code == 200
    assert accepted.json()["review_state"] == "accepted"
    assert [(r["decision"], r["comment"], r["reviewer"]) for r in accepted.json()["reviews"]] == [
        ("accept", "clean edges", lead.email)]
    annotation.refresh_from_db()
    assert annotation.review_state == ReviewState.ACCEPTED
    assert staff.get(f"{API}/review/").json()["count"] == 0
    back = staff.post(decide, {"decision": "rework", "comment": "Paint the second scratch too."}, format="json")
    assert back.status_code == 200
    assert back.json()["review_state"] == "rework"
    assert list(Review.objects.order_by("id").values_list("decision", flat=True)) == ["accept", "rework"]


def test_a_held_batchs_work_waits_for_the_hand_in(staff: APIClient, job: Job, lead: User) -> None:
    ana = contractor_in_state(S.ACTIVE)
    batch_assign(batch=_batch(job, 1), contractor=ana, actor=lead)
    annotation = _annotate(_own_task(job, 1), contractor=ana)
    assert staff.get(f"{API}/review/").json()["count"] == 0
    refused = staff.post(f"{API}/review/{annotation.pk}/decision/", {"decision": "accept"}, format="json")
    assert 400 <= refused.status_code < 500
    assert "batch" in refused.json()
    annotation.refresh_from_db()
    assert annotation.review_state == ReviewState.PENDING


# --- deliveries --------------------------------------------------------------------------------------------------

def test_a_delivery_starts_only_with_accepted_masks_and_reports_its_state(
        staff: APIClient, job: Job, lead: User) -> None:
    url = f"{API}/jobs/{job.pk}/deliveries/"
    nothing = staff.post(url, {}, format="json")
    assert nothing.status_code == 400
    assert "nothing to deliver" in nothing.json()["detail"]
    annotation_accept(annotation=_annotate(_own_task(job, 1)), reviewer=lead)
    missing = staff.post(url, {}, format="json")
    assert missing.status_code == 400
    assert "partial" in missing.json()
    started = staff.post(url, {"partial": True}, format="json")
    assert started.status_code == 202
    body = started.json()
    assert (body["number"], body["state"], body["partial"], body["photos_total"]) == (1, "queued", True, 1)
    assert len(body["missing_keys"]) == 4
    assert body["client_link"] is None
    assert body["report"] == {}
    busy = staff.post(url, {"partial": True}, format="json")
    assert busy.status_code == 409
    listed = staff.get(url).json()
    assert (listed["photos"], listed["accepted"], listed["busy"]) == (5, 1, True)
    assert [d["id"] for d in listed["deliveries"]] == [body["id"]]
    assert staff.get(f"{API}/deliveries/{body['id']}/").json()["state"] == DeliveryState.QUEUED
    Delivery.objects.filter(pk=body["id"]).update(state=DeliveryState.DONE, report={"delivery": {"folder": "x"}})
    done = staff.get(f"{API}/deliveries/{body['id']}/").json()
    assert done["report"] == {"delivery": {"folder": "x"}}
    assert done["client_link"].startswith("http://testserver/delivery/")
    assert done["zip_url"] == f"http://testserver/console/deliveries/{body['id']}/delivery.zip"


# --- cost ---------------------------------------------------------------------------------------------------

def _queries(client: APIClient, url: str, **params: object) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(captured)


def test_the_job_and_batch_lists_cost_the_same_queries_for_3_and_30_rows(staff: APIClient) -> None:
    ana = contractor_in_state(S.ACTIVE)
    held = job_plain(name="Held")

    def grow(to: int) -> None:
        while Job.objects.count() < to:
            job_plain()
        while held.batches.count() < to:
            batch_held_by(ana, job=held)

    grow(3)
    few = [_queries(staff, f"{API}/jobs/"), _queries(staff, f"{API}/batches/", contractor=ana.pk),
           _queries(staff, f"{API}/batches/stale/"), _queries(staff, f"{API}/review/")]
    grow(30)
    many = [_queries(staff, f"{API}/jobs/"), _queries(staff, f"{API}/batches/", contractor=ana.pk),
            _queries(staff, f"{API}/batches/stale/"), _queries(staff, f"{API}/review/")]
    assert staff.get(f"{API}/jobs/").json()["count"] == 30
    assert staff.get(f"{API}/batches/", {"contractor": ana.pk}).json()["count"] == 30
    assert many == few


# --- throttles ----------------------------------------------------------------------------------------------

def _low_rates(**rates: str) -> override_settings:
    return override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates})


def _calls_until_429(client: APIClient, url: str, limit: int) -> list[int]:
    return [client.get(url).status_code for _ in range(limit + 1)]


def test_staff_and_contractors_are_throttled_at_their_own_rates_with_retry_after(lead: User) -> None:
    ana = contractor_in_state(S.ACTIVE)
    cache.delete_many([f"throttle_staff_{lead.pk}", f"throttle_contractor_{ana.user.pk}", "throttle_anon_127.0.0.1"])
    staff, contractor, anonymous = api_of(lead), api_of(ana.user), api_of(None)
    with _low_rates(staff="3/min", contractor="2/min", anon="1/min"):
        assert _calls_until_429(staff, f"{API}/jobs/", 3) == [200, 200, 200, 429]
        # Each has a budget of their own: the contractor's answers until their (lower) rate is spent.
        assert _calls_until_429(contractor, "/api/v1/quality/me/", 1) == [200, 200]
        refused = contractor.get("/api/v1/quality/me/")
        assert refused.status_code == 429
        assert 0 < int(refused["Retry-After"]) <= 60
        assert "throttled" in refused.json()["detail"].lower()
        blocked = staff.get("/api/v1/quality/contractors/")
        assert blocked.status_code == 429
        assert 0 < int(blocked["Retry-After"]) <= 60
        # The schema is staff only now (no API endpoint answers anonymous callers): refused before any throttle.
        assert _calls_until_429(anonymous, "/api/schema/", 1) == [403, 403]
    assert staff.get(f"{API}/jobs/").status_code == 200  # the suite's rates again
    cache.delete_many([f"throttle_staff_{lead.pk}", f"throttle_contractor_{ana.user.pk}", "throttle_anon_127.0.0.1"])

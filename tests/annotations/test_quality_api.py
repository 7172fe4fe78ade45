"""The quality API: a contractor's own rolling score and scores, staff's board, detail and job re-score."""
from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from annotations.models import Job, QualityScore, ScoreState
from tests.annotations.conftest import per_class_report
from tests.annotations.test_scoring import _wait_for
from tests.factories import contractor_in_state, staff_user
from workforce.models import Contractor, OnboardingState

pytestmark = pytest.mark.django_db


@pytest.fixture
def ana() -> Contractor:
    return contractor_in_state(OnboardingState.ACTIVE, display_name="Ana")


def api_of(user: object, *, csrf: bool = False) -> APIClient:
    client = APIClient(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


@pytest.fixture
def staff() -> APIClient:
    return api_of(staff_user())


def test_a_contractor_reads_their_rolling_score_and_each_score_with_its_overlay_link(
    ana: Contractor, score: Callable
) -> None:
    first = score(ana, 0.9, per_class=per_class_report(Scratch=0.95, Crack=0.85))
    stamped = score(ana, 0.5, per_class=per_class_report(Scratch=0.7, Crack=0.35), rubber_stamp=True)
    QualityScore.objects.filter(pk=stamped.pk).update(overlay_path="overlays/x.jpg",
                                                      rubber_stamp_detail="Submitted the pre-annotation unchanged")
    body = api_of(ana.user).get("/api/v1/quality/me/").json()
    assert body["contractor"] == ana.pk
    rolling = body["rolling"]
    assert rolling["score"] == pytest.approx(0.7)
    assert rolling["scored_photos"] == 2
    assert rolling["per_class"] == pytest.approx({"Scratch": 0.825, "Crack": 0.6})
    assert (rolling["weakest_class"], rolling["rubber_stamps"]) == ("Crack", 1)
    assert [row["id"] for row in body["scores"]] == [stamped.pk, first.pk]  # newest first
    newest = body["scores"][0]
    assert (newest["macro_iou"], newest["rubber_stamp"], newest["state"]) == (0.5, True, ScoreState.SCORED)
    assert newest["rubber_stamp_detail"] == "Submitted the pre-annotation unchanged"
    assert newest["classes"]["Crack"]["iou"] == 0.35
    assert newest["overlay_url"] == f"http://testserver/quality/scores/{stamped.pk}.jpg"
    assert body["scores"][1]["overlay_url"] is None


def test_limit_takes_the_newest_and_a_bad_one_is_refused_naming_the_field(ana: Contractor, score: Callable) -> None:
    made = [score(ana, 0.1 * n) for n in range(1, 4)]
    client = api_of(ana.user)
    assert [row["id"] for row in client.get("/api/v1/quality/me/?limit=2").json()["scores"]] == [
        made[2].pk, made[1].pk]
    for bad in ("0", "201", "two", "-1"):
        response = client.get(f"/api/v1/quality/me/?limit={bad}")
        assert response.status_code == 400
        assert "limit" in response.json()


def test_a_contractor_sees_only_their_own_scores_and_no_staff_endpoint(ana: Contractor, score: Callable,
                                                                        job: Job) -> None:
    score(ana, 0.42)
    other = contractor_in_state(OnboardingState.ACTIVE)
    client = api_of(other.user)
    body = client.get("/api/v1/quality/me/").json()
    assert (body["contractor"], body["scores"], body["rolling"]["score"]) == (other.pk, [], None)
    assert client.get("/api/v1/quality/contractors/").status_code == 403
    assert client.get(f"/api/v1/quality/contractors/{ana.pk}/").status_code == 403
    assert client.post(f"/api/v1/quality/jobs/{job.pk}/rescore/").status_code == 403
    assert APIClient().get("/api/v1/quality/me/").status_code == 403


def test_staff_have_no_own_scores_and_are_pointed_to_the_board(staff: APIClient) -> None:
    response = staff.get("/api/v1/quality/me/")
    assert response.status_code == 404
    assert "/api/v1/quality/contractors/" in response.json()["detail"]


def test_staff_board_is_weakest_first_and_the_detail_lists_a_contractors_scores(
    ana: Contractor, score: Callable, staff: APIClient
) -> None:
    bo = contractor_in_state(OnboardingState.ACTIVE, display_name="Bo")
    score(ana, 0.9)
    low = score(bo, 0.2, rubber_stamp=True)
    listed = staff.get("/api/v1/quality/contractors/").json()
    assert listed["count"] == 2
    board = listed["results"]
    ranked = [row["contractor"] for row in board if row["rolling"]["score"] is not None]
    assert ranked == [bo.pk, ana.pk]
    assert board[0]["rolling"]["rubber_stamps"] == 1
    assert board[0]["email"] == bo.user.email
    assert [row["contractor"] for row in staff.get("/api/v1/quality/contractors/?search=BO").json()["results"]
            ] == [bo.pk]
    assert staff.get("/api/v1/quality/contractors/?page_size=1&page=2").json()["results"][0]["contractor"] == ana.pk
    detail = staff.get(f"/api/v1/quality/contractors/{bo.pk}/").json()
    assert [row["id"] for row in detail["scores"]] == [low.pk]
    assert staff.get("/api/v1/quality/contractors/999999/").status_code == 404


def test_rescore_needs_csrf_and_an_existing_job(job: Job) -> None:
    user = staff_user()
    assert api_of(user, csrf=True).post(f"/api/v1/quality/jobs/{job.pk}/rescore/").status_code == 403
    assert api_of(user).post("/api/v1/quality/jobs/999999/rescore/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_staff_rescore_a_job_and_the_worker_scores_its_gold_annotations(
    ana: Contractor, score: Callable, job: Job, staff: APIClient, celery_worker: str
) -> None:
    lost = score(ana, None, per_class={})
    annotation_id = lost.annotation_id
    lost.delete()
    response = staff.post(f"/api/v1/quality/jobs/{job.pk}/rescore/")
    assert response.status_code == 202
    assert response.json() == {"job": job.pk, "queued": True}
    _wait_for(lambda: QualityScore.objects.filter(annotation_id=annotation_id, state=ScoreState.SCORED).exists(),
              "the worker's re-score")


def test_the_own_quality_costs_the_same_queries_for_one_score_as_for_many(ana: Contractor, score: Callable) -> None:
    client = api_of(ana.user)
    score(ana, 0.5)
    with CaptureQueriesContext(connection) as one:
        assert client.get("/api/v1/quality/me/").status_code == 200
    for n in range(6):
        score(ana, 0.1 * n)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/v1/quality/me/").json()["scores"]) == 7
    assert len(many) == len(one)

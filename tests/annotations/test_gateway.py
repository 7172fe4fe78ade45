"""The gateway in front of Label Studio: real nginx, asking the live LabelCrew, passing to the real Label Studio.

Contractor A holds batch P (a Label Studio project) and not Q. Every route of Label Studio's URL map (read from the
installed package) is walked through the gateway, with P's and Q's ids, as A and as people who may not label.
"""
import base64
import json
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from annotations import batch_life, gateway, labelstudio
from annotations.models import Annotation, Batch, BatchState, BatchTask, Job, LabelStudioAccount
from annotations.services import assignment, jobs
from annotations.services.accounts import label_studio_account_ensure
from annotations.services.publishing import batch_publish
from annotations.services.sync import sync_poll
from tests.annotations.gateway_routes import label_studio_routes, sample_path
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.factories import UserFactory, contractor_in_state, job_plain
from workforce.models import Contractor, OnboardingState
from workforce.onboarding import transition
from workforce.services.privacy import contractor_delete

pytestmark = [pytest.mark.labelstudio]
REFUSED = "X-LabelCrew-Refused"


def test_every_route_of_label_studio_is_classified_by_the_gateway() -> None:
    unclassified = [route for route in label_studio_routes() if gateway.route_for(sample_path(route)) is None]
    assert not unclassified, f"Label Studio routes the gateway does not classify (add them to ROUTES): {unclassified}"


def test_exports_admin_tokens_users_and_storages_are_known_and_denied() -> None:
    for path in ("/api/projects/3/export", "/api/projects/3/exports/", "/admin/", "/api/current-user/token",
                 "/api/users/1/", "/api/storages/localfiles/", "/api/webhooks/", "/api/projects/", "/api/invite",
                 "/api/projects/3/import", "/api/organizations/1/memberships", "/projects/3/settings/"):
        assert gateway.route_for(path).rule == gateway.Rule.DENY, path
    # The data manager's list of every user is answered with an empty list, not refused (it would not load).
    assert gateway.route_for("/api/users").rule == gateway.Rule.EMPTY


# --- the real thing ------------------------------------------------------------------------------------------

@dataclass
class World:
    job: Job
    p: Batch
    q: Batch
    a: Contractor
    ids: dict[str, dict[str, str]]   # "P"/"Q" -> ids for the routes' groups
    photo: dict[str, str]            # "P"/"Q" -> a photo path (relative to var/)


def _ls_post(path: str, body: dict) -> dict:
    answer = httpx.post(f"{settings.LABEL_STUDIO_URL}{path}", json=body, timeout=20,
                        headers={"Authorization": f"Token {settings.LABEL_STUDIO_API_KEY}"})
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


@pytest.fixture
def gateway_url(gateway: str) -> str:
    return gateway


def two_published_batches(sample: Path) -> tuple[Job, Batch, Batch]:  # noqa: F811
    """The sample job in batches of two photos, no gold; its batches P and Q published to Label Studio."""
    cache.clear()  # the gateway's cached answers of an earlier test name rows of its database
    job, _ = jobs.job_create(name="Screens", client="Refurb Co", instructions="Paint every defect.",
                             specs=jobs.specs_from_manifest(sample / "manifest.json"), image_source=str(sample),
                             actor=None, batch_size=2, gold_rate=Decimal("0"))
    jobs.batches_cut(job=job)
    p, q = job.batches.order_by("number")[:2]
    for batch in (p, q):
        batch_publish(batch_id=batch.pk)
        batch.refresh_from_db()
    return job, p, q


@pytest.fixture
def world(sample: Path, label_studio: str) -> Iterator[World]:  # noqa: F811
    job, p, q = two_published_batches(sample)
    a = fresh(OnboardingState.ACTIVE)
    label_studio_account_ensure(contractor=a)
    assignment.batch_assign(batch=p, contractor=a, actor=None, reason="test")
    ids, photo = {}, {}
    for name, batch in (("P", p), ("Q", q)):
        bt = BatchTask.objects.filter(batch=batch).select_related("task").order_by("id").first()
        annotation = _ls_post(f"/api/tasks/{bt.ls_task_id}/annotations/", {"result": [], "lead_time": 1})
        draft = _ls_post(f"/api/tasks/{bt.ls_task_id}/drafts", {"result": [], "lead_time": 1})
        view = _ls_post("/api/dm/views/", {"project": batch.ls_project_id, "data": {}})
        ids[name] = {"pk": str(batch.ls_project_id), "project_id": str(batch.ls_project_id),
                     "task_id": str(bt.ls_task_id), "task": str(bt.ls_task_id), "annotation": str(annotation["id"]),
                     "draft": str(draft["id"]), "view": str(view["id"])}
        photo[name] = bt.task.image_path
    yield World(job=job, p=p, q=q, a=a, ids=ids, photo=photo)
    for project_id in (p.ls_project_id, q.ls_project_id):
        labelstudio.project_delete(project_id=project_id)


def fresh(state: str) -> Contractor:
    """A contractor in `state` with an address Label Studio has never seen (its data outlives test runs)."""
    return contractor_in_state(state, user=UserFactory(email=f"gw-{uuid.uuid4().hex[:12]}@example.org"))


def browser_of(contractor: Contractor | None, gateway_url: str, *, sign_in: bool = True) -> httpx.Client:
    """An HTTP client holding the person's LabelCrew session and, through the gateway, their Label Studio one."""
    client = httpx.Client(base_url=gateway_url, timeout=20, follow_redirects=False)
    if contractor is None:
        return client
    django_client = Client()
    django_client.force_login(contractor.user)
    client.cookies.set(settings.SESSION_COOKIE_NAME, django_client.cookies[settings.SESSION_COOKIE_NAME].value)
    if sign_in:
        answer = client.get("/_labelcrew/sign-in", params={"next": "/"})
        assert answer.status_code == 302, answer.text
        assert labelstudio.SESSION_COOKIE in client.cookies
    return client


def concrete(route: str, world: World, which: str) -> tuple[str, gateway.Rule]:
    """A path (and query) for Label Studio's `route` naming P's or Q's objects, and the gateway's rule for it."""
    rule = gateway.route_for(sample_path(route)).rule
    ids = world.ids[which]
    kind = {gateway.Rule.TASK: "task", gateway.Rule.ANNOTATION: "annotation", gateway.Rule.DRAFT: "draft",
            gateway.Rule.VIEW: "view"}.get(rule)
    path = sample_path(route, {**ids, "pk": ids[kind] if kind else ids["pk"], "id": ids[kind] if kind else "1"})
    if rule == gateway.Rule.PROJECT_QUERY:
        path += f"?project={ids['pk']}"
    elif rule == gateway.Rule.FILE:
        path += "?" + httpx.QueryParams({"d": world.photo[which]}).__str__()
    return path, rule


def refused(answer: httpx.Response) -> bool:
    return answer.status_code == 403 and REFUSED in answer.headers


def sent_to(answer: httpx.Response) -> str:
    return answer.headers.get("location", "") if answer.status_code == 302 else ""


# Routes whose GET on P's objects answers 200 from Label Studio through the gateway.
MUST_SUCCEED = ("projects/(?P<pk>[0-9]+)/data/", "api/projects/(?P<pk>[0-9]+)/", "api/tasks/(?P<pk>[0-9]+)/",
                "api/tasks/(?P<pk>[0-9]+)/annotations/", "api/annotations/(?P<pk>[0-9]+)/", "data/local-files/",
                "api/dm/views/", "api/dm/project/", "api/tasks/", "api/current\\-user/whoami")


@pytest.mark.django_db(transaction=True)
def test_contractor_reaches_every_allowed_route_of_their_project_and_nothing_of_another(
        world: World, gateway_url: str) -> None:
    browser = browser_of(world.a, gateway_url)
    wrong = []
    # Signing out of Label Studio ends the session the rest of the walk uses: last.
    for route in sorted(label_studio_routes(), key=lambda route: route.startswith("logout")):
        for which in ("P",) if route.startswith("logout") else ("P", "Q"):
            path, rule = concrete(route, world, which)
            answer = browser.get(path)
            own_object = rule in (gateway.Rule.PROJECT, gateway.Rule.PROJECT_QUERY, gateway.Rule.TASK,
                                  gateway.Rule.ANNOTATION, gateway.Rule.DRAFT, gateway.Rule.VIEW, gateway.Rule.FILE)
            if rule == gateway.Rule.DENY or (own_object and which == "Q"):
                ok = refused(answer)
            elif rule == gateway.Rule.HOME:
                ok = sent_to(answer).endswith("/dashboard/")
            else:
                ok = not refused(answer) and "/_labelcrew/sign-in" not in sent_to(answer)
                if route in MUST_SUCCEED:
                    ok = ok and answer.status_code == 200
            if not ok:
                wrong.append(f"{which} {rule} {path} -> {answer.status_code} {answer.headers.get(REFUSED, '')}")
    assert not wrong, "\n".join(wrong)


def browser_of_someone_who_may_not_label(who: str, world: World, gateway_url: str) -> httpx.Client:
    """An applicant, or someone who held P and signed in to Label Studio before being paused, offboarded or deleted,
    or nobody at all (anonymous)."""
    if who == "anonymous":
        return browser_of(None, gateway_url)
    person = fresh(OnboardingState.PROFILE_COMPLETE if who == "applicant" else OnboardingState.ACTIVE)
    if who != "applicant":
        label_studio_account_ensure(contractor=person)
        # They hold P (A gives it up): what they hold does not matter once they may not label.
        Batch.objects.filter(pk=world.p.pk).update(assigned_to=person)
        gateway.holdings_changed()
    browser = browser_of(person, gateway_url, sign_in=who != "applicant")
    if who == "paused":
        transition(contractor=person, to_state=OnboardingState.PAUSED, reason="quality review")
    elif who == "offboarded":
        transition(contractor=person, to_state=OnboardingState.OFFBOARDED, reason="test")
    elif who == "deleted":
        contractor_delete(contractor=person)
    return browser


@pytest.mark.django_db(transaction=True)
def test_applicants_paused_offboarded_deleted_and_anonymous_people_are_refused_every_route(
        world: World, gateway_url: str) -> None:
    # Their standing is checked before the route: every route that would let a contractor in, and one in five of
    # those refused to everyone anyway (A's walk covers those all), keeps this walk to a few hundred requests.
    denied = [route for route in label_studio_routes() if gateway.route_for(sample_path(route)).rule == "deny"]
    walk = [route for route in label_studio_routes() if route not in denied] + denied[::5]
    wrong = []
    for who in ("applicant", "paused", "offboarded", "deleted", "anonymous"):
        browser = browser_of_someone_who_may_not_label(who, world, gateway_url)
        for route in walk:
            path, rule = concrete(route, world, "P")
            if rule == gateway.Rule.PUBLIC:
                continue
            answer = browser.get(path)
            if who == "anonymous":
                ok = "/accounts/login/" in sent_to(answer)
            else:  # a deleted user's session no longer signs anyone in: refused, or sent to sign in
                ok = refused(answer) or "/accounts/login/" in sent_to(answer)
            if not ok:
                wrong.append(f"{who}: {rule} {path} -> {answer.status_code} {sent_to(answer)}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.django_db(transaction=True)
def test_annotating_through_the_gateway_is_synced_and_handing_in_or_reclaiming_closes_the_project(
        world: World, gateway_url: str) -> None:
    browser = browser_of(world.a, gateway_url)
    task = world.ids["P"]["task"]
    csrf = browser.get(f"/projects/{world.ids['P']['pk']}/data/")
    assert csrf.status_code == 200
    headers = {"X-CSRFToken": browser.cookies.get("csrftoken", ""), "Referer": gateway_url + "/",
               "Origin": gateway_url}
    made = browser.post(f"/api/tasks/{task}/annotations/", json={"result": [], "lead_time": 12.5}, headers=headers)
    assert made.status_code == 201, made.text
    other = browser.post(f"/api/tasks/{world.ids['Q']['task']}/annotations/", json={"result": []}, headers=headers)
    assert refused(other)
    sync_poll(batch_ids=[world.p.pk])
    synced = Annotation.objects.get(ls_annotation_id=made.json()["id"])
    assert synced.contractor == world.a
    # Someone else's annotation on the same task cannot be changed; their own can.
    assert refused(browser.patch(f"/api/annotations/{world.ids['P']['annotation']}/", json={"result": []},
                                 headers=headers))
    assert browser.patch(f"/api/annotations/{made.json()['id']}/", json={"lead_time": 13}, headers=headers
                         ).status_code == 200
    # Handed in: read only.
    Batch.objects.filter(pk=world.p.pk).update(state=BatchState.HANDED_IN)
    gateway.holdings_changed()
    assert browser.get(f"/api/tasks/{task}/").status_code == 200
    assert refused(browser.post(f"/api/tasks/{task}/annotations/", json={"result": []}, headers=headers))
    # Reclaimed (assigned to nobody): closed at once.
    Batch.objects.filter(pk=world.p.pk).update(state=BatchState.OPEN, assigned_to=None,
                                               assigned_at=timezone.now())
    gateway.holdings_changed()
    assert refused(browser.get(f"/api/tasks/{task}/"))


@pytest.mark.django_db(transaction=True)
def test_someone_elses_label_studio_session_or_token_does_not_pass(world: World, gateway_url: str) -> None:
    b = fresh(OnboardingState.ACTIVE)
    label_studio_account_ensure(contractor=b)
    a_browser, b_browser = browser_of(world.a, gateway_url), browser_of(b, gateway_url)
    # A's LabelCrew session with B's Label Studio session: the gateway opens A's own instead.
    b_session = b_browser.cookies[labelstudio.SESSION_COOKIE]
    a_browser.cookies.delete(labelstudio.SESSION_COOKIE)
    a_browser.cookies.set(labelstudio.SESSION_COOKIE, b_session)
    answer = a_browser.get(f"/api/projects/{world.ids['P']['pk']}/")
    assert "/_labelcrew/sign-in" in sent_to(answer)
    # A user's own API token is refused; the service token passes.
    assert refused(a_browser.get(f"/api/projects/{world.ids['P']['pk']}/",
                                 headers={"Authorization": "Token " + "0" * 40}))
    service = httpx.get(f"{gateway_url}/api/projects/{world.ids['Q']['pk']}/export?exportType=JSON", timeout=20,
                        headers={"Authorization": f"Token {settings.LABEL_STUDIO_API_KEY}"})
    assert service.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_decision_endpoint_answers_only_the_gateway(client: Client) -> None:
    answer = client.get("/gateway/decide", HTTP_X_ORIGINAL_URI="/api/projects/")
    assert answer.status_code == 403
    assert b"X-LabelCrew-Gateway" in answer.content
    answer = client.get("/gateway/decide", HTTP_X_LABELCREW_GATEWAY=settings.GATEWAY_SECRET)
    assert answer.status_code == 400
    assert b"X-Original-URI" in answer.content


@pytest.mark.django_db(transaction=True)
def test_offboarding_takes_the_user_out_of_label_studio(world: World, gateway_url: str) -> None:
    from annotations.services.accounts import label_studio_account_deactivate, label_studio_password

    account = world.a.label_studio_account
    label_studio_account_deactivate(contractor=world.a)
    account.refresh_from_db()
    assert account.active is False
    # Label Studio itself refuses the user every project now, even with a session of their own (on loopback).
    password = label_studio_password(account=account)
    ls_session = labelstudio.session_open(email=account.email, password=password)
    answer = httpx.get(f"{settings.LABEL_STUDIO_URL}/api/projects/{world.ids['P']['pk']}/", timeout=20,
                       cookies={labelstudio.SESSION_COOKIE: ls_session})
    assert answer.status_code in (401, 403, 404), answer.text[:300]
    # And through LabelCrew: no Label Studio session is opened for them any more.
    browser = browser_of(world.a, gateway_url, sign_in=False)
    assert browser.get("/_labelcrew/sign-in", params={"next": "/"}).status_code == 403


# --- the decision alone (no nginx, no Label Studio) ----------------------------------------------------------

def ls_cookie(ls_user_id: int) -> str:
    """A cookie shaped like Label Studio's signed-cookie session naming this user (the gateway does not check the
    signature: Label Studio does, on the same request)."""
    payload = base64.urlsafe_b64encode(zlib.compress(json.dumps({"_auth_user_id": str(ls_user_id)}).encode()))
    return "." + payload.decode().rstrip("=") + ":1xaaMm:signature"


def test_the_label_studio_session_cookie_names_its_user_and_garbage_names_nobody() -> None:
    assert labelstudio.session_user_id(ls_cookie(42)) == 42
    assert labelstudio.session_user_id("") is None
    assert labelstudio.session_user_id("not-a-session") is None
    assert labelstudio.session_user_id(".!!!:x:y") is None


@pytest.mark.django_db
def test_a_paused_contractor_is_refused_at_once_and_let_in_again_when_resumed() -> None:
    cache.clear()
    contractor = contractor_in_state(OnboardingState.ACTIVE)
    LabelStudioAccount.objects.create(contractor=contractor, ls_user_id=4242, email=contractor.user.email)
    batch = Batch.objects.create(job=job_plain(), number=1, state=BatchState.ASSIGNED, assigned_to=contractor,
                                 ls_project_id=9001)
    asker = gateway.Asker(signed_in=True, contractor_id=contractor.pk)

    def decide(uri: str, method: str = "GET", cookie: str = ls_cookie(4242)) -> gateway.Decision:
        return gateway.decide(asker=asker, method=method, uri=uri, ls_session=cookie)

    assert decide("/projects/9001/data/").status == 204
    assert decide("/projects/9002/data/").status == 403
    assert decide("/projects/9001/data/", cookie=ls_cookie(7)).location.startswith("/_labelcrew/sign-in?")
    assert decide("/api/dm/actions/?id=delete_tasks&project=9001", "POST").status == 403
    assert decide("/api/dm/actions/?id=next_task&project=9001", "POST").status == 204
    assert decide("/api/dm/project/").status == 403  # no ?project=: not everyone's
    assert decide("/api/tasks/?project=9001&project=9002").status == 403  # Label Studio would read the last
    # Percent-encoding is decided on as Label Studio will read it; dot segments never pass.
    assert decide("/projects/%39%30%30%31/data/").status == 204
    assert decide("/api/projects/%39%30%30%32/").status == 403
    assert decide("/static/x/../../api/projects/9002/export").status == 403
    assert decide("/static/..%2F..%2Fapi/projects/9002/export").status == 403
    transition(contractor=contractor, to_state=OnboardingState.PAUSED, reason="quality review")
    gateway.holdings_changed()  # what the receiver does after the commit (this test's transaction never commits)
    refused = decide("/projects/9001/data/")
    assert (refused.status, refused.reason) == (403, "Label Studio is closed to you: this account is paused.")
    transition(contractor=contractor, to_state=OnboardingState.ACTIVE, reason="resumed")
    gateway.holdings_changed()
    assert decide("/projects/9001/data/").status == 204
    batch_life.transition(batch=batch, to_state=BatchState.OPEN, reason="reclaimed", assigned_to=None)
    gateway.holdings_changed()
    assert decide("/projects/9001/data/").status == 403

"""The workforce REST API: a contractor's own data under /api/v1/me/, and the staff endpoints."""
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.utils.crypto import get_random_string
from rest_framework.test import APIClient

from tests.factories import (
    TEST_PASSWORD,
    AgreementFactory,
    ContractorFactory,
    UserFactory,
    contractor_in_state,
    staff_user,
)
from workforce.models import (
    AgreementAcceptance,
    AgreementKind,
    Contractor,
    OnboardingState,
    OnboardingTransition,
    TaxDeclaration,
    User,
)
from workforce.selectors.agreements import current_agreements
from workforce.selectors.profile import PROFILE_FIELDS

pytestmark = pytest.mark.django_db
S = OnboardingState
LONG = "x" * 10_000

PROFILE = {
    "legal_name": "Ana Lúcia Souza", "display_name": "Ana", "country": "BR", "timezone": "America/Sao_Paulo",
    "languages": ["pt", "en"], "hours_available_per_week": 10, "payout_method": "wise",
    "payout_email": "Ana.Wise@Example.com", "date_of_birth": "1990-05-17",
}
TAX = {"is_us_person": False, "legal_name": "Ana Lúcia Souza", "country_of_residence": "BR",
       "signature": "ana lúcia souza", "certified": True}


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def stored(contractor: Contractor) -> dict[str, Any]:
    """What the database holds for the contractor's profile, read afresh."""
    contractor.refresh_from_db()
    return {name: getattr(contractor, name) for name in (*PROFILE_FIELDS, "state", "updated_at")}


@pytest.fixture
def staff() -> User:
    return staff_user()


@pytest.fixture
def staff_api(staff: User) -> APIClient:
    return client_for(staff)


@pytest.fixture
def newcomer() -> Contractor:
    """Email confirmed, nothing else done yet."""
    return contractor_in_state(S.EMAIL_VERIFIED)


@pytest.fixture
def qualifying() -> Contractor:
    return contractor_in_state(S.QUALIFYING)


# --- GET/PUT/PATCH /me/ ---------------------------------------------------------------------

def test_me_shows_a_newcomer_their_state_next_step_missing_fields_and_pending_agreements(newcomer: Contractor) -> None:
    response = client_for(newcomer.user).get("/api/v1/me/")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == newcomer.pk
    assert body["email"] == newcomer.user.email
    assert body["state"] == "email_verified"
    assert body["next_step"]["text"].startswith("Fill in your profile")
    assert body["next_step"]["url"] == "/profile/"
    assert body["missing_profile_fields"] == [*PROFILE_FIELDS, "tax_declaration"]
    assert {a["id"] for a in body["pending_agreements"]} == {a.pk for a in current_agreements()}


def test_a_complete_put_saves_the_whole_profile_and_leaves_only_the_tax_declaration_missing(
    newcomer: Contractor,
) -> None:
    response = client_for(newcomer.user).put("/api/v1/me/", PROFILE, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["missing_profile_fields"] == ["tax_declaration"]
    assert response.json()["country"] == "BR"
    newcomer.refresh_from_db()
    assert newcomer.legal_name == "Ana Lúcia Souza"
    assert newcomer.timezone == "America/Sao_Paulo"
    assert newcomer.languages == ["en", "pt"]
    assert newcomer.payout_email == "ana.wise@example.com"
    assert newcomer.date_of_birth == date(1990, 5, 17)
    assert newcomer.state == S.EMAIL_VERIFIED


def test_a_put_that_leaves_out_a_field_is_refused_naming_it(newcomer: Contractor) -> None:
    body = {k: v for k, v in PROFILE.items() if k != "payout_email"}
    response = client_for(newcomer.user).put("/api/v1/me/", body, format="json")
    assert response.status_code == 400
    assert "payout_email" in response.json()
    assert stored(newcomer)["legal_name"] == ""


def test_patch_changes_the_fields_sent_and_keeps_the_rest(qualifying: Contractor) -> None:
    before = stored(qualifying)
    response = client_for(qualifying.user).patch("/api/v1/me/", {"display_name": "Aninha"}, format="json")
    assert response.status_code == 200, response.json()
    after = stored(qualifying)
    assert after["display_name"] == "Aninha"
    assert {k: v for k, v in after.items() if k not in ("display_name", "updated_at")} == {
        k: v for k, v in before.items() if k not in ("display_name", "updated_at")}


def test_a_patch_that_would_leave_the_profile_incomplete_is_refused_naming_the_empty_fields(
    newcomer: Contractor,
) -> None:
    before = stored(newcomer)
    response = client_for(newcomer.user).patch("/api/v1/me/", {"legal_name": "Ana"}, format="json")
    assert response.status_code == 400
    assert {"display_name", "country", "date_of_birth"} <= set(response.json())
    assert "legal_name" not in response.json()
    assert stored(newcomer) == before


@pytest.mark.parametrize("name", ["José Ñúñez-Çelik", "王小明", "محمد عبد الله", "Иван Петров", "Zoë O'Brien"])
def test_names_in_any_script_are_accepted_and_stored_as_written(qualifying: Contractor, name: str) -> None:
    response = client_for(qualifying.user).patch(
        "/api/v1/me/", {"legal_name": name, "display_name": name}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["legal_name"] == name
    assert stored(qualifying)["legal_name"] == name
    assert stored(qualifying)["display_name"] == name


UNDER_AGE = (date.today() - timedelta(days=17 * 365)).isoformat()
TOMORROW = (date.today() + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(("field", "value"), [
    ("country", "XX"),
    ("country", "Germany"),
    ("country", LONG),
    ("timezone", "Mars/Olympus_Mons"),
    ("timezone", "UTC+2"),
    ("timezone", LONG),
    ("hours_available_per_week", 0),
    ("hours_available_per_week", 25),
    ("hours_available_per_week", 2.5),
    ("hours_available_per_week", "ten"),
    ("hours_available_per_week", True),
    ("date_of_birth", UNDER_AGE),
    ("date_of_birth", TOMORROW),
    ("date_of_birth", "17/05/1990"),
    ("payout_email", "not-an-email"),
    ("payout_email", "ana@"),
    ("payout_email", LONG + "@example.com"),
    ("payout_method", "bitcoin"),
    ("languages", []),
    ("languages", ["xx"]),
    ("languages", "en"),
    ("legal_name", LONG),
    ("legal_name", ""),
    ("legal_name", "   "),
    ("legal_name", None),
    ("legal_name", "Ana\u0000Souza"),
    ("legal_name", "Ana\nSouza"),
    ("legal_name", "\u202eazuoS anA"),
    ("display_name", LONG),
    ("display_name", "Ana\tS"),
    ("display_name", "Ana\u200bS"),
])
def test_bad_profile_input_is_refused_naming_the_field_and_nothing_is_saved(
    qualifying: Contractor, field: str, value: Any,
) -> None:
    before = stored(qualifying)
    # A valid change alongside the bad one: it must not be saved either.
    response = client_for(qualifying.user).patch(
        "/api/v1/me/", {"display_name": "Changed", field: value} if field != "display_name" else {field: value},
        format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert stored(qualifying) == before


def test_a_rejected_put_saves_nothing_of_the_valid_fields_sent_with_it(newcomer: Contractor) -> None:
    before = stored(newcomer)
    response = client_for(newcomer.user).put("/api/v1/me/", {**PROFILE, "timezone": "Europe/Atlantis"},
                                             format="json")
    assert response.status_code == 400
    assert "timezone" in response.json()
    assert stored(newcomer) == before


def test_fields_a_contractor_may_not_set_are_ignored(qualifying: Contractor) -> None:
    other = contractor_in_state(S.QUALIFYING)
    response = client_for(qualifying.user).patch("/api/v1/me/", {
        "state": "approved", "qualification_score": "1.0", "email": "boss@example.com", "id": other.pk,
        "user": other.user_id, "display_name": "Still me",
    }, format="json")
    assert response.status_code == 200
    qualifying.refresh_from_db()
    assert qualifying.state == S.QUALIFYING
    assert qualifying.qualification_score is None
    assert qualifying.user.email != "boss@example.com"
    assert qualifying.display_name == "Still me"
    assert stored(other)["display_name"] == "Ana"


def test_a_patch_body_that_is_not_a_json_object_is_refused(qualifying: Contractor) -> None:
    before = stored(qualifying)
    response = client_for(qualifying.user).patch("/api/v1/me/", ["display_name", "x"], format="json")
    assert response.status_code == 400
    assert stored(qualifying) == before


def test_a_rejected_contractor_can_no_longer_change_the_profile() -> None:
    rejected = contractor_in_state(S.REJECTED)
    response = client_for(rejected.user).patch("/api/v1/me/", {"display_name": "Again"}, format="json")
    assert response.status_code == 403
    assert stored(rejected)["display_name"] == "Ana"


# --- tax declaration --------------------------------------------------------------------------

def test_a_tax_declaration_after_the_profile_completes_it(newcomer: Contractor) -> None:
    api = client_for(newcomer.user)
    assert api.put("/api/v1/me/", PROFILE, format="json").status_code == 200
    response = api.post("/api/v1/me/tax-declaration/", TAX, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["form"] == "w8ben"
    declaration = TaxDeclaration.objects.get(contractor=newcomer)
    assert declaration.ip_address == "127.0.0.1"
    newcomer.refresh_from_db()
    assert newcomer.state == S.PROFILE_COMPLETE
    assert api.get("/api/v1/me/").json()["missing_profile_fields"] == []


@pytest.mark.parametrize(("change", "field"), [
    ({"signature": "Someone Else"}, "signature"),
    ({"certified": False}, "certified"),
    ({"country_of_residence": "US"}, "is_us_person"),
    ({"country_of_residence": "XX"}, "country_of_residence"),
    ({"legal_name": "Ana\u202eSouza"}, "legal_name"),
    ({"legal_name": LONG}, "legal_name"),
    ({"is_us_person": None}, "is_us_person"),
])
def test_a_bad_tax_declaration_is_refused_naming_the_field(newcomer: Contractor, change: dict, field: str) -> None:
    response = client_for(newcomer.user).post("/api/v1/me/tax-declaration/", {**TAX, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not TaxDeclaration.objects.filter(contractor=newcomer).exists()


# --- agreements ------------------------------------------------------------------------------

def test_agreements_lists_the_current_versions_with_whether_each_is_accepted() -> None:
    contractor = contractor_in_state(S.PROFILE_COMPLETE)
    api = client_for(contractor.user)
    response = api.get("/api/v1/me/agreements/")
    assert response.status_code == 200
    rows = response.json()
    assert {row["kind"] for row in rows} == set(AgreementKind.values)
    assert not any(row["accepted"] for row in rows)
    first = rows[0]["id"]
    assert api.post("/api/v1/me/agreements/accept/", {"agreements": [first]}, format="json").status_code == 201
    accepted = {row["id"]: row["accepted"] for row in api.get("/api/v1/me/agreements/").json()}
    assert accepted[first] is True
    assert sum(accepted.values()) == 1


def test_accepting_every_current_agreement_records_it_and_opens_qualification() -> None:
    contractor = contractor_in_state(S.PROFILE_COMPLETE)
    ids = [a.pk for a in current_agreements()]
    response = client_for(contractor.user).post(
        "/api/v1/me/agreements/accept/", {"agreements": ids}, format="json", HTTP_USER_AGENT="Firefox/140")
    assert response.status_code == 201, response.json()
    assert sorted(row["agreement"]["id"] for row in response.json()) == sorted(ids)
    acceptance = AgreementAcceptance.objects.filter(contractor=contractor).first()
    assert (acceptance.ip_address, acceptance.user_agent) == ("127.0.0.1", "Firefox/140")
    contractor.refresh_from_db()
    assert contractor.state == S.QUALIFYING


@pytest.mark.parametrize("agreements", ["superseded", "unknown", [], ["abc"], "not-a-list"])
def test_accepting_something_other_than_pending_current_versions_is_refused_naming_agreements(
    agreements: Any,
) -> None:
    contractor = contractor_in_state(S.PROFILE_COMPLETE)
    if agreements == "superseded":
        old = current_agreements()[0]
        AgreementFactory(kind=old.kind)
        agreements = [old.pk]
    elif agreements == "unknown":
        agreements = [987654]
    response = client_for(contractor.user).post(
        "/api/v1/me/agreements/accept/", {"agreements": agreements}, format="json")
    assert response.status_code == 400
    assert "agreements" in response.json()
    assert not AgreementAcceptance.objects.filter(contractor=contractor).exists()


# --- own transitions, export, deletion, start working -------------------------------------------

def test_own_transitions_are_the_contractors_alone_newest_first_and_paginated(qualifying: Contractor) -> None:
    contractor_in_state(S.ACTIVE)
    response = client_for(qualifying.user).get("/api/v1/me/transitions/")
    assert response.status_code == 200
    body = response.json()
    own = qualifying.transitions.count()
    assert body["count"] == own == 4
    assert [row["to_state"] for row in body["results"]] == [
        "qualifying", "agreement_accepted", "profile_complete", "email_verified"]
    assert "actor" not in body["results"][0]


def test_export_is_a_json_attachment_of_the_contractors_own_data(qualifying: Contractor) -> None:
    contractor_in_state(S.QUALIFYING)
    response = client_for(qualifying.user).get("/api/v1/me/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="labelcrew-my-data-')
    data = response.json()
    assert data["account"]["email"] == qualifying.user.email
    assert data["profile"]["legal_name"] == "Ana Lúcia Souza"
    assert len(data["tax_declarations"]) == 1
    assert len(data["state_history"]) == 4


@pytest.mark.parametrize("body", [{}, {"confirm": False}, {"confirm": "maybe"}])
def test_deletion_without_confirm_true_is_refused_naming_confirm(qualifying: Contractor, body: dict) -> None:
    response = client_for(qualifying.user).post("/api/v1/me/deletion/", body, format="json")
    assert response.status_code == 400
    assert "confirm" in response.json()
    qualifying.refresh_from_db()
    assert qualifying.anonymized_at is None
    assert qualifying.user.is_active


def test_deletion_anonymizes_the_account_ends_the_session_and_answers_204(qualifying: Contractor) -> None:
    api = client_for(qualifying.user)
    response = api.post("/api/v1/me/deletion/", {"confirm": True}, format="json")
    assert response.status_code == 204
    qualifying.refresh_from_db()
    qualifying.user.refresh_from_db()
    assert qualifying.state == S.OFFBOARDED
    assert qualifying.anonymized_at is not None
    assert qualifying.legal_name == ""
    assert not qualifying.user.is_active
    assert qualifying.user.email.endswith("@deleted.invalid")
    assert api.get("/api/v1/me/").status_code == 403


def test_an_approved_contractor_can_start_working() -> None:
    contractor = contractor_in_state(S.APPROVED)
    response = client_for(contractor.user).post("/api/v1/me/start-working/")
    assert response.status_code == 200
    assert response.json()["state"] == "active"
    contractor.refresh_from_db()
    assert contractor.state == S.ACTIVE


def test_starting_work_before_approval_is_a_conflict_naming_to_state(qualifying: Contractor) -> None:
    response = client_for(qualifying.user).post("/api/v1/me/start-working/")
    assert response.status_code == 409
    assert "to_state" in response.json()
    assert stored(qualifying)["state"] == S.QUALIFYING


# --- who may see what -----------------------------------------------------------------------

ME_ENDPOINTS = [
    ("get", "/api/v1/me/"), ("patch", "/api/v1/me/"), ("put", "/api/v1/me/"),
    ("post", "/api/v1/me/tax-declaration/"), ("get", "/api/v1/me/agreements/"),
    ("post", "/api/v1/me/agreements/accept/"), ("get", "/api/v1/me/transitions/"), ("get", "/api/v1/me/export/"),
    ("post", "/api/v1/me/deletion/"), ("post", "/api/v1/me/start-working/"),
]
STAFF_ENDPOINTS = [
    ("get", "/api/v1/contractors/"), ("get", "/api/v1/contractors/{id}/"),
    ("get", "/api/v1/contractors/{id}/transitions/"), ("post", "/api/v1/contractors/{id}/transitions/"),
    ("post", "/api/v1/contractors/bulk-decide/"), ("get", "/api/v1/transitions/"),
    ("get", "/api/v1/contractors/counts/"),
]


@pytest.mark.parametrize(("method", "url"), ME_ENDPOINTS + STAFF_ENDPOINTS)
def test_anonymous_requests_are_refused_with_403(method: str, url: str) -> None:
    response = getattr(APIClient(), method)(url.format(id=ContractorFactory().pk), {}, format="json")
    assert response.status_code == 403


@pytest.mark.parametrize(("method", "url"), ME_ENDPOINTS)
def test_a_staff_account_without_a_contractor_row_gets_404_from_me_saying_why(
    staff_api: APIClient, method: str, url: str,
) -> None:
    response = getattr(staff_api, method)(url, {"confirm": True}, format="json")
    assert response.status_code == 404
    assert "no contractor profile" in response.json()["detail"]


def test_me_only_ever_returns_the_logged_in_contractors_own_data() -> None:
    a = contractor_in_state(S.QUALIFYING, legal_name="Alice Example")
    b = contractor_in_state(S.QUALIFYING, legal_name="Bob Example")
    assert client_for(a.user).get("/api/v1/me/").json()["legal_name"] == "Alice Example"
    assert client_for(b.user).get("/api/v1/me/").json()["legal_name"] == "Bob Example"
    export = client_for(a.user).get("/api/v1/me/export/").json()
    assert "Bob Example" not in str(export)
    assert b.user.email not in str(export)


@pytest.mark.parametrize(("method", "url"), STAFF_ENDPOINTS)
def test_a_contractor_gets_403_from_every_staff_endpoint_and_changes_nothing(method: str, url: str) -> None:
    a = ContractorFactory()
    b = contractor_in_state(S.QUALIFYING)
    before = stored(b)
    body = {"action": "approve", "reason": "", "contractors": [a.pk, b.pk]}
    response = getattr(client_for(a.user), method)(url.format(id=b.pk), body, format="json")
    assert response.status_code == 403
    assert stored(b) == before
    assert stored(a)["state"] == S.APPLIED


def test_a_session_post_without_the_csrf_token_is_refused_and_with_it_passes() -> None:
    contractor = contractor_in_state(S.PROFILE_COMPLETE)
    api = APIClient(enforce_csrf_checks=True)
    assert api.login(email=contractor.user.email, password=TEST_PASSWORD)
    ids = [a.pk for a in current_agreements()]
    refused = api.post("/api/v1/me/agreements/accept/", {"agreements": ids}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not AgreementAcceptance.objects.filter(contractor=contractor).exists()
    token = get_random_string(32)
    api.cookies[settings.CSRF_COOKIE_NAME] = token
    passed = api.post("/api/v1/me/agreements/accept/", {"agreements": ids}, format="json", HTTP_X_CSRFTOKEN=token)
    assert passed.status_code == 201
    assert AgreementAcceptance.objects.filter(contractor=contractor).count() == len(ids)


# --- staff: contractors ------------------------------------------------------------------------

@pytest.fixture
def roster(staff: User) -> dict[str, Contractor]:
    """Three contractors that differ in state, country, hours, score and name."""
    return {
        "ana": contractor_in_state(S.QUALIFYING, staff=staff),
        "dieter": contractor_in_state(S.APPROVED, staff=staff, legal_name="Dieter Müller", country="DE",
                                      timezone_name="Europe/Berlin", hours_available_per_week=5),
        "wang": contractor_in_state(S.EMAIL_VERIFIED, user=UserFactory(email="wang.xiaoming@example.cn")),
    }


@pytest.mark.parametrize(("query", "expected"), [
    ({}, {"ana", "dieter", "wang"}),
    ({"state": "qualifying"}, {"ana"}),
    ({"country": "DE"}, {"dieter"}),
    ({"min_hours": 8}, {"ana"}),
    ({"max_hours": 6}, {"dieter"}),
    ({"min_score": "0.5"}, {"dieter"}),
    ({"search": "xiaoming"}, {"wang"}),
    ({"search": "Müller"}, {"dieter"}),
    ({"state": "approved", "country": "BR"}, set()),
])
def test_staff_list_contractors_filtered_by_state_country_hours_score_and_search(
    staff_api: APIClient, roster: dict[str, Contractor], query: dict, expected: set[str],
) -> None:
    response = staff_api.get("/api/v1/contractors/", query)
    assert response.status_code == 200
    names = {name for name, c in roster.items() if c.pk in {row["id"] for row in response.json()["results"]}}
    assert names == expected
    assert response.json()["count"] == len(expected)


@pytest.mark.parametrize(("query", "field"), [
    ({"state": "sleeping"}, "state"), ({"country": "XX"}, "country"), ({"min_hours": "many"}, "min_hours"),
    ({"max_hours": "-1"}, "max_hours"), ({"min_score": "2"}, "min_score"), ({"search": LONG}, "search"),
])
def test_staff_list_with_an_invalid_filter_is_refused_naming_it(staff_api: APIClient, query: dict, field: str) -> None:
    response = staff_api.get("/api/v1/contractors/", query)
    assert response.status_code == 400
    assert field in response.json()


def test_staff_list_comes_in_pages_of_50(staff_api: APIClient) -> None:
    ContractorFactory.create_batch(51)
    first = staff_api.get("/api/v1/contractors/").json()
    assert (first["count"], len(first["results"])) == (51, 50)
    second = staff_api.get(first["next"]).json()
    assert len(second["results"]) == 1


def test_staff_see_one_contractor_in_full_and_404_for_an_unknown_id(
    staff_api: APIClient, qualifying: Contractor,
) -> None:
    body = staff_api.get(f"/api/v1/contractors/{qualifying.pk}/").json()
    assert body["email"] == qualifying.user.email
    assert body["has_tax_declaration"] is True
    assert body["payout_email"] == qualifying.payout_email
    assert staff_api.get("/api/v1/contractors/987654/").status_code == 404


def test_counts_are_by_state_and_by_country(staff_api: APIClient, roster: dict[str, Contractor]) -> None:
    body = staff_api.get("/api/v1/contractors/counts/").json()
    assert body["by_state"]["qualifying"] == 1
    assert body["by_state"]["approved"] == 1
    assert body["by_state"]["email_verified"] == 1
    assert body["by_state"]["active"] == 0
    assert sorted(body["by_country"]) == [["BR", 1], ["DE", 1]]


# --- staff: decisions ----------------------------------------------------------------------------

def test_staff_approve_a_qualifying_contractor_with_a_score_and_are_named_in_the_audit(
    staff: User, staff_api: APIClient, qualifying: Contractor,
) -> None:
    response = staff_api.post(f"/api/v1/contractors/{qualifying.pk}/transitions/",
                              {"action": "approve", "reason": "good masks", "qualification_score": "0.85"},
                              format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["to_state"] == "approved"
    assert response.json()["actor"] == staff.email
    qualifying.refresh_from_db()
    assert qualifying.state == S.APPROVED
    assert qualifying.qualification_score == Decimal("0.85")
    trail = staff_api.get(f"/api/v1/contractors/{qualifying.pk}/transitions/").json()
    assert trail["count"] == 5
    assert trail["results"][0]["reason"] == "good masks"
    assert {row["contractor"] for row in trail["results"]} == {qualifying.pk}


@pytest.mark.parametrize(("state", "action"), [
    (S.EMAIL_VERIFIED, "approve"), (S.ACTIVE, "resume"), (S.OFFBOARDED, "pause"), (S.APPROVED, "reject"),
])
def test_an_invalid_transition_is_a_409_naming_to_state(staff_api: APIClient, state: str, action: str) -> None:
    contractor = contractor_in_state(state)
    transitions = contractor.transitions.count()
    response = staff_api.post(f"/api/v1/contractors/{contractor.pk}/transitions/",
                              {"action": action, "reason": "because"}, format="json")
    assert response.status_code == 409
    assert "to_state" in response.json()
    assert stored(contractor)["state"] == state
    assert contractor.transitions.count() == transitions


@pytest.mark.parametrize(("state", "action"), [(S.QUALIFYING, "reject"), (S.ACTIVE, "pause")])
@pytest.mark.parametrize("reason", ["", "   "])
def test_reject_or_pause_without_a_reason_is_refused_naming_reason(
    staff_api: APIClient, state: str, action: str, reason: str,
) -> None:
    contractor = contractor_in_state(state)
    response = staff_api.post(f"/api/v1/contractors/{contractor.pk}/transitions/",
                              {"action": action, "reason": reason}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()
    assert stored(contractor)["state"] == state


@pytest.mark.parametrize(("body", "field"), [
    ({"action": "promote"}, "action"),
    ({"action": "approve", "qualification_score": "1.5"}, "qualification_score"),
    ({"action": "approve", "qualification_score": "-0.1"}, "qualification_score"),
    ({"action": "approve", "qualification_score": "NaN"}, "qualification_score"),
    ({"action": "reject", "reason": LONG}, "reason"),
    ({"action": "reject", "reason": "bad\u202e work"}, "reason"),
])
def test_a_decision_with_bad_input_is_refused_naming_the_field(
    staff_api: APIClient, qualifying: Contractor, body: dict, field: str,
) -> None:
    before = stored(qualifying)
    response = staff_api.post(f"/api/v1/contractors/{qualifying.pk}/transitions/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert stored(qualifying) == before
    assert qualifying.qualification_score is None


def test_bulk_decide_approves_every_chosen_contractor(staff: User, staff_api: APIClient) -> None:
    chosen = [contractor_in_state(S.QUALIFYING, staff=staff) for _ in range(2)]
    response = staff_api.post("/api/v1/contractors/bulk-decide/",
                              {"contractors": [c.pk for c in chosen], "action": "approve"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {"decided": 2}
    assert {stored(c)["state"] for c in chosen} == {S.APPROVED}


def test_bulk_decide_changes_none_when_one_contractor_cannot_take_the_action(staff: User, staff_api: APIClient) -> None:
    ready = contractor_in_state(S.QUALIFYING, staff=staff)
    not_ready = contractor_in_state(S.EMAIL_VERIFIED)
    response = staff_api.post("/api/v1/contractors/bulk-decide/",
                              {"contractors": [ready.pk, not_ready.pk], "action": "approve"}, format="json")
    assert response.status_code in (400, 409)
    assert "to_state" in response.json()
    assert "Nothing was changed" in response.json()["detail"]
    assert stored(ready)["state"] == S.QUALIFYING
    assert stored(not_ready)["state"] == S.EMAIL_VERIFIED


def test_bulk_decide_answers_an_invalid_transition_with_409(staff: User, staff_api: APIClient) -> None:
    ready = contractor_in_state(S.QUALIFYING, staff=staff)
    not_ready = contractor_in_state(S.EMAIL_VERIFIED)
    response = staff_api.post("/api/v1/contractors/bulk-decide/",
                              {"contractors": [ready.pk, not_ready.pk], "action": "approve"}, format="json")
    assert response.status_code == 409


@pytest.mark.parametrize(("contractors", "action", "field"), [
    ([987654], "approve", "contractors"),
    ([], "approve", "contractors"),
    ("all", "approve", "contractors"),
    (None, "pause", "reason"),
    (None, "fire", "action"),
])
def test_bulk_decide_with_bad_input_is_refused_naming_the_field(
    staff_api: APIClient, qualifying: Contractor, contractors: Any, action: str, field: str,
) -> None:
    body = {"contractors": [qualifying.pk] if contractors is None else contractors, "action": action}
    response = staff_api.post("/api/v1/contractors/bulk-decide/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert stored(qualifying)["state"] == S.QUALIFYING


def test_all_transitions_can_be_filtered_by_contractor_and_target_state(
    staff_api: APIClient, roster: dict[str, Contractor],
) -> None:
    everything = staff_api.get("/api/v1/transitions/").json()
    assert everything["count"] == OnboardingTransition.objects.count()
    dieter = roster["dieter"]
    own = staff_api.get("/api/v1/transitions/", {"contractor": dieter.pk}).json()
    assert own["count"] == dieter.transitions.count() == 5
    assert {row["contractor"] for row in own["results"]} == {dieter.pk}
    approved = staff_api.get("/api/v1/transitions/", {"to_state": "approved"}).json()
    assert [row["contractor"] for row in approved["results"]] == [dieter.pk]
    assert staff_api.get("/api/v1/transitions/", {"to_state": "bogus"}).status_code == 400


# --- schema ------------------------------------------------------------------------------------

def test_the_openapi_schema_generates_and_documents_every_endpoint(staff_api: APIClient) -> None:
    response = staff_api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for url in {url for _, url in ME_ENDPOINTS + STAFF_ENDPOINTS}:
        assert url in paths, url
    assert set(paths["/api/v1/me/"]) >= {"get", "put", "patch"}
    assert set(paths["/api/v1/contractors/{id}/transitions/"]) >= {"get", "post"}

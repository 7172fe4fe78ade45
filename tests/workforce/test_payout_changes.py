"""Payout changes: the password again, a PayoutChange row, an email to the old and the new address, a 72-hour
hold that staff can release on the applicant page and in the API; linked accounts' evidence on that page."""
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import TEST_PASSWORD, contractor_in_state, staff_user
from workforce.models import Contractor, OnboardingState, PayoutChange

pytestmark = pytest.mark.django_db
S = OnboardingState


def api_for(contractor: Contractor) -> APIClient:
    client = APIClient(REMOTE_ADDR="198.51.100.9")
    client.force_login(contractor.user)
    return client


def test_a_contractors_payout_change_emails_both_addresses_and_holds_the_payout(
    django_capture_on_commit_callbacks: Callable,
) -> None:
    ana = contractor_in_state(S.ACTIVE)
    old = ana.payout_email
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(ana).patch("/api/v1/me/", {"payout_method": "wise", "payout_email": "Ana.New@Example.NET",
                                                      "current_password": TEST_PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    assert "current_password" not in response.json()
    change = PayoutChange.objects.get(contractor=ana)
    assert (change.old_method, change.old_email, change.new_method, change.new_email, change.ip_address) == (
        "paypal", old, "wise", "ana.new@example.net", "198.51.100.9")
    ana.refresh_from_db()
    assert abs((ana.payout_held_until - (timezone.now() + timedelta(hours=72))).total_seconds()) < 60
    assert response.json()["payout_held_until"] is not None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert set(message.to) == {old, "ana.new@example.net", ana.user.email}
    assert "PayPal (email) " + old in message.body
    assert "Wise (email) ana.new@example.net" in message.body
    assert "Your next payout is held until" in message.body


def test_a_payout_change_with_a_wrong_or_missing_password_is_refused_and_changes_nothing() -> None:
    ana = contractor_in_state(S.ACTIVE)
    old = ana.payout_email
    mail.outbox.clear()
    client = api_for(ana)
    for password in ("wrong password", None):
        body = {"payout_email": "thief@example.net"} | ({"current_password": password} if password else {})
        response = client.patch("/api/v1/me/", body, format="json")
        assert response.status_code == 403, response.content
        assert "current_password" in response.content.decode()
    ana.refresh_from_db()
    assert (ana.payout_email, ana.payout_held_until) == (old, None)
    assert not PayoutChange.objects.exists()
    assert mail.outbox == []
    # Other profile fields still save without the password.
    assert client.patch("/api/v1/me/", {"display_name": "Ana L."}, format="json").status_code == 200


def test_the_profile_page_asks_for_the_password_to_change_the_payout_address() -> None:
    ana = contractor_in_state(S.ACTIVE)
    client = Client()
    client.force_login(ana.user)
    page = client.get("/profile/").content.decode()
    assert 'name="profile-current_password"' in page
    form = {f"profile-{k}": v for k, v in {
        "legal_name": ana.legal_name, "display_name": ana.display_name, "country": "BR",
        "timezone": "America/Sao_Paulo", "languages": ["en", "pt"], "hours_available_per_week": 10,
        "payout_method": "paypal", "payout_email": "other@example.net",
        "date_of_birth": ana.date_of_birth.isoformat()}.items()}
    refused = client.post("/profile/", form)
    assert refused.status_code == 200
    assert "enter your current password" in refused.content.decode()
    saved = client.post("/profile/", {**form, "profile-current_password": TEST_PASSWORD})
    assert saved.status_code == 302
    assert PayoutChange.objects.get(contractor=ana).new_email == "other@example.net"


def test_staff_see_the_evidence_and_release_on_the_applicant_page_and_in_the_api() -> None:
    first = contractor_in_state(S.ACTIVE, payout_email="ana.lucia@gmail.com")
    second = contractor_in_state(S.ACTIVE, payout_email="analucia@gmail.com", legal_name="Other Name")
    staff = staff_user(role="operations", mfa=False)
    page_client = Client()
    page_client.force_login(staff)
    page = page_client.get(f"/staff/applicants/{second.pk}/").content.decode()
    assert "Held for review (no batches, no pay)" in page
    assert f"contractor #{first.pk} ({first.user.email}): the same payout address (analucia@gmail.com)" in page
    released = page_client.post(f"/staff/applicants/{second.pk}/payout-release/")
    assert released.status_code == 302
    second.refresh_from_db()
    assert second.link_evidence == ""
    # The contractor cannot release themselves; staff can release a payout hold in the API.
    api_for(second).patch("/api/v1/me/", {"payout_email": "mine@example.net", "current_password": TEST_PASSWORD},
                          format="json")
    assert api_for(second).post(f"/api/v1/contractors/{second.pk}/payout-release/").status_code == 403
    staff_api = APIClient()
    staff_api.force_login(staff)
    response = staff_api.post(f"/api/v1/contractors/{second.pk}/payout-release/")
    assert response.status_code == 200, response.content
    assert response.json()["payout_held_until"] is None
    assert staff_api.post(f"/api/v1/contractors/{second.pk}/payout-release/").status_code == 409

"""The portal's contractor and staff pages: who may see the dashboard and the applicant page, and where staff land."""
from datetime import date

import pytest
from django.core.cache import cache
from django.test import Client

from tests.factories import contractor_signed_in, staff_user
from workforce.services.profile import profile_update


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    cache.clear()  # allauth keeps its rate-limit counters in the cache


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_login_from_the_dashboard(client: Client) -> None:
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_the_applicant_page_refuses_contractors() -> None:
    a_client, _ = contractor_signed_in("a@example.org")
    _, b = contractor_signed_in("b@example.org")
    url = f"/staff/applicants/{b.pk}/"
    assert a_client.get(url).status_code == 403
    assert a_client.post(url, {"action": "approve", "contractors": [b.pk]}).status_code == 403
    b.refresh_from_db()
    assert b.state == "email_verified"


@pytest.mark.django_db
def test_the_dashboard_shows_only_the_signed_in_contractors_data() -> None:
    a_client, _ = contractor_signed_in("a@example.org")
    _, b = contractor_signed_in("b@example.org")
    profile_update(contractor=b, legal_name="Bea Secret", display_name="Bea", country="PE",
                   timezone_name="America/Lima", languages=["es"], hours_available_per_week=5,
                   payout_method="wise", payout_email="bea@example.org", date_of_birth=date(1990, 1, 1))
    body = a_client.get("/dashboard/").content.decode()
    assert "Bea Secret" not in body
    assert "b@example.org" not in body


@pytest.mark.django_db
def test_staff_accounts_land_on_the_review_queue() -> None:
    staff = Client()
    staff.force_login(staff_user(role="superuser", email="lead@example.org"))
    assert staff.get("/dashboard/")["Location"] == "/staff/applicants/"
    assert staff.get("/staff/applicants/").status_code == 200

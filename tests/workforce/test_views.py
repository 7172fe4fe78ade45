"""Workforce pages: who may see what, CSRF, signup rules, rate limits and the password reset."""
import re
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.test import Client

from tests.factories import contractor_in_state, contractor_signed_in, staff_user
from workforce import validation
from workforce.models import Contractor, OnboardingState, User
from workforce.services.profile import contractor_ui_language_set, profile_update
from workforce.services.registration import contractor_register


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    cache.clear()  # allauth keeps its rate-limit counters in the cache


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/profile/", "/agreements/", "/privacy/", "/privacy/my-data.json",
                                 "/staff/applicants/"])
def test_anonymous_visitors_are_sent_to_login(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/staff/applicants/", "/staff/agreements/"])
def test_staff_pages_refuse_contractors(url: str) -> None:
    a_client, _ = contractor_signed_in("a@example.org")
    _, b = contractor_signed_in("b@example.org")
    assert a_client.get(url.format(b=b.pk)).status_code == 403
    assert a_client.post(url.format(b=b.pk), {"action": "approve", "contractors": [b.pk]}).status_code == 403
    b.refresh_from_db()
    assert b.state == "email_verified"


@pytest.mark.django_db
def test_contractor_pages_show_only_the_signed_in_contractors_data() -> None:
    a_client, _ = contractor_signed_in("a@example.org")
    _, b = contractor_signed_in("b@example.org")
    profile_update(contractor=b, legal_name="Bea Secret", display_name="Bea", country="PE",
                            timezone_name="America/Lima", languages=["es"], hours_available_per_week=5,
                            payout_method="wise", payout_email="bea@example.org",
                            date_of_birth=date(1990, 1, 1))
    for url in ("/profile/", "/privacy/my-data.json"):
        body = a_client.get(url).content.decode()
        assert "Bea Secret" not in body
        assert "b@example.org" not in body
    assert a_client.get("/privacy/my-data.json").json()["account"]["email"] == "a@example.org"


@pytest.mark.django_db
def test_staff_accounts_have_no_contractor_pages() -> None:
    staff = Client()
    staff.force_login(staff_user(role="superuser", email="lead@example.org"))
    assert staff.get("/profile/").status_code == 404


@pytest.mark.django_db
def test_posts_without_a_csrf_token_are_refused() -> None:
    user = User.objects.create_user("a@example.org", "a-long-test-password")
    contractor_register(user=user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/agreements/", {"agreements": [1]}).status_code == 403
    assert client.post("/privacy/", {"confirm": "DELETE"}).status_code == 403
    assert User.objects.get(pk=user.pk).is_active


@pytest.mark.django_db
def test_signup_with_an_existing_email_in_another_case_makes_no_second_account(
    client: Client, mailoutbox: list
) -> None:
    # allauth's enumeration protection: the page looks the same as for a new address, so it
    # cannot be used to learn who works here.
    form = {"email": "ana@example.org", "password1": "a-long-test-password", "password2": "a-long-test-password"}
    assert client.post("/accounts/signup/", form).status_code == 302
    second = Client().post("/accounts/signup/", {**form, "email": "  ANA@Example.ORG "})
    assert second.status_code == 302
    assert User.objects.count() == 1
    assert Contractor.objects.count() == 1
    assert User.objects.get().email == "ana@example.org"
    assert [m.to for m in mailoutbox] == [["ana@example.org"]]
    assert "LabelCrew" in mailoutbox[0].body


@pytest.mark.django_db
def test_repeated_failed_logins_are_rate_limited_with_a_clear_message(client: Client) -> None:
    User.objects.create_user("ana@example.org", "a-long-test-password")
    answers = [client.post("/accounts/login/", {"login": "ana@example.org", "password": "wrong"})
               for _ in range(6)]
    assert "Too many failed login attempts" in answers[-1].content.decode()
    # Even the right password is refused while the limit holds.
    right = client.post("/accounts/login/", {"login": "ana@example.org", "password": "a-long-test-password"})
    assert right.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_signups_from_one_address_are_rate_limited(client: Client) -> None:
    codes = [client.post("/accounts/signup/", {"email": f"u{i}@example.org", "password1": "a-long-test-password",
                                               "password2": "a-long-test-password"}).status_code for i in range(12)]
    assert codes[:10] == [302] * 10
    assert codes[10] == 429
    assert User.objects.count() == 10


@pytest.mark.django_db
def test_password_reset_mails_a_link_that_sets_a_new_password(client: Client, mailoutbox: list) -> None:
    User.objects.create_user("ana@example.org", "a-long-test-password")
    client.post("/accounts/password/reset/", {"email": "ANA@example.org"})
    assert [m.to for m in mailoutbox] == [["ana@example.org"]]
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", mailoutbox[0].body).group(1)
    opened = client.get(link)  # allauth moves the key into the session and redirects to the form
    form_url = opened["Location"] if opened.status_code == 302 else link
    done = client.post(form_url, {"password1": "another-long-password", "password2": "another-long-password"})
    assert done.status_code == 302
    assert User.objects.get(email="ana@example.org").check_password("another-long-password")


@pytest.mark.django_db
def test_staff_sort_applicants_by_hours_and_name_and_an_unknown_order_falls_back() -> None:
    staff = Client()
    staff.force_login(staff_user(role="superuser", email="lead@labelcrew.test"))
    people = {}
    for email, name, hours in [("zoe@example.org", "Zoe", 15), ("abe@example.org", "Abe", 5),
                              ("mia@example.org", "Mia", 10)]:
        _, people[name] = contractor_signed_in(email)
        Contractor.objects.filter(pk=people[name].pk).update(display_name=name, hours_available_per_week=hours)

    def order(query: str) -> list[str]:
        page = staff.get(f"/staff/applicants/{query}").content.decode()
        return sorted(people, key=lambda n: page.index(f"{n.lower()}@example.org"))

    assert order("?sort=hours") == ["Zoe", "Mia", "Abe"]
    assert order("?sort=name") == ["Abe", "Mia", "Zoe"]
    found = staff.get("/staff/applicants/?sort=name&search=zoe").content.decode()
    assert "zoe@example.org" in found
    assert "abe@example.org" not in found
    assert staff.get("/staff/applicants/?sort=sideways").status_code == 200


@pytest.mark.django_db
def test_acceptance_and_tax_times_are_on_the_contractors_clock_and_follow_a_profile_change() -> None:
    contractor = contractor_in_state(OnboardingState.ACTIVE, timezone_name="Asia/Kolkata")
    client = Client()
    client.force_login(contractor.user)
    accepted = contractor.acceptances.order_by("accepted_at").first().accepted_at
    in_kolkata = accepted.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%Y-%m-%d %H:%M")
    assert f"{in_kolkata} (Asia/Kolkata)" in client.get("/agreements/").content.decode()
    assert re.search(r"signed \d{4}-\d\d-\d\d \d\d:\d\d \(Asia/Kolkata\)\.", client.get("/profile/").content.decode())
    Contractor.objects.filter(pk=contractor.pk).update(timezone="America/Lima")
    assert "(America/Lima)" in client.get("/agreements/").content.decode()


@pytest.mark.django_db
def test_delete_my_account_is_styled_as_danger_not_as_the_main_action() -> None:
    client, _ = contractor_signed_in("dana@example.com")
    html = client.get("/privacy/").content.decode()
    assert re.search(r'<button type="submit" class="danger">\s*Delete my account', html)


@pytest.mark.django_db
def test_the_profile_lists_cldr_languages_in_their_own_name_and_the_pages() -> None:
    contractor = contractor_in_state(OnboardingState.EMAIL_VERIFIED)
    contractor_ui_language_set(contractor=contractor, language="es")
    client = Client()
    client.force_login(contractor.user)
    page = client.get("/profile/").content.decode()
    for code, label in (("fil", "filipino"), ("ha", "hausa"), ("yo", "Èdè Yorùbá · yoruba"),
                        ("am", "አማርኛ · amárico"), ("zu", "isiZulu · zulú"), ("so", "Soomaali · somalí"),
                        ("sw", "Kiswahili · suajili")):
        assert f'<option value="{code}">{label}</option>' in page
    assert 'data-filter="languages"' in page  # the filter box a script puts above the list


@pytest.mark.django_db
def test_the_profile_offers_the_countrys_time_zones_first_and_saves_a_new_language() -> None:
    contractor = contractor_in_state(OnboardingState.EMAIL_VERIFIED)
    Contractor.objects.filter(pk=contractor.pk).update(country="KE")  # chosen, the profile not yet saved
    client = Client()
    client.force_login(contractor.user)
    page = client.get("/profile/").content.decode()
    kenya = page.index('<optgroup label="Time zones of Kenya">')
    assert page.index('<option value="Africa/Nairobi"', kenya) < page.index('<optgroup label="All time zones">')
    assert "resolvedOptions().timeZone" in page
    assert validation.country_zones()["PH"] == ("Asia/Manila",)
    profile_update(contractor=contractor, legal_name="Amina Yusuf", display_name="Amina", country="NG",
                            timezone_name="Africa/Lagos", languages=["ha", "yo", "en"], hours_available_per_week=5,
                            payout_method="paypal", payout_email="amina@example.com", date_of_birth=date(1999, 1, 1))
    contractor.refresh_from_db()
    assert contractor.languages == ["en", "ha", "yo"]

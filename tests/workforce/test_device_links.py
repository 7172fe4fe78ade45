"""One person, one cap, by device: a second account signing in from a browser another account signed in from is held
for staff review with the evidence on its applicant page (workforce.services.devices)."""
import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import TEST_PASSWORD, contractor_in_state, staff_user
from workforce.models import Contractor, DeviceSignIn, OnboardingState
from workforce.selectors.linked import linked_contractor_ids
from workforce.selectors.standing import can_receive_batches
from workforce.services.accounts import user_sign_in_set
from workforce.services.devices import DEVICE_COOKIE
from workforce.services.privacy import contractor_data_export, contractor_delete
from workforce.services.profile import payout_release

pytestmark = pytest.mark.django_db
PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"
LAPTOP = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def contractor() -> Contractor:
    found = contractor_in_state(OnboardingState.ACTIVE)
    user_sign_in_set(user=found.user, password=TEST_PASSWORD)
    return found


def sign_in(browser: Client, who: Contractor) -> None:
    """Sign in through allauth's login form, as a person does, then out again (the browser keeps its cookies)."""
    answer = browser.post(reverse("account_login"), {"login": who.user.email, "password": TEST_PASSWORD})
    assert answer.status_code == 302, answer.content[:300]
    browser.post(reverse("account_logout"))


def browser(user_agent: str = PHONE) -> Client:
    return Client(HTTP_USER_AGENT=user_agent)


def test_a_second_account_signing_in_from_the_same_browser_is_held_with_the_evidence() -> None:
    ana, ben = contractor(), contractor()
    phone = browser()
    sign_in(phone, ana)
    device = phone.cookies[DEVICE_COOKIE]
    assert len(device.value) == 32
    assert device["httponly"]
    assert device["max-age"] > 365 * 24 * 3600
    sign_in(phone, ben)
    assert phone.cookies[DEVICE_COOKIE].value == device.value  # the cookie is made once per browser
    ana.refresh_from_db()
    ben.refresh_from_db()
    assert ana.link_evidence == ""  # the first account is not held
    assert f"contractor #{ana.pk} ({ana.user.email}) signed in from the same device" in ben.link_evidence
    assert "Android 14" in ben.link_evidence
    assert not can_receive_batches(ben)
    # A device alone does not join the caps (a shared computer is not one person); staff decide.
    assert linked_contractor_ids(ben) == [ben.pk]
    staff = Client()
    staff.force_login(staff_user(role="operations"))
    page = staff.get(f"/staff/applicants/{ben.pk}/").content.decode()
    assert "Held for review (no batches, no pay)" in page
    assert "signed in from the same device" in page
    assert "device only: own cap" in page
    assert f'href="/staff/applicants/{ana.pk}/"' in page
    # And on the first account's page the second one is listed as linked, without holding it.
    assert f'href="/staff/applicants/{ben.pk}/"' in staff.get(f"/staff/applicants/{ana.pk}/").content.decode()


def test_other_browsers_and_a_copied_cookie_in_another_browser_link_nobody() -> None:
    ana, ben, cleo = contractor(), contractor(), contractor()
    phone = browser()
    sign_in(phone, ana)
    sign_in(browser(), ben)  # another phone of the same model: its own cookie
    laptop = browser(LAPTOP)
    laptop.cookies[DEVICE_COOKIE] = phone.cookies[DEVICE_COOKIE].value  # the cookie copied into another browser
    sign_in(laptop, cleo)
    forged = browser()
    forged.cookies[DEVICE_COOKIE] = "not-a-device-token"
    sign_in(forged, cleo)
    assert forged.cookies[DEVICE_COOKIE].value != "not-a-device-token"  # replaced by a token of our own
    assert list(Contractor.objects.exclude(link_evidence="").values_list("pk", flat=True)) == []
    assert DeviceSignIn.objects.filter(contractor=cleo).count() == 2


def test_signing_in_again_counts_the_sign_in_and_a_released_account_is_not_held_again() -> None:
    ana, ben = contractor(), contractor()
    phone = browser()
    sign_in(phone, ana)
    sign_in(phone, ben)
    payout_release(contractor=Contractor.objects.get(pk=ben.pk), actor=staff_user(role="operations"))
    sign_in(phone, ben)
    sign_in(phone, ana)
    ana.refresh_from_db()
    ben.refresh_from_db()
    assert (ana.link_evidence, ben.link_evidence) == ("", "")
    assert can_receive_batches(ben)
    assert DeviceSignIn.objects.get(contractor=ben).sign_ins == 2


def test_the_device_sign_ins_are_in_the_privacy_export_and_go_with_the_account() -> None:
    ana, ben = contractor(), contractor()
    phone = browser()
    sign_in(phone, ana)
    exported = contractor_data_export(contractor=ana)["device_sign_ins"]
    assert [(d["user_agent"], d["sign_ins"]) for d in exported] == [(PHONE, 1)]
    contractor_delete(contractor=ana)
    assert not DeviceSignIn.objects.filter(contractor=ana).exists()
    sign_in(phone, ben)
    ben.refresh_from_db()
    assert ben.link_evidence == ""  # a deleted account holds no one

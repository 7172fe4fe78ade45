"""Contractors' Label Studio accounts: made by a worker when qualification opens; the contractor signs in."""
import re
import time
import uuid

import httpx
import pytest
from cryptography.fernet import InvalidToken
from django.conf import settings
from django.test import Client, override_settings

from annotations import labelstudio
from annotations.models import LabelStudioAccount
from annotations.services.accounts import label_studio_password, label_studio_session_open
from common.errors import NotAllowed
from common.secrets_box import seal, unseal
from tests.factories import UserFactory, contractor_in_state
from workforce.models import OnboardingState
from workforce.services.privacy import contractor_delete


def _label_studio_login(email: str, password: str) -> bool:
    with httpx.Client(base_url=settings.LABEL_STUDIO_URL, timeout=10) as browser:
        form = browser.get("/user/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        answer = browser.post("/user/login/", headers={"Referer": f"{settings.LABEL_STUDIO_URL}/user/login/"},
                              data={"csrfmiddlewaretoken": token, "email": email, "password": password})
        return answer.status_code == 302


@pytest.mark.labelstudio
@pytest.mark.django_db(transaction=True)
def test_entering_qualification_makes_a_label_studio_account_the_contractor_can_sign_in_with(
    celery_worker: str, label_studio: str,
) -> None:
    email = f"q-{uuid.uuid4().hex[:12]}@example.org"
    contractor = contractor_in_state(OnboardingState.QUALIFYING, user=UserFactory(email=email))
    deadline = time.monotonic() + 30
    while not LabelStudioAccount.objects.filter(contractor=contractor).exists():
        assert time.monotonic() < deadline, "the worker made no Label Studio account within 30 s"
        time.sleep(0.5)
    account = LabelStudioAccount.objects.get(contractor=contractor)
    assert account.email == email
    client = Client()
    client.force_login(contractor.user)
    assert email in client.get("/dashboard/").content.decode()
    page = client.post("/label-studio/password/")
    assert page["Cache-Control"] == "no-store"
    password = re.search(r'data-testid="ls-password">([^<]+)<', page.content.decode()).group(1)
    assert password not in account.sealed_password
    assert _label_studio_login(email, password)
    assert not _label_studio_login(email, password + "x")


@pytest.mark.django_db
def test_another_contractor_cannot_see_the_password_and_applicants_have_no_account() -> None:
    applicant = contractor_in_state(OnboardingState.EMAIL_VERIFIED)
    client = Client()
    client.force_login(applicant.user)
    assert "made when your qualification round opens" in client.get("/dashboard/").content.decode()
    assert client.post("/label-studio/password/").status_code == 404
    assert not LabelStudioAccount.objects.exists()


def test_sealed_secrets_round_trip_and_depend_on_the_key() -> None:
    sealed = seal("hunter2-long")
    assert "hunter2" not in sealed
    assert unseal(sealed) == "hunter2-long"
    with override_settings(FIELD_ENCRYPTION_KEY="A" * 43 + "="), pytest.raises(InvalidToken):
        unseal(sealed)


def _label_studio_organizations(session: str) -> list:
    """The organizations Label Studio lets this session's user in (memberships not removed)."""
    answer = httpx.get(f"{settings.LABEL_STUDIO_URL}/api/organizations/", timeout=20,
                       cookies={labelstudio.SESSION_COOKIE: session})
    answer.raise_for_status()
    return answer.json()


@pytest.mark.labelstudio
@pytest.mark.django_db(transaction=True)
def test_deleting_the_account_deactivates_the_label_studio_user(celery_worker: str, label_studio: str) -> None:
    email = f"d-{uuid.uuid4().hex[:12]}@example.org"
    contractor = contractor_in_state(OnboardingState.QUALIFYING, user=UserFactory(email=email))
    deadline = time.monotonic() + 30
    while not LabelStudioAccount.objects.filter(contractor=contractor, active=True).exists():
        assert time.monotonic() < deadline, "the worker made no Label Studio account within 30 s"
        time.sleep(0.5)
    account = LabelStudioAccount.objects.get(contractor=contractor)
    password = label_studio_password(account=account)
    assert _label_studio_organizations(labelstudio.session_open(email=email, password=password))

    contractor_delete(contractor=contractor)

    deadline = time.monotonic() + 30
    while LabelStudioAccount.objects.filter(contractor=contractor, active=True).exists():
        assert time.monotonic() < deadline, "the worker did not close the Label Studio account within 30 s"
        time.sleep(0.5)
    # The mapping goes inactive just before the worker asks Label Studio: wait for Label Studio's side too. It has
    # taken the user out of its organization, and LabelCrew opens no session for them any more.
    deadline = time.monotonic() + 30
    while _label_studio_organizations(labelstudio.session_open(email=email, password=password)):
        assert time.monotonic() < deadline, "Label Studio still counts the deleted contractor as a member"
        time.sleep(0.5)
    with pytest.raises(NotAllowed):
        label_studio_session_open(contractor=contractor)

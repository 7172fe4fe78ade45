"""Contractors' Label Studio accounts: made by a worker when qualification opens; the contractor signs in."""
import re
import time
import uuid

import httpx
import pytest
from cryptography.fernet import InvalidToken
from django.conf import settings
from django.test import Client, override_settings

from annotations.models import LabelStudioAccount
from common.secrets_box import seal, unseal
from tests.factories import UserFactory, contractor_in_state
from workforce.models import OnboardingState


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

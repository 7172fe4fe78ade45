"""Contractors' Label Studio accounts: made by a worker when qualification opens, shown on the dashboard."""
import time

import pytest
from django.test import Client

from annotations.models import LabelStudioAccount
from tests.factories import contractor_in_state
from workforce.models import OnboardingState


@pytest.mark.labelstudio
@pytest.mark.django_db(transaction=True)
def test_entering_qualification_makes_a_label_studio_account_shown_on_the_dashboard(
    celery_worker: str, label_studio: str,
) -> None:
    contractor = contractor_in_state(OnboardingState.QUALIFYING)
    deadline = time.monotonic() + 30
    while not LabelStudioAccount.objects.filter(contractor=contractor).exists():
        assert time.monotonic() < deadline, "the worker made no Label Studio account within 30 s"
        time.sleep(0.5)
    account = LabelStudioAccount.objects.get(contractor=contractor)
    assert account.email == contractor.user.email
    assert account.active
    assert not any("password" in f.name for f in LabelStudioAccount._meta.get_fields())
    client = Client()
    client.force_login(contractor.user)
    assert account.email in client.get("/dashboard/").content.decode()


@pytest.mark.django_db
def test_applicants_before_qualification_see_no_label_studio_account() -> None:
    contractor = contractor_in_state(OnboardingState.EMAIL_VERIFIED)
    client = Client()
    client.force_login(contractor.user)
    assert "made when your qualification round opens" in client.get("/dashboard/").content.decode()
    assert not LabelStudioAccount.objects.exists()

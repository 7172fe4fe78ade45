"""The gateway lets staff into Label Studio by their role, not by Django's is_staff flag alone: operations and
reviewers work there, payroll does not, and whoever must have a second factor is refused until they set it up."""
import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from tests.factories import UserFactory, staff_user

pytestmark = pytest.mark.django_db
SECRET = "gateway-secret-for-the-test"


def decided(user: object, uri: str = "/api/projects/", method: str = "GET") -> tuple[int, str]:
    """What /gateway/decide answers nginx for this user's request of Label Studio (status and reason)."""
    cache.clear()  # the asker is cached by session key for a few seconds
    client = Client()
    client.force_login(user)
    with override_settings(GATEWAY_SECRET=SECRET):
        answer = client.get("/gateway/decide", HTTP_X_LABELCREW_GATEWAY=SECRET, HTTP_X_ORIGINAL_URI=uri,
                            HTTP_X_ORIGINAL_METHOD=method)
    return answer.status_code, answer["X-LabelCrew-Reason"]


@pytest.mark.parametrize("role", ["operations", "reviewer", "admin", "superuser"])
def test_staff_whose_role_works_in_label_studio_pass_everything(role: str) -> None:
    user = staff_user(role=role)
    assert decided(user) == (204, "")
    assert decided(user, "/api/projects/1/export?exportType=JSON")[0] == 204
    assert decided(user, "/api/projects/", "POST")[0] == 204


def test_payroll_staff_are_refused_label_studio() -> None:
    status, reason = decided(staff_user(role="payroll"))
    assert status == 403
    assert "does not open Label Studio" in reason


def test_a_staff_flag_without_a_role_opens_nothing() -> None:
    status, reason = decided(UserFactory(is_staff=True))
    assert status == 403
    assert "does not open Label Studio" in reason


@pytest.mark.parametrize("role", ["admin", "superuser"])
def test_staff_who_need_a_second_factor_are_refused_until_they_have_one(role: str) -> None:
    status, reason = decided(staff_user(role=role, mfa=False))
    assert status == 403
    assert "second factor" in reason
    # Operations need none (they move no money) and pass without one.
    assert decided(staff_user(role="operations", mfa=False))[0] == 204

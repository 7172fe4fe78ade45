"""ensure_staff_user: the demo's first staff login, made without a prompt."""
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command


@pytest.mark.django_db
def test_creates_then_updates_a_staff_superuser_from_a_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("correct horse battery\n")
    call_command("ensure_staff_user", "--email", "Ops@Example.com", "--password-file", str(secret))
    user = get_user_model().objects.get(email="ops@example.com")
    assert user.is_staff
    assert user.is_superuser
    assert user.check_password("correct horse battery")
    assert EmailAddress.objects.get(user=user).verified  # allauth lets them sign in
    secret.write_text("another long passphrase")
    call_command("ensure_staff_user", "--email", "ops@example.com", "--password-file", str(secret))
    user.refresh_from_db()
    assert user.check_password("another long passphrase")
    assert get_user_model().objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("email", "password", "message"), [
    ("not-an-email", "long enough password", "--email"),
    ("ops@example.com", "short", "shorter than 12 characters"),
])
def test_bad_input_is_refused_and_nothing_is_saved(tmp_path: Path, email: str, password: str, message: str) -> None:
    secret = tmp_path / "pw"
    secret.write_text(password)
    with pytest.raises(CommandError, match=message):
        call_command("ensure_staff_user", "--email", email, "--password-file", str(secret))
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_a_role_makes_staff_of_that_role_only_not_a_superuser(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("a-long-operations-password")
    call_command("ensure_staff_user", "--email", "ops@example.com", "--password-file", str(secret),
                 "--role", "operations")
    user = get_user_model().objects.get(email="ops@example.com")
    assert user.is_staff
    assert not user.is_superuser
    assert user.has_perm("annotations.operate_jobs")
    assert not user.has_perm("payroll.run_payroll")

"""Logins made by an operator's command (staff, demo crew) rather than through signup."""
from allauth.account.models import EmailAddress
from django.db import transaction

from workforce.models import User, normalize_email_address


@transaction.atomic
def user_ensure(*, email: str, staff: bool = False) -> tuple[User, bool]:
    """The user with this address (trimmed, lower-cased), made with an unusable password when missing (True then);
    `staff` makes a new user staff and never takes staff rights from an existing one."""
    user, created = User.objects.get_or_create(email=normalize_email_address(email))
    if created:
        user.set_unusable_password()
        user.is_staff = staff
        user.save()
    return user, created


@transaction.atomic
def user_sign_in_set(*, user: User, password: str) -> None:
    """Save the user with this password and their address as verified, for logins made by an operator's command
    (staff, demo crew) rather than through signup."""
    user.set_password(password)
    user.save()
    # allauth signs in (with mandatory verification) only addresses it has on file as verified.
    EmailAddress.objects.filter(user=user).exclude(email=user.email).delete()
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})

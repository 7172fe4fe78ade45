"""Contractors' Label Studio accounts: made from qualification on, closed on offboarding, passwords never kept."""
import secrets

from django.db import transaction

from annotations import labelstudio
from annotations.models import LabelStudioAccount
from workforce.models import Contractor


def label_studio_account_ensure(*, contractor: Contractor) -> LabelStudioAccount:
    """The contractor's Label Studio user, made once and remembered; safe to call again.

    The user is created with a random password from `secrets` that is stored nowhere: the
    contractor sets their own through Label Studio's password reset, or an admin sets one.
    Only the display name is sent, not the legal name: Label Studio needs no more.
    """
    account = LabelStudioAccount.objects.filter(contractor=contractor).first()
    if account is not None and account.active:
        return account
    email = contractor.user.email
    # The HTTP call stays outside the transaction; user_ensure finds the user again by email on a retry.
    ls_user_id = labelstudio.user_ensure(email=email, first_name=contractor.display_name, last_name="",
                                         password=secrets.token_urlsafe(32))
    with transaction.atomic():
        account, _ = LabelStudioAccount.objects.update_or_create(
            contractor=contractor, defaults={"ls_user_id": ls_user_id, "email": email, "active": True})
    return account


@transaction.atomic
def label_studio_account_deactivate(*, contractor: Contractor) -> None:
    """Mark the contractor's Label Studio mapping inactive.

    Label Studio OSS cannot delete a user safely (their annotations would go with them), so the
    user stays there and this side stops giving them work.
    """
    LabelStudioAccount.objects.filter(contractor=contractor).update(active=False)


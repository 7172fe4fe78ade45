"""Contractors' Label Studio accounts: made from qualification on, closed on offboarding or rejection, signed in
through LabelCrew (the gateway), passwords kept only sealed."""
import secrets

from django.db import transaction

from annotations import labelstudio
from annotations.models import LabelStudioAccount
from annotations.services import dispatch
from common.errors import NotAllowed
from common.secrets_box import seal, unseal
from workforce.models import Contractor, OnboardingState

# A contractor needs Label Studio from qualification on; offboarding closes the mapping.
NEEDS_ACCOUNT = frozenset({OnboardingState.QUALIFYING, OnboardingState.APPROVED, OnboardingState.ACTIVE})
# Label Studio users of these are taken out of its organization (there is no way back there). A pause is enforced
# by the gateway alone, which refuses a paused contractor before Label Studio sees the request, and lifts on resume.
CLOSED_FOR_GOOD = frozenset({OnboardingState.OFFBOARDED, OnboardingState.REJECTED})


def label_studio_account_ensure(*, contractor: Contractor) -> LabelStudioAccount:
    """The contractor's Label Studio user, made once with a random password kept only encrypted.

    Made through Label Studio's invite-link signup, the one way its open-source edition sets a
    password. If the email already had a Label Studio user, that user is mapped and no password
    is known (staff then set one in Label Studio). No name is sent: Label Studio needs none.
    """
    # The row lock makes concurrent calls (a worker and a page, say) wait for each other: two
    # signups of one email at once make Label Studio answer 500 to both.
    with transaction.atomic():
        Contractor.objects.select_for_update().filter(pk=contractor.pk).first()
        account = LabelStudioAccount.objects.filter(contractor=contractor).first()
        if account is not None and account.active:
            return account
        email = contractor.user.email
        password = secrets.token_urlsafe(12)
        ls_user_id = labelstudio.user_signup(email=email, password=password)
        sealed = seal(password) if ls_user_id is not None else (account.sealed_password if account else "")
        if ls_user_id is None:
            ls_user_id = labelstudio.user_ensure(email=email, first_name="", last_name="",
                                                 password=secrets.token_urlsafe(32))
        account, _ = LabelStudioAccount.objects.update_or_create(
            contractor=contractor,
            defaults={"ls_user_id": ls_user_id, "email": email, "active": True, "sealed_password": sealed})
    return account


def label_studio_password(*, account: LabelStudioAccount) -> str | None:
    """The account's Label Studio password, for its contractor's eyes only; None if LabelCrew never knew it."""
    return unseal(account.sealed_password) if account.sealed_password else None


def label_studio_account_deactivate(*, contractor: Contractor) -> None:
    """Close the contractor's Label Studio user for good: the mapping goes inactive (the gateway refuses them from
    the commit on) and Label Studio takes them out of the organization, so it refuses them too.

    Label Studio OSS cannot delete a user safely (their annotations would go with them), and its API has no
    `is_active`; a soft delete of the membership keeps the annotations and refuses the user every project and API.
    """
    with transaction.atomic():
        account = LabelStudioAccount.objects.select_for_update().filter(contractor=contractor).first()
        if account is None:
            return
        LabelStudioAccount.objects.filter(pk=account.pk).update(active=False)
    labelstudio.user_deactivate(ls_user_id=account.ls_user_id)


def label_studio_session_open(*, contractor: Contractor) -> str:
    """A Label Studio session of the contractor's own user, opened by LabelCrew with the sealed password (the
    contractor never types it); the value of Label Studio's session cookie. NotAllowed when there is none to open."""
    account = LabelStudioAccount.objects.filter(contractor=contractor, active=True).first()
    if account is None:
        raise NotAllowed("You have no Label Studio account yet; it is made when your qualification round opens.")
    password = label_studio_password(account=account)
    if password is None:
        raise NotAllowed("LabelCrew does not know this Label Studio user's password; ask staff to reset it.")
    return labelstudio.session_open(email=account.email, password=password)


def label_studio_account_ensure_by_id(*, contractor_id: int) -> LabelStudioAccount:
    """label_studio_account_ensure for a contractor named by id (the Celery task's entry)."""
    return label_studio_account_ensure(contractor=Contractor.objects.select_related("user").get(pk=contractor_id))


def label_studio_account_deactivate_by_id(*, contractor_id: int) -> None:
    """label_studio_account_deactivate for a contractor named by id (the Celery task's entry)."""
    label_studio_account_deactivate(contractor=Contractor.objects.get(pk=contractor_id))


def label_studio_account_follow(*, contractor_id: int, to_state: str) -> None:
    """Queue what Label Studio needs after a contractor's state change: a new applicant's account and
    qualification round, an account from approval on, its closing on offboarding (nothing without Label Studio)."""
    if not labelstudio.is_configured():
        return
    if to_state == OnboardingState.QUALIFYING:
        dispatch.task_send("open_qualification_round", contractor_id)  # makes the account first
    elif to_state in NEEDS_ACCOUNT:
        dispatch.task_send("ensure_label_studio_account", contractor_id)
    elif to_state in CLOSED_FOR_GOOD:
        dispatch.task_send("deactivate_label_studio_account", contractor_id)

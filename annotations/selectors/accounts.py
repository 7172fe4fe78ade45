"""Reads about contractors' Label Studio accounts.

Destined for annotations/selectors/accounts.py once annotations' selectors are a package.
"""
from annotations.models import LabelStudioAccount
from workforce.models import Contractor


def label_studio_account_active(contractor: Contractor) -> LabelStudioAccount | None:
    """The contractor's Label Studio account while it is in use, else None."""
    return LabelStudioAccount.objects.filter(contractor=contractor, active=True).first()

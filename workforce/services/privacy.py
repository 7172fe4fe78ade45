"""The contractor's privacy rights: all their data as JSON, and deleting the account."""
from typing import Any

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone

from workforce import onboarding
from workforce.models import (
    AgreementAcceptance,
    Contractor,
    DeviceSignIn,
    OnboardingState,
)
from workforce.privacy import export_sections

S = OnboardingState


def contractor_data_export(*, contractor: Contractor) -> dict[str, Any]:
    """Everything LabelCrew holds about the contractor, as JSON-ready data: the workforce's own sections, then those
    the other apps register (hours, timesheets, statements, quality scores, annotation references)."""
    user = contractor.user
    own = {
        "exported_at": timezone.now().isoformat(),
        "account": {"email": user.email, "date_joined": user.date_joined.isoformat(),
                    "last_login": user.last_login.isoformat() if user.last_login else None},
        "profile": {
            "state": contractor.state, "state_reason": contractor.state_reason,
            "legal_name": contractor.legal_name, "display_name": contractor.display_name,
            "country": str(contractor.country), "timezone": contractor.timezone, "languages": contractor.languages,
            "hours_available_per_week": contractor.hours_available_per_week,
            "payout_method": contractor.payout_method, "payout_email": contractor.payout_email,
            "date_of_birth": contractor.date_of_birth.isoformat() if contractor.date_of_birth else None,
            "qualification_score": str(contractor.qualification_score) if contractor.qualification_score else None,
        },
        "tax_declarations": [
            {"form": d.form, "legal_name": d.legal_name, "country_of_residence": str(d.country_of_residence),
             "is_us_person": d.is_us_person, "signature": d.signature, "declared_at": d.declared_at.isoformat(),
             "ip_address": d.ip_address}
            for d in contractor.tax_declarations.all()
        ],
        "agreement_acceptances": [
            {"agreement": a.agreement.get_kind_display(), "version": a.agreement.version,
             "accepted_at": a.accepted_at.isoformat(), "ip_address": a.ip_address, "user_agent": a.user_agent}
            for a in contractor.acceptances.select_related("agreement").order_by("accepted_at")
        ],
        "device_sign_ins": [
            {"device": d.fingerprint, "user_agent": d.user_agent, "first_seen_at": d.first_seen_at.isoformat(),
             "last_seen_at": d.last_seen_at.isoformat(), "sign_ins": d.sign_ins}
            for d in contractor.device_sign_ins.all()
        ],
        "state_history": [
            {"from": t.from_state, "to": t.to_state, "reason": t.reason, "at": t.created_at.isoformat()}
            for t in contractor.transitions.all()
        ],
    }
    sections = export_sections(contractor)
    clash = own.keys() & sections.keys()
    if clash:
        raise RuntimeError(f"Privacy export sections registered twice: {sorted(clash)}")
    return {**own, **sections}


@transaction.atomic
def contractor_delete(*, contractor: Contractor) -> None:
    """Close the account and anonymize personal fields; pay and tax records stay for accounting."""
    if contractor.state != S.OFFBOARDED:
        onboarding.transition(contractor=contractor, to_state=S.OFFBOARDED, actor=contractor.user,
                              reason="account deleted at the contractor's request")
    user = contractor.user
    EmailAddress.objects.filter(user=user).delete()
    user.email = f"deleted-{user.pk}@deleted.invalid"
    user.first_name = user.last_name = ""
    user.is_active = False
    user.set_unusable_password()
    user.save()
    now = timezone.now()
    Contractor.objects.filter(pk=contractor.pk).update(
        legal_name="", display_name="", timezone="", languages=[], hours_available_per_week=None,
        payout_email="", date_of_birth=None, deletion_requested_at=now, anonymized_at=now,
    )
    AgreementAcceptance.objects.filter(contractor=contractor).update(ip_address=None, user_agent="")
    DeviceSignIn.objects.filter(contractor=contractor).delete()

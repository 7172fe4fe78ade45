"""Every write about contractors: registration, profile, tax declaration, agreements, staff decisions, privacy."""
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mass_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from common.errors import DomainError, NotAllowed
from common.validators import validate_printable
from workforce import onboarding, validation
from workforce.models import (
    Agreement,
    AgreementAcceptance,
    Contractor,
    OnboardingState,
    PayoutMethod,
    TaxDeclaration,
    TaxForm,
    User,
)
from workforce.selectors import PROFILE_FIELDS, current_agreements, pending_agreements, profile_missing

S = OnboardingState


def _check(field: str, validator: Callable[[Any], None], value: Any) -> None:
    try:
        validator(value)
    except ValidationError as exc:
        raise DomainError(f"{field}: {exc.messages[0]}", field=field) from None


def _check_text(field: str, value: Any, *, max_length: int, required: bool = True) -> str:
    if not isinstance(value, str):
        raise DomainError(f"{field}: must be text.", field=field)
    value = value.strip()
    if required and not value:
        raise DomainError(f"{field}: this field is required.", field=field)
    if len(value) > max_length:
        raise DomainError(f"{field}: at most {max_length} characters (got {len(value)}).", field=field)
    _check(field, validate_printable, value)
    return value


# --- registration ---------------------------------------------------------------------

@transaction.atomic
def contractor_register(*, user: User) -> Contractor:
    """Every self-signed-up account is a contractor applicant; staff accounts are made apart."""
    contractor, _ = Contractor.objects.get_or_create(user=user)
    return contractor


@transaction.atomic
def contractor_email_verified(*, user: User) -> None:
    contractor = Contractor.objects.filter(user=user).first()
    if contractor and contractor.state == S.APPLIED:
        onboarding.transition(contractor=contractor, to_state=S.EMAIL_VERIFIED, reason="email address confirmed")
        _advance(contractor)


def _advance(contractor: Contractor) -> None:
    """Take every step the contractor's data now allows; each one is audited."""
    if contractor.state == S.EMAIL_VERIFIED and not profile_missing(contractor):
        onboarding.transition(contractor=contractor, to_state=S.PROFILE_COMPLETE, reason="profile completed")
    if contractor.state == S.PROFILE_COMPLETE and current_agreements() and not pending_agreements(contractor):
        onboarding.transition(contractor=contractor, to_state=S.AGREEMENT_ACCEPTED, reason="agreements accepted")
        onboarding.transition(contractor=contractor, to_state=S.QUALIFYING, reason="qualification round opened")


def _lock_fresh(contractor: Contractor) -> None:
    """Lock the row and reload it, so a save never writes back a state another request changed."""
    Contractor.objects.select_for_update().filter(pk=contractor.pk).first()
    contractor.refresh_from_db()
    if contractor.state in (S.OFFBOARDED, S.REJECTED):
        raise NotAllowed("This account is closed; it can no longer be changed.")


# --- profile --------------------------------------------------------------------------

@transaction.atomic
def profile_update(
    *, contractor: Contractor, legal_name: str, display_name: str, country: str, timezone_name: str,
    languages: list[str], hours_available_per_week: int, payout_method: str, payout_email: str,
    date_of_birth: date,
) -> Contractor:
    _lock_fresh(contractor)
    contractor.legal_name = _check_text("legal_name", legal_name, max_length=validation.NAME_MAX_LENGTH)
    contractor.display_name = _check_text("display_name", display_name, max_length=100)
    _check("country", validation.validate_country, country)
    _check("timezone", validation.validate_timezone, timezone_name)
    _check("languages", validation.validate_languages, languages)
    if not isinstance(hours_available_per_week, int) or isinstance(hours_available_per_week, bool):
        raise DomainError("hours_available_per_week: must be a whole number.", field="hours_available_per_week")
    _check("hours_available_per_week", validation.validate_hours_available, hours_available_per_week)
    if payout_method not in PayoutMethod.values:
        raise DomainError(f"payout_method: choose one of {', '.join(PayoutMethod.values)}.", field="payout_method")
    _check("payout_email", validate_email, payout_email)
    if not isinstance(date_of_birth, date):
        raise DomainError("date_of_birth: a date (YYYY-MM-DD) is required.", field="date_of_birth")
    _check("date_of_birth", validation.validate_adult, date_of_birth)
    contractor.country, contractor.timezone = country, timezone_name
    contractor.languages = sorted(set(languages))
    contractor.hours_available_per_week = hours_available_per_week
    contractor.payout_method, contractor.payout_email = payout_method, payout_email.strip().lower()
    contractor.date_of_birth = date_of_birth
    contractor.save(update_fields=[*PROFILE_FIELDS, "updated_at"])
    _advance(contractor)
    return contractor


@transaction.atomic
def tax_declare(
    *, contractor: Contractor, is_us_person: bool, legal_name: str, country_of_residence: str,
    signature: str, certified: bool, ip_address: str | None,
) -> TaxDeclaration:
    """Record a W-8BEN-style (not a US person) or W-9-style (US person) self-certification."""
    _lock_fresh(contractor)
    legal_name = _check_text("legal_name", legal_name, max_length=validation.NAME_MAX_LENGTH)
    signature = _check_text("signature", signature, max_length=validation.NAME_MAX_LENGTH)
    _check("country_of_residence", validation.validate_country, country_of_residence)
    if not certified:
        raise DomainError("certified: you must certify that the information is true.", field="certified")
    if signature.casefold() != legal_name.casefold():
        raise DomainError("signature: type your full legal name exactly as above to sign.", field="signature")
    if country_of_residence == "US" and not is_us_person:
        raise DomainError("is_us_person: residents of the United States are US persons for tax purposes.",
                          field="is_us_person")
    declaration = TaxDeclaration.objects.create(
        contractor=contractor, form=TaxForm.W9 if is_us_person else TaxForm.W8BEN, legal_name=legal_name,
        country_of_residence=country_of_residence, is_us_person=is_us_person, certified=True,
        signature=signature, ip_address=ip_address,
    )
    _advance(contractor)
    return declaration


@transaction.atomic
def profile_submit(
    *, contractor: Contractor, profile: dict[str, Any], tax: dict[str, Any] | None, ip_address: str | None
) -> Contractor:
    """The profile page: profile and, when given, a tax declaration, saved together or not at all."""
    profile_update(
        contractor=contractor, legal_name=profile["legal_name"], display_name=profile["display_name"],
        country=profile["country"], timezone_name=profile["timezone"], languages=profile["languages"],
        hours_available_per_week=profile["hours_available_per_week"], payout_method=profile["payout_method"],
        payout_email=profile["payout_email"], date_of_birth=profile["date_of_birth"],
    )
    if tax is not None:
        try:
            tax_declare(
                contractor=contractor, is_us_person=tax["is_us_person"], legal_name=tax["tax_legal_name"],
                country_of_residence=tax["country_of_residence"], signature=tax["signature"],
                certified=tax["certified"], ip_address=ip_address,
            )
        except DomainError as exc:
            # The page names the declaration's legal name field apart from the profile's.
            raise DomainError(exc.message, field="tax_legal_name" if exc.field == "legal_name" else exc.field) from None
    return contractor


# --- agreements -----------------------------------------------------------------------

@transaction.atomic
def agreement_publish(*, kind: str, title: str, body: str, actor: User) -> Agreement:
    """Publish a new version; everyone already past the agreement step must accept it again."""
    title = _check_text("title", title, max_length=200)
    if not isinstance(body, str) or not body.strip():
        raise DomainError("body: the agreement text is required.", field="body")
    last = Agreement.objects.select_for_update().filter(kind=kind).aggregate(v=Max("version"))["v"] or 0
    agreement = Agreement.objects.create(
        kind=kind, version=last + 1, title=title, body=body.strip(), published_at=timezone.now(), created_by=actor,
    )
    if last:
        transaction.on_commit(lambda: _email_reacceptance(agreement_id=agreement.pk))
    return agreement


def _email_reacceptance(*, agreement_id: int) -> None:
    agreement = Agreement.objects.get(pk=agreement_id)
    states = (S.QUALIFYING, S.APPROVED, S.ACTIVE, S.PAUSED)
    emails = Contractor.objects.filter(state__in=states, anonymized_at__isnull=True).values_list("user__email",
                                                                                                  flat=True)
    subject = f"LabelCrew: please accept the new {agreement.get_kind_display().lower()} (v{agreement.version})"
    body = (f"A new version of the {agreement.get_kind_display().lower()} was published. Until you accept it, "
            f"no new batches can be assigned to you.\n\n{settings.SITE_URL}/agreements/\n\n-- LabelCrew\n")
    send_mass_mail(((subject, body, None, [email]) for email in emails), fail_silently=False)


@transaction.atomic
def agreements_accept(
    *, contractor: Contractor, agreement_ids: Iterable[int], ip_address: str | None, user_agent: str
) -> list[AgreementAcceptance]:
    pending = {a.pk: a for a in pending_agreements(contractor)}
    ids = set(agreement_ids)
    if not ids:
        raise DomainError("agreements: choose the agreements you accept.", field="agreements")
    unknown = ids - set(pending)
    if unknown:
        raise DomainError(f"agreements: {sorted(unknown)} are not current versions awaiting your acceptance.",
                          field="agreements")
    if contractor.state in (S.OFFBOARDED, S.REJECTED):
        raise NotAllowed("This account is closed.")
    accepted = [
        AgreementAcceptance.objects.create(contractor=contractor, agreement=pending[pk], ip_address=ip_address,
                                           user_agent=user_agent[:500])
        for pk in sorted(ids)
    ]
    _advance(contractor)
    return accepted


# --- staff decisions ------------------------------------------------------------------

STAFF_ACTIONS = {
    "approve": S.APPROVED,
    "reject": S.REJECTED,
    "pause": S.PAUSED,
    "resume": S.ACTIVE,
    "offboard": S.OFFBOARDED,
}


@transaction.atomic
def contractor_decide(
    *, contractor: Contractor, action: str, actor: User, reason: str = "", qualification_score: Decimal | None = None,
) -> Contractor:
    if not actor.is_staff:
        raise NotAllowed("Only staff can decide on contractors.")
    if action not in STAFF_ACTIONS:
        raise DomainError(f"action: choose one of {', '.join(STAFF_ACTIONS)}.", field="action")
    if action == "resume" and contractor.state != S.PAUSED:
        raise onboarding.InvalidTransition(contractor.state, S.ACTIVE)
    if qualification_score is not None:
        if not Decimal(0) <= qualification_score <= Decimal(1):
            raise DomainError("qualification_score: between 0 and 1.", field="qualification_score")
        contractor.qualification_score = qualification_score
        contractor.save(update_fields=["qualification_score", "updated_at"])
    onboarding.transition(contractor=contractor, to_state=STAFF_ACTIONS[action], actor=actor, reason=reason)
    return contractor


@transaction.atomic
def contractors_decide(*, contractor_ids: list[int], action: str, actor: User, reason: str = "") -> int:
    """All or nothing: one contractor who cannot take the action leaves every one unchanged."""
    contractors = list(Contractor.objects.filter(pk__in=contractor_ids).order_by("pk"))
    if len(contractors) != len(set(contractor_ids)) or not contractors:
        raise DomainError("contractors: some of the chosen contractors do not exist.", field="contractors")
    for contractor in contractors:
        try:
            contractor_decide(contractor=contractor, action=action, actor=actor, reason=reason)
        except DomainError as exc:
            error = DomainError(f"{contractor}: {exc.message} Nothing was changed.", field=exc.field)
            error.status = exc.status  # an invalid transition stays a 409, a refusal a 403
            raise error from None
    return len(contractors)


@transaction.atomic
def contractor_start_working(*, contractor: Contractor) -> Contractor:
    if pending_agreements(contractor):
        raise DomainError("Accept the current agreement and guidelines first.", field="agreements")
    onboarding.transition(contractor=contractor, to_state=S.ACTIVE, actor=contractor.user, reason="started working")
    return contractor


# --- privacy --------------------------------------------------------------------------

def contractor_data_export(*, contractor: Contractor) -> dict[str, Any]:
    """Everything LabelCrew holds about the contractor, as JSON-ready data."""
    user = contractor.user
    return {
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
        "state_history": [
            {"from": t.from_state, "to": t.to_state, "reason": t.reason, "at": t.created_at.isoformat()}
            for t in contractor.transitions.all()
        ],
    }


@transaction.atomic
def user_sign_in_set(*, user: User, password: str) -> None:
    """Save the user with this password and their address as verified, for logins made by an operator's command
    (staff, demo crew) rather than through signup."""
    from allauth.account.models import EmailAddress

    user.set_password(password)
    user.save()
    # allauth signs in (with mandatory verification) only addresses it has on file as verified.
    EmailAddress.objects.filter(user=user).exclude(email=user.email).delete()
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})


@transaction.atomic
def contractor_delete(*, contractor: Contractor) -> None:
    """Close the account and anonymize personal fields; pay and tax records stay for accounting."""
    from allauth.account.models import EmailAddress

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

"""The contractor's profile and tax self-certification, checked field by field."""
from datetime import date
from typing import Any

from django.conf import settings
from django.core.validators import validate_email
from django.db import transaction

from common.errors import DomainError
from workforce import onboarding, validation
from workforce.models import (
    Contractor,
    OnboardingState,
    PayoutMethod,
    TaxDeclaration,
    TaxForm,
)
from workforce.selectors.profile import PROFILE_FIELDS

S = OnboardingState


@transaction.atomic
def profile_update(
    *, contractor: Contractor, legal_name: str, display_name: str, country: str, timezone_name: str,
    languages: list[str], hours_available_per_week: int, payout_method: str, payout_email: str,
    date_of_birth: date,
) -> Contractor:
    onboarding.lock_fresh(contractor)
    contractor.legal_name = validation.checked_text("legal_name", legal_name, max_length=validation.NAME_MAX_LENGTH)
    contractor.display_name = validation.checked_text("display_name", display_name, max_length=100)
    validation.checked("country", validation.validate_country, country)
    validation.checked("timezone", validation.validate_timezone, timezone_name)
    validation.checked("languages", validation.validate_languages, languages)
    if not isinstance(hours_available_per_week, int) or isinstance(hours_available_per_week, bool):
        raise DomainError("hours_available_per_week: must be a whole number.", field="hours_available_per_week")
    validation.checked("hours_available_per_week", validation.validate_hours_available, hours_available_per_week)
    if payout_method not in PayoutMethod.values:
        raise DomainError(f"payout_method: choose one of {', '.join(PayoutMethod.values)}.", field="payout_method")
    validation.checked("payout_email", validate_email, payout_email)
    if not isinstance(date_of_birth, date):
        raise DomainError("date_of_birth: a date (YYYY-MM-DD) is required.", field="date_of_birth")
    validation.checked("date_of_birth", validation.validate_adult, date_of_birth)
    contractor.country, contractor.timezone = country, timezone_name
    contractor.languages = sorted(set(languages))
    contractor.hours_available_per_week = hours_available_per_week
    contractor.payout_method, contractor.payout_email = payout_method, payout_email.strip().lower()
    contractor.date_of_birth = date_of_birth
    contractor.save(update_fields=[*PROFILE_FIELDS, "updated_at"])
    onboarding.advance(contractor)
    return contractor


@transaction.atomic
def contractor_ui_language_set(*, contractor: Contractor, language: str) -> Contractor:
    """The language of the contractor's pages and emails: one of settings.LANGUAGES."""
    if language not in dict(settings.LANGUAGES):
        raise DomainError(f"ui_language: {language!r} is not a language of LabelCrew's pages.", field="ui_language")
    Contractor.objects.filter(pk=contractor.pk).update(ui_language=language)
    contractor.ui_language = language
    return contractor


@transaction.atomic
def tax_declare(
    *, contractor: Contractor, is_us_person: bool, legal_name: str, country_of_residence: str,
    signature: str, certified: bool, ip_address: str | None,
) -> TaxDeclaration:
    """Record a W-8BEN-style (not a US person) or W-9-style (US person) self-certification."""
    onboarding.lock_fresh(contractor)
    legal_name = validation.checked_text("legal_name", legal_name, max_length=validation.NAME_MAX_LENGTH)
    signature = validation.checked_text("signature", signature, max_length=validation.NAME_MAX_LENGTH)
    validation.checked("country_of_residence", validation.validate_country, country_of_residence)
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
    onboarding.advance(contractor)
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

"""The contractor's profile and tax self-certification, checked field by field."""
import logging
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from common.errors import Conflict, DomainError, NotAllowed
from common.roles import DECIDE_APPLICANTS, RUN_PAYROLL, staff_role_allows
from workforce import onboarding, validation
from workforce.emails import email_contractor
from workforce.models import (
    Contractor,
    OnboardingState,
    PayoutChange,
    PayoutMethod,
    TaxDeclaration,
    TaxForm,
    User,
    normalize_payout_address,
)
from workforce.selectors.linked import held_evidence, link_evidence
from workforce.selectors.profile import PROFILE_FIELDS

logger = logging.getLogger(__name__)
S = OnboardingState
# After a change of payout method or address the next payout waits this long, unless staff release it: time for
# the owner of the old address to notice a change they did not make.
PAYOUT_HOLD = timedelta(hours=72)


@transaction.atomic
def profile_update(
    *, contractor: Contractor, legal_name: str, display_name: str, country: str, timezone_name: str,
    languages: list[str], hours_available_per_week: int, payout_method: str, payout_email: str,
    date_of_birth: date, current_password: str | None = None, ip_address: str | None = None,
) -> Contractor:
    """Save the profile. Changing a payout method or address already given needs the password, is recorded, emails
    the old and the new address and holds the next payout; a payout address or legal name and date of birth that
    another open account has puts this one on hold for staff review."""
    onboarding.lock_fresh(contractor)
    old_method, old_email = contractor.payout_method, contractor.payout_email
    old_identity = (contractor.payout_email_normalized, contractor.legal_name, contractor.date_of_birth)
    contractor.legal_name = validation.checked_text("legal_name", legal_name, max_length=validation.NAME_MAX_LENGTH)
    contractor.display_name = validation.checked_text("display_name", display_name, max_length=100)
    validation.checked("country", validation.validate_country, country)
    validation.checked("timezone", validation.validate_timezone, timezone_name)
    validation.checked("languages", validation.validate_languages, languages)
    if not isinstance(hours_available_per_week, int) or isinstance(hours_available_per_week, bool):
        raise DomainError("hours_available_per_week: " + gettext("must be a whole number."),
                          field="hours_available_per_week")
    validation.checked("hours_available_per_week", validation.validate_hours_available, hours_available_per_week)
    if payout_method not in PayoutMethod.values:
        raise DomainError("payout_method: " + gettext("choose one of %(methods)s.") % {
            "methods": ", ".join(PayoutMethod.values)}, field="payout_method")
    validation.checked("payout_email", validate_email, payout_email)
    if not isinstance(date_of_birth, date):
        raise DomainError("date_of_birth: " + gettext("a date (YYYY-MM-DD) is required."), field="date_of_birth")
    validation.checked("date_of_birth", validation.validate_adult, date_of_birth)
    contractor.country, contractor.timezone = country, timezone_name
    contractor.languages = sorted(set(languages))
    contractor.hours_available_per_week = hours_available_per_week
    contractor.payout_method, contractor.payout_email = payout_method, payout_email.strip().lower()
    contractor.payout_email_normalized = normalize_payout_address(contractor.payout_email)
    contractor.date_of_birth = date_of_birth
    if old_email and (old_method, old_email) != (contractor.payout_method, contractor.payout_email):
        _payout_change_record(contractor=contractor, old_method=old_method, old_email=old_email,
                              current_password=current_password, ip_address=ip_address)
    if (contractor.payout_email_normalized, contractor.legal_name, contractor.date_of_birth) != old_identity:
        # A shared device was judged at sign-in (workforce.services.devices); a profile change weighs the person.
        evidence = [link for link in link_evidence(contractor) if link.shares_cap]
        if evidence:
            contractor.link_evidence = held_evidence([e.reason for e in evidence])
    contractor.save(update_fields=[*PROFILE_FIELDS, "payout_email_normalized", "payout_held_until",
                                   "link_evidence", "updated_at"])
    onboarding.advance(contractor)
    return contractor


def _payout_change_record(*, contractor: Contractor, old_method: str, old_email: str,
                          current_password: str | None, ip_address: str | None) -> PayoutChange:
    if not current_password or not contractor.user.check_password(current_password):
        raise NotAllowed("current_password: " + gettext(
            "enter your current password to change the payout method or address."), field="current_password")
    change = PayoutChange.objects.create(
        contractor=contractor, old_method=old_method, old_email=old_email, new_method=contractor.payout_method,
        new_email=contractor.payout_email, ip_address=ip_address)
    contractor.payout_held_until = timezone.now() + PAYOUT_HOLD
    transaction.on_commit(lambda: _email_payout_change(change_id=change.pk))
    return change


def _email_payout_change(*, change_id: int) -> None:
    change = PayoutChange.objects.select_related("contractor__user").get(pk=change_id)
    contractor = change.contractor
    email_contractor(
        contractor=contractor, template="workforce/email/payout_changed",
        # The method names stay lazy: they are rendered in the contractor's language.
        context={"old_method": PayoutMethod(change.old_method).label, "old": change.old_email,
                 "new_method": PayoutMethod(change.new_method).label, "new": change.new_email,
                 "held_until": contractor.payout_held_until},
        to=sorted({change.old_email, change.new_email, contractor.user.email}))


@transaction.atomic
def payout_release(*, contractor: Contractor, actor: User) -> Contractor:
    """Staff release a contractor's payout: the hold after a payout change and the review of a linked account.

    Linked accounts stay one person for the weekly cap and the pay run; releasing only lets this one be paid."""
    if not (staff_role_allows(actor, DECIDE_APPLICANTS) or staff_role_allows(actor, RUN_PAYROLL)):
        raise NotAllowed("Only staff who decide applicants or run payroll can release a payout.")
    locked = Contractor.objects.select_for_update().get(pk=contractor.pk)
    if locked.payout_held_until is None and not locked.link_evidence:
        raise Conflict("This contractor's payout is not held.")
    now = timezone.now()
    PayoutChange.objects.filter(contractor=locked, released_at__isnull=True).update(released_at=now,
                                                                                   released_by=actor)
    logger.info("contractor %s: payout released by %s (was held until %s; %s)", locked.pk, actor,
                locked.payout_held_until, locked.link_evidence or "no link")
    locked.payout_held_until, locked.link_evidence = None, ""
    locked.save(update_fields=["payout_held_until", "link_evidence", "updated_at"])
    contractor.payout_held_until, contractor.link_evidence = None, ""
    return contractor


@transaction.atomic
def contractor_ui_language_set(*, contractor: Contractor, language: str) -> Contractor:
    """The language of the contractor's pages and emails: one of settings.LANGUAGES."""
    if language not in dict(settings.LANGUAGES):
        raise DomainError("ui_language: " + gettext("%(language)s is not a language of LabelCrew's pages.") % {
            "language": repr(language)}, field="ui_language")
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
        raise DomainError("certified: " + gettext("you must certify that the information is true."), field="certified")
    if signature.casefold() != legal_name.casefold():
        raise DomainError("signature: " + gettext("type your full legal name exactly as above to sign."),
                          field="signature")
    if country_of_residence == "US" and not is_us_person:
        raise DomainError("is_us_person: " + gettext("residents of the United States are US persons for tax "
                                                     "purposes."), field="is_us_person")
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
        current_password=profile.get("current_password"), ip_address=ip_address,
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

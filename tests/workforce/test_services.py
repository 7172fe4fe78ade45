"""Workforce services: profile rules, tax declarations, agreements, staff decisions, privacy."""
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail

from common.errors import DomainError
from tests.factories import staff_user
from workforce.models import Agreement, AgreementKind, Contractor, OnboardingState, TaxDeclaration, User
from workforce.selectors.agreements import current_agreements, pending_agreements
from workforce.selectors.profile import profile_missing
from workforce.selectors.standing import can_receive_batches
from workforce.services.agreements import agreement_publish, agreements_accept
from workforce.services.decisions import contractor_decide, contractor_start_working, contractors_decide
from workforce.services.privacy import contractor_data_export, contractor_delete
from workforce.services.profile import profile_update, tax_declare
from workforce.services.registration import contractor_email_verified, contractor_register

S = OnboardingState
GOOD_PROFILE: dict[str, Any] = {
    "legal_name": "محمد الأحمد", "display_name": "Mo", "country": "EG", "timezone_name": "Africa/Cairo",
    "languages": ["ar", "en"], "hours_available_per_week": 12, "payout_method": "paypal",
    "payout_email": "Mo@Example.com", "date_of_birth": date(1999, 3, 4),
}


@pytest.fixture
def staff() -> User:
    return staff_user(role="superuser", email="lead@labelcrew.test")


def _verified(email: str = "mo@example.org") -> Contractor:
    user = User.objects.create_user(email, "a-long-test-password")
    contractor = contractor_register(user=user)
    contractor_email_verified(user=user)
    contractor.refresh_from_db()
    return contractor


def _declare(contractor: Contractor, name: str = "محمد الأحمد") -> TaxDeclaration:
    return tax_declare(contractor=contractor, is_us_person=False, legal_name=name,
                                country_of_residence="EG", signature=name, certified=True, ip_address="127.0.0.1")


def _qualifying(email: str = "mo@example.org") -> Contractor:
    contractor = _verified(email)
    profile_update(contractor=contractor, **GOOD_PROFILE)
    _declare(contractor)
    agreements_accept(contractor=contractor, agreement_ids=[a.pk for a in current_agreements()],
                               ip_address="127.0.0.1", user_agent="pytest")
    contractor.refresh_from_db()
    return contractor


@pytest.mark.django_db
def test_completing_profile_tax_and_agreements_walks_the_contractor_to_qualifying() -> None:
    contractor = _verified()
    assert contractor.state == S.EMAIL_VERIFIED
    profile_update(contractor=contractor, **GOOD_PROFILE)
    assert contractor.state == S.EMAIL_VERIFIED  # no tax declaration yet
    assert profile_missing(contractor) == ["tax_declaration"]
    _declare(contractor)
    assert contractor.state == S.PROFILE_COMPLETE
    agreements_accept(contractor=contractor, agreement_ids=[a.pk for a in current_agreements()],
                               ip_address="10.1.2.3", user_agent="Firefox")
    contractor.refresh_from_db()
    assert contractor.state == S.QUALIFYING
    assert contractor.payout_email == "mo@example.com"
    assert [t.to_state for t in contractor.transitions.all()] == [
        S.EMAIL_VERIFIED, S.PROFILE_COMPLETE, S.AGREEMENT_ACCEPTED, S.QUALIFYING]
    acceptance = contractor.acceptances.first()
    assert (acceptance.ip_address, acceptance.user_agent) == ("10.1.2.3", "Firefox")


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value", "message"), [
    ("country", "XX", "not an ISO 3166 country"),
    ("timezone_name", "Mars/Olympus", "is not a time zone"),
    ("hours_available_per_week", 0, "between 1 and 20"),
    ("hours_available_per_week", 25, "between 1 and 20"),
    ("date_of_birth", date.today() - timedelta(days=365 * 16), "at least 18"),
    ("payout_email", "not-an-email", "valid email"),
    ("legal_name", "x" * 10_000, "at most 200 characters"),
    ("legal_name", "Ana\x00Lopez", "control character"),
    ("display_name", "Ana\u202eLopez", "control character"),
    ("languages", ["xx"], "Unknown language"),
    ("payout_method", "bitcoin", "choose one of"),
])
def test_bad_profile_input_is_refused_naming_the_field_and_nothing_is_saved(field: str, value: Any,
                                                                           message: str) -> None:
    contractor = _verified()
    with pytest.raises(DomainError, match=message) as caught:
        profile_update(contractor=contractor, **{**GOOD_PROFILE, field: value})
    assert caught.value.field == ("timezone" if field == "timezone_name" else field)
    stored = Contractor.objects.get(pk=contractor.pk)
    assert (stored.legal_name, stored.country, stored.hours_available_per_week) == ("", "", None)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["José Ñúñez", "王小明", "محمد", "Иван Петров", "Nguyễn Thị Minh Khai"])
def test_names_in_any_script_are_accepted(name: str) -> None:
    contractor = _verified()
    profile_update(contractor=contractor, **{**GOOD_PROFILE, "legal_name": name})
    assert Contractor.objects.get(pk=contractor.pk).legal_name == name


@pytest.mark.django_db
def test_tax_declaration_must_be_certified_signed_with_the_legal_name_and_us_residents_use_w9() -> None:
    contractor = _verified()
    kwargs = {"contractor": contractor, "legal_name": "Ann Lee", "signature": "Ann Lee", "ip_address": None}
    with pytest.raises(DomainError, match="certify"):
        tax_declare(is_us_person=False, country_of_residence="KE", certified=False, **kwargs)
    with pytest.raises(DomainError, match="signature"):
        tax_declare(is_us_person=False, country_of_residence="KE", certified=True,
                             **{**kwargs, "signature": "A. Lee"})
    with pytest.raises(DomainError, match="US persons"):
        tax_declare(is_us_person=False, country_of_residence="US", certified=True, **kwargs)
    assert not TaxDeclaration.objects.exists()
    assert tax_declare(is_us_person=True, country_of_residence="US", certified=True, **kwargs).form == "w9"
    assert tax_declare(is_us_person=False, country_of_residence="KE", certified=True,
                                **kwargs).form == "w8ben"


@pytest.mark.django_db(transaction=True)
def test_a_new_agreement_version_requires_reacceptance_before_batches(staff: User) -> None:
    contractor = _qualifying()
    contractor_decide(contractor=contractor, action="approve", actor=staff, reason="ok")
    contractor_start_working(contractor=contractor)
    assert can_receive_batches(contractor)
    mail.outbox.clear()
    v2 = agreement_publish(kind=AgreementKind.GUIDELINES, title="Guidelines", body="Zoom to 200%.",
                                    actor=staff)
    assert v2.version == 2
    assert not can_receive_batches(contractor)
    assert [a.pk for a in pending_agreements(contractor)] == [v2.pk]
    assert [m.to for m in mail.outbox] == [["mo@example.org"]]
    with pytest.raises(DomainError, match="not current versions"):
        agreements_accept(contractor=contractor, agreement_ids=[v2.pk - 100], ip_address=None, user_agent="")
    agreements_accept(contractor=contractor, agreement_ids=[v2.pk], ip_address=None, user_agent="")
    assert can_receive_batches(contractor)
    assert Agreement.objects.filter(kind=AgreementKind.GUIDELINES).count() == 2


@pytest.mark.django_db
def test_staff_decisions_record_actor_reason_and_score(staff: User) -> None:
    contractor = _qualifying()
    contractor_decide(contractor=contractor, action="approve", actor=staff, reason="clean masks",
                               qualification_score=Decimal("0.91"))
    contractor_start_working(contractor=contractor)
    contractor_decide(contractor=contractor, action="pause", actor=staff, reason="quality dropped")
    contractor_decide(contractor=contractor, action="resume", actor=staff)
    contractor.refresh_from_db()
    assert contractor.state == S.ACTIVE
    assert contractor.qualification_score == Decimal("0.91")
    last = list(contractor.transitions.order_by("-id")[:2])
    assert [(t.to_state, t.actor, t.reason) for t in last] == [(S.ACTIVE, staff, ""),
                                                                (S.PAUSED, staff, "quality dropped")]


@pytest.mark.django_db
def test_contractors_cannot_decide_and_resume_needs_a_pause(staff: User) -> None:
    contractor = _qualifying()
    with pytest.raises(DomainError, match="Only operations or admin staff"):
        contractor_decide(contractor=contractor, action="approve", actor=contractor.user)
    with pytest.raises(DomainError, match="Only operations or admin staff"):
        contractor_decide(contractor=contractor, action="approve", actor=staff_user(role="payroll"))
    with pytest.raises(DomainError, match="cannot become active"):
        contractor_decide(contractor=contractor, action="resume", actor=staff)


@pytest.mark.django_db
def test_bulk_decision_is_all_or_nothing(staff: User) -> None:
    a, b = _qualifying("a@example.org"), _verified("b@example.org")
    with pytest.raises(DomainError, match="Nothing was changed"):
        contractors_decide(contractor_ids=[a.pk, b.pk], action="approve", actor=staff, reason="batch")
    a.refresh_from_db()
    assert a.state == S.QUALIFYING
    assert contractors_decide(contractor_ids=[a.pk, b.pk], action="reject", actor=staff,
                                       reason="closing the round") == 2
    assert set(Contractor.objects.values_list("state", flat=True)) == {S.REJECTED}


@pytest.mark.django_db
def test_export_holds_the_contractors_data_and_deletion_anonymizes_but_keeps_tax_records() -> None:
    contractor = _qualifying()
    data = contractor_data_export(contractor=contractor)
    assert data["account"]["email"] == "mo@example.org"
    assert data["profile"]["legal_name"] == "محمد الأحمد"
    assert len(data["agreement_acceptances"]) == 2
    assert len(data["tax_declarations"]) == 1
    contractor_delete(contractor=contractor)
    contractor.refresh_from_db()
    contractor.user.refresh_from_db()
    assert contractor.state == S.OFFBOARDED
    assert contractor.user.email.endswith("@deleted.invalid")
    assert not contractor.user.is_active
    assert not contractor.user.has_usable_password()
    assert (contractor.legal_name, contractor.payout_email, contractor.date_of_birth) == ("", "", None)
    assert contractor.anonymized_at is not None
    assert TaxDeclaration.objects.filter(contractor=contractor).count() == 1
    assert contractor.acceptances.filter(ip_address__isnull=False).count() == 0
    assert not User.objects.filter(email="mo@example.org").exists()


@pytest.mark.django_db
def test_nobody_passes_the_agreement_step_before_an_agreement_is_published() -> None:
    Agreement.objects.all().delete()
    contractor = _verified()
    profile_update(contractor=contractor, **GOOD_PROFILE)
    _declare(contractor)
    contractor.refresh_from_db()
    assert contractor.state == S.PROFILE_COMPLETE

"""Demo people: the one demo email scheme, and contractors onboarded as a real applicant is."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction

from common.errors import DomainError
from common.roles import DECIDE_APPLICANTS, staff_role_allows
from workforce.models import Contractor, OnboardingState, User
from workforce.selectors.agreements import pending_agreements
from workforce.services.accounts import user_ensure
from workforce.services.agreements import agreements_accept
from workforce.services.decisions import contractor_decide, contractor_start_working
from workforce.services.profile import profile_update, tax_declare
from workforce.services.registration import contractor_email_verified, contractor_register
from workforce.services.staff import staff_role_grant

S = OnboardingState
DEMO_IP = "203.0.113.7"  # documentation range (RFC 5737)


def demo_email(n: int) -> str:
    """The n-th demo contractor's address (from 1): load_demo_job's crew and load_demo_workforce's are one crew."""
    return f"demo-contractor-{n}@labelcrew.local"


def demo_user(email: str) -> tuple[User, bool]:
    """The user with this email, made with an unusable password when missing; True when made now."""
    return user_ensure(email=email)


def demo_staff(email: str) -> User:
    """The staff member who approves demo contractors and hands out their batches (in the operations role at least)."""
    # The demo makes it with ensure_staff_user (with a password); one made here can only be given one later.
    user, _ = user_ensure(email=email, staff=True)
    if not user.is_staff:
        raise DomainError(f"staff_email: {email} is not a staff user.", field="staff_email")
    if not staff_role_allows(user, DECIDE_APPLICANTS):  # the demo's own admin (a superuser) has it already
        staff_role_grant(user=user, role="operations")
    return user


@dataclass(frozen=True)
class DemoPerson:
    legal_name: str
    display_name: str
    country: str
    timezone: str
    languages: tuple[str, ...]
    hours_available: int
    born: date
    payout_method: str = "paypal"


@transaction.atomic  # one commit: what reacts to the states passed through sees an active contractor
def demo_contractor_activate(*, user: User, person: DemoPerson, qualification_score: Decimal, staff: User,
                             source: str) -> Contractor:
    """Take the user's contractor, from wherever an earlier run left them, to ACTIVE: verified email, profile,
    tax declaration, agreements, staff approval, start working. `source` names the command in the audit."""
    contractor = contractor_register(user=user)
    if contractor.state == S.ACTIVE:
        return contractor
    contractor_email_verified(user=user)
    contractor.refresh_from_db()
    if contractor.state == S.EMAIL_VERIFIED:
        local = user.email.split("@")[0]
        profile_update(
            contractor=contractor, legal_name=person.legal_name, display_name=person.display_name,
            country=person.country, timezone_name=person.timezone, languages=list(person.languages),
            hours_available_per_week=person.hours_available, payout_method=person.payout_method,
            payout_email=f"{local}.{person.payout_method}@labelcrew.local", date_of_birth=person.born,
        )
        if not contractor.tax_declarations.exists():
            tax_declare(contractor=contractor, is_us_person=False, legal_name=person.legal_name,
                                 country_of_residence=person.country, signature=person.legal_name,
                                 certified=True, ip_address=DEMO_IP)
        contractor.refresh_from_db()
    if contractor.state == S.PROFILE_COMPLETE:
        pending = [agreement.pk for agreement in pending_agreements(contractor)]
        if not pending:
            raise DomainError("No agreements are published: run python manage.py migrate first.")
        agreements_accept(contractor=contractor, agreement_ids=pending, ip_address=DEMO_IP,
                                   user_agent=source)
        contractor.refresh_from_db()
    if contractor.state == S.QUALIFYING:
        contractor_decide(contractor=contractor, action="approve", actor=staff, reason="demo contractor",
                                   qualification_score=qualification_score)
        contractor.refresh_from_db()
    if contractor.state == S.APPROVED:
        contractor_start_working(contractor=contractor)
        contractor.refresh_from_db()
    if contractor.state != S.ACTIVE:
        raise DomainError(f"{user.email} is {contractor.get_state_display().lower()}, not active; "
                          "delete the demo contractor or resume them in the admin.")
    return contractor

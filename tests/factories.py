"""Test factories (factory-boy) and contractor_in_state, which onboards a contractor through the real services."""
import functools
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import factory
import time_machine
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.contrib.auth.hashers import make_password
from django.db.models import Max
from django.test import Client
from django.utils import timezone
from factory.django import DjangoModelFactory, Password

from annotations.models import Batch, BatchState, Job
from annotations.services.assignment import batch_assign
from annotations.services.jobs import job_create
from workforce.models import Agreement, AgreementKind, Contractor, OnboardingState, User
from workforce.selectors.agreements import pending_agreements
from workforce.services.agreements import agreements_accept
from workforce.services.decisions import contractor_decide, contractor_start_working
from workforce.services.profile import profile_update, tax_declare
from workforce.services.registration import contractor_email_verified, contractor_register
from workforce.services.staff import staff_role_grant

TEST_PASSWORD = "a-long-test-password"
S = OnboardingState

# Hashing with the production hasher takes a good part of a second; every user made with
# the same password shares one hash, so a test suite pays for it once.
_hash_once = functools.cache(make_password)


class UserFactory(DjangoModelFactory):
    """A contractor's login; staff_user() makes a staff member's (in a role, with a second factor)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    password = Password(TEST_PASSWORD, transform=_hash_once)


class ContractorFactory(DjangoModelFactory):
    """A bare applicant row; use contractor_in_state for anyone further along."""

    class Meta:
        model = Contractor

    user = factory.SubFactory(UserFactory)


def _next_version(agreement: Any) -> int:
    return (Agreement.objects.filter(kind=agreement.kind).aggregate(v=Max("version"))["v"] or 0) + 1


class AgreementFactory(DjangoModelFactory):
    """A published agreement, one version newer than the newest of its kind."""

    class Meta:
        model = Agreement

    kind = AgreementKind.CONTRACTOR_AGREEMENT
    version = factory.LazyAttribute(_next_version)
    title = factory.LazyAttribute(lambda a: f"{a.kind.replace('_', ' ').capitalize()} v{a.version}")
    body = "1. You work as an independent contractor."
    published_at = factory.LazyFunction(timezone.now)


def profile_data(**overrides: Any) -> dict[str, Any]:
    """Keyword arguments for profile_update that pass every check."""
    return {
        "legal_name": "Ana Lúcia Souza", "display_name": "Ana", "country": "BR",
        "timezone_name": "America/Sao_Paulo", "languages": ["en", "pt"], "hours_available_per_week": 10,
        "payout_method": "paypal", "payout_email": "ana.payouts@example.com", "date_of_birth": date(1990, 5, 17),
        **overrides,
    }


# The order the real services take a contractor through; AGREEMENT_ACCEPTED is left out because
# accepting the last agreement moves the contractor on to QUALIFYING in the same transaction.
_REACHABLE = (S.APPLIED, S.EMAIL_VERIFIED, S.PROFILE_COMPLETE, S.QUALIFYING, S.APPROVED, S.ACTIVE, S.PAUSED,
              S.REJECTED, S.OFFBOARDED)


def totp_code(secret: str) -> str:
    """The code an authenticator app shows now for `secret`, by allauth's own TOTP arithmetic."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))


def authenticator_activate(user: User) -> str:
    """Give `user` an activated authenticator app (and recovery codes) through allauth's API; returns the secret
    (also kept on the object as `totp_secret`) for totp_code."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    user.totp_secret = secret  # type: ignore[attr-defined]
    return secret


def staff_user(*, role: str = "admin", mfa: bool = True, **fields: Any) -> User:
    """A staff login in `role` (operations, reviewer, payroll, admin, or "superuser" for Django's own flag), with
    an activated authenticator unless `mfa=False`: payroll and admin pages send staff without one to set it up."""
    if role == "superuser":
        user = UserFactory(is_staff=True, is_superuser=True, **fields)
    else:
        user = UserFactory(is_staff=True, **fields)
        staff_role_grant(user=user, role=role)
    if mfa:
        authenticator_activate(user)
    return user


def contractor_in_state(state: str, *, user: User | None = None, staff: User | None = None,
                        **profile: Any) -> Contractor:
    """A contractor brought to `state` by the services a real one goes through, so every step is audited.

    `profile` overrides profile_data(); `staff` is the actor of the staff decisions (one is made if needed).
    """
    if state not in _REACHABLE:
        raise ValueError(f"{state!r} is not a state the services leave a contractor in.")
    contractor = contractor_register(user=user or UserFactory())
    if state == S.APPLIED:
        return contractor
    contractor_email_verified(user=contractor.user)
    # The service moves its own copy of the row; profile_update saves every field, state included.
    contractor.refresh_from_db()
    if state == S.EMAIL_VERIFIED:
        return contractor
    # Without a pending agreement, completing the profile would run on into QUALIFYING.
    for kind in AgreementKind.values:
        if not Agreement.objects.filter(kind=kind, published_at__isnull=False).exists():
            AgreementFactory(kind=kind)
    # Each contractor is a different person: their own payout address and date of birth (one person, one cap
    # links accounts that share either the address or the legal name and date of birth).
    person = {"payout_email": f"ana.payouts.{contractor.pk}@example.com",
              "date_of_birth": date(1990, 5, 17) - timedelta(days=contractor.pk % 5000)}
    data = profile_data(**{**person, **profile})
    profile_update(contractor=contractor, **data)
    tax_declare(contractor=contractor, is_us_person=False, legal_name=data["legal_name"],
                         country_of_residence=data["country"], signature=data["legal_name"], certified=True,
                         ip_address="203.0.113.7")
    if state == S.PROFILE_COMPLETE:
        return contractor
    pending = [agreement.pk for agreement in pending_agreements(contractor)]
    agreements_accept(contractor=contractor, agreement_ids=pending, ip_address="203.0.113.7",
                               user_agent="pytest")
    if state == S.QUALIFYING:
        return contractor
    staff = staff or staff_user(role="operations", mfa=False)
    if state in (S.REJECTED, S.OFFBOARDED):
        action = "reject" if state == S.REJECTED else "offboard"
        contractor_decide(contractor=contractor, action=action, actor=staff, reason="test decision")
        return contractor
    contractor_decide(contractor=contractor, action="approve", actor=staff,
                               qualification_score=Decimal("0.9"))
    if state == S.APPROVED:
        return contractor
    contractor_start_working(contractor=contractor)
    if state == S.PAUSED:
        contractor_decide(contractor=contractor, action="pause", actor=staff, reason="quality review")
    return contractor


def job_plain(**fields: Any) -> Job:
    """A job with no photos, for tests of pay and time that need a job and its pay terms only; made by job_create,
    so payroll writes its opening terms (`fields` are job_create's, hourly_rate and weekly_cap_hours included)."""
    defaults = {"name": f"Job {Job.objects.count() + 1}", "client": "Refurb Co", "instructions": "Paint defects.",
                "specs": [], "image_source": "tests", "actor": None}
    job, _ = job_create(**{**defaults, **fields})
    return job


def batch_held_by(contractor: Contractor, *, job: Job | None = None) -> Batch:
    """A batch of `job` (a new plain job by default) assigned to the contractor, as assignment leaves it, without
    its history: for tests that log no time on it (time is logged only while the history says it was held)."""
    job = job or job_plain()
    number = job.batches.count() + 1
    return Batch.objects.create(job=job, number=number, state=BatchState.ASSIGNED, assigned_to=contractor,
                                assigned_at=timezone.now())


# Before every moment the tests log time at (2026-W45 and later).
HELD_SINCE = datetime(2026, 11, 1, tzinfo=UTC)


def batch_assigned(contractor: Contractor, *, job: Job | None = None, since: datetime = HELD_SINCE) -> Batch:
    """A published batch of `job` (a new plain job by default) given to the active contractor by batch_assign at
    `since`. The service stamps the batch's history with the clock, so the clock is moved to `since` while it
    runs: time may then be logged on the batch from `since` on, as in production."""
    job = job or job_plain()
    number = job.batches.count() + 1
    batch = Batch.objects.create(job=job, number=number, published_at=since)
    with time_machine.travel(since, tick=False):
        return batch_assign(batch=batch, contractor=contractor, actor=None)


def contractor_signed_in(email: str) -> tuple[Client, Contractor]:
    """A test client signed in as a new applicant with this address, email verified, and their contractor."""
    user = User.objects.create_user(email, "a-long-test-password")
    contractor = contractor_register(user=user)
    contractor_email_verified(user=user)
    client = Client()
    client.force_login(user)
    return client, contractor

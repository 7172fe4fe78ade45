"""Reads about contractors: what they must still do, what staff filter on, what they may receive."""
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.urls import reverse

from workforce.models import Agreement, AgreementAcceptance, Contractor, OnboardingState, TaxDeclaration

S = OnboardingState
PROFILE_FIELDS = (
    "legal_name", "display_name", "country", "timezone", "languages", "hours_available_per_week",
    "payout_method", "payout_email", "date_of_birth",
)


def current_agreements() -> list[Agreement]:
    """The newest published version of each kind of agreement."""
    latest: dict[str, Agreement] = {}
    for agreement in Agreement.objects.filter(published_at__isnull=False).order_by("kind", "-version"):
        latest.setdefault(agreement.kind, agreement)
    return list(latest.values())


def pending_agreements(contractor: Contractor) -> list[Agreement]:
    accepted = set(AgreementAcceptance.objects.filter(contractor=contractor).values_list("agreement_id", flat=True))
    return [a for a in current_agreements() if a.pk not in accepted]


def profile_missing(contractor: Contractor) -> list[str]:
    """Profile fields still empty, plus 'tax_declaration' when none was made."""
    missing = [name for name in PROFILE_FIELDS if getattr(contractor, name) in (None, "", [])]
    if not contractor.tax_declarations.exists():
        missing.append("tax_declaration")
    return missing


def can_receive_batches(contractor: Contractor) -> bool:
    """Assignment asks this: active, and every current agreement version accepted."""
    return contractor.state == S.ACTIVE and not pending_agreements(contractor)


@dataclass(frozen=True)
class NextStep:
    text: str
    url: str | None = None
    action: str | None = None  # a button label, when the step is one click


def next_step(contractor: Contractor) -> NextStep:
    state = contractor.state
    if state == S.APPLIED:
        return NextStep("Confirm your email address: open the link we sent you.")
    if state == S.EMAIL_VERIFIED:
        return NextStep("Complete your profile, payout method and tax declaration.", reverse("workforce:profile"))
    if state == S.PROFILE_COMPLETE or pending_agreements(contractor):
        return NextStep("Read and accept the contractor agreement and the guidelines.", reverse("workforce:agreements"))
    if state == S.QUALIFYING:
        return NextStep("Qualification: label the photos of your qualification round in Label Studio; each is "
                        "scored against a reference answer and staff then decide. The round and its Label Studio "
                        "link appear below as soon as it is ready.")
    if state == S.APPROVED:
        return NextStep("You are approved. Start working to receive batches.", reverse("workforce:start-working"),
                        action="Start working")
    if state == S.ACTIVE:
        return NextStep("You are active. New batches appear below when they are assigned to you.")
    if state == S.PAUSED:
        return NextStep(f"Your work is paused: {contractor.state_reason}. Staff will resume it.")
    if state == S.REJECTED:
        return NextStep(f"Your application was not accepted: {contractor.state_reason}")
    return NextStep("Your account is closed.")


def applicant_list(
    *, state: str | None = None, country: str | None = None, min_hours: int | None = None,
    max_hours: int | None = None, min_score: float | None = None, search: str | None = None,
) -> QuerySet[Contractor]:
    qs = Contractor.objects.select_related("user").filter(anonymized_at__isnull=True)
    if state:
        qs = qs.filter(state=state)
    if country:
        qs = qs.filter(country=country)
    if min_hours is not None:
        qs = qs.filter(hours_available_per_week__gte=min_hours)
    if max_hours is not None:
        qs = qs.filter(hours_available_per_week__lte=max_hours)
    if min_score is not None:
        qs = qs.filter(qualification_score__gte=min_score)
    if search:
        qs = qs.filter(Q(user__email__icontains=search) | Q(legal_name__icontains=search)
                       | Q(display_name__icontains=search))
    declared = Exists(TaxDeclaration.objects.filter(contractor=OuterRef("pk")))
    return qs.annotate(has_tax_declaration=declared).order_by("-state_changed_at", "-id")


def counts_by_state() -> dict[str, int]:
    rows = Contractor.objects.filter(anonymized_at__isnull=True).values("state").annotate(n=Count("id"))
    counts = dict.fromkeys(S.values, 0)
    counts.update({row["state"]: row["n"] for row in rows})
    return counts


def counts_by_country() -> list[tuple[str, int]]:
    rows = (Contractor.objects.filter(anonymized_at__isnull=True).exclude(country="")
            .values("country").annotate(n=Count("id")).order_by("-n", "country"))
    return [(row["country"], row["n"]) for row in rows]

"""Reads for the staff applicant pages: the filtered list, the counts by state and country, one applicant's history."""
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from workforce.models import Contractor, OnboardingState, OnboardingTransition, TaxDeclaration

# The applicants list's orders: the filter form's choice -> ORDER BY (unknown choices fall back to the first).
APPLICANT_ORDERS = {
    "": ("-state_changed_at", "-id"), "oldest": ("state_changed_at", "id"),
    "score": (F("qualification_score").desc(nulls_last=True), "-id"),
    "hours": ("-hours_available_per_week", "-id"), "name": ("display_name", "legal_name", "id"),
}


def applicant_list(
    *, state: str | None = None, country: str | None = None, min_hours: int | None = None,
    max_hours: int | None = None, min_score: float | None = None, search: str | None = None, sort: str = "",
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
    return qs.annotate(has_tax_declaration=declared).order_by(*APPLICANT_ORDERS.get(sort, APPLICANT_ORDERS[""]))


def counts_by_state() -> dict[str, int]:
    rows = Contractor.objects.filter(anonymized_at__isnull=True).values("state").annotate(n=Count("id"))
    counts = dict.fromkeys(OnboardingState.values, 0)
    counts.update({row["state"]: row["n"] for row in rows})
    return counts


def counts_by_country() -> list[tuple[str, int]]:
    rows = (Contractor.objects.filter(anonymized_at__isnull=True).exclude(country="")
            .values("country").annotate(n=Count("id")).order_by("-n", "country"))
    return [(row["country"], row["n"]) for row in rows]


def contractor_transitions(contractor: Contractor) -> QuerySet[OnboardingTransition]:
    """The contractor's state changes, newest first, with who made each."""
    return contractor.transitions.select_related("actor").order_by("-created_at")

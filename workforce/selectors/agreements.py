"""Reads about agreements: the current version of each kind and what a contractor has still to accept."""
from workforce.models import Agreement, AgreementAcceptance, Contractor


def current_agreements() -> list[Agreement]:
    """The newest published version of each kind of agreement."""
    latest: dict[str, Agreement] = {}
    for agreement in Agreement.objects.filter(published_at__isnull=False).order_by("kind", "-version"):
        latest.setdefault(agreement.kind, agreement)
    return list(latest.values())


def pending_agreements(contractor: Contractor) -> list[Agreement]:
    accepted = set(AgreementAcceptance.objects.filter(contractor=contractor).values_list("agreement_id", flat=True))
    return [a for a in current_agreements() if a.pk not in accepted]

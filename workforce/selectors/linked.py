"""Accounts that look like one person: the same payout mailbox, or the same legal name and date of birth.

The weekly cap and the pay run treat such accounts as one person; the links are read from the data each time
(no stored pairs to keep in step), followed transitively so every account of a group sees the same group.
"""
from dataclasses import dataclass

from django.db.models import Q

from workforce.models import Contractor, OnboardingState

S = OnboardingState
CLOSED = (S.REJECTED, S.OFFBOARDED)
# A group larger than this is already a case for staff; the cap check must not walk an unbounded graph.
GROUP_LIMIT = 50


def _same_person(contractor: Contractor) -> Q:
    query = Q(pk__in=[])
    if contractor.payout_email_normalized:
        query |= Q(payout_email_normalized=contractor.payout_email_normalized)
    if contractor.legal_name.strip() and contractor.date_of_birth:
        query |= Q(legal_name__iexact=contractor.legal_name.strip(), date_of_birth=contractor.date_of_birth)
    return query


def linked_contractor_ids(contractor: Contractor) -> list[int]:
    """The contractor's id and those of every account linked to it (anonymised accounts excluded), ascending."""
    group = {contractor.pk}
    frontier = [contractor]
    while frontier and len(group) < GROUP_LIMIT:
        query = Q(pk__in=[])
        for member in frontier:
            query |= _same_person(member)
        found = list(Contractor.objects.filter(query, anonymized_at__isnull=True).exclude(pk__in=group)
                     .only("pk", "payout_email_normalized", "legal_name", "date_of_birth")[:GROUP_LIMIT])
        group.update(c.pk for c in found)
        frontier = found
    return sorted(group)


@dataclass(frozen=True)
class LinkEvidence:
    other: Contractor
    reason: str


def link_evidence(contractor: Contractor) -> list[LinkEvidence]:
    """Other open accounts that share this one's payout mailbox or its legal name and date of birth, and why."""
    others = (Contractor.objects.filter(_same_person(contractor), anonymized_at__isnull=True)
              .exclude(pk=contractor.pk).exclude(state__in=CLOSED).select_related("user").order_by("pk"))
    evidence = []
    for other in others:
        reasons = []
        if contractor.payout_email_normalized and other.payout_email_normalized == contractor.payout_email_normalized:
            reasons.append(f"the same payout address ({contractor.payout_email_normalized})")
        if (contractor.date_of_birth and other.date_of_birth == contractor.date_of_birth
                and other.legal_name.strip().casefold() == contractor.legal_name.strip().casefold()):
            reasons.append(f"the same legal name and date of birth ({other.legal_name}, {other.date_of_birth})")
        evidence.append(LinkEvidence(other, f"contractor #{other.pk} ({other.user.email}): " + " and ".join(reasons)))
    return evidence

"""Accounts that look like one person: the same payout mailbox, or the same legal name and date of birth; and
accounts signed in from the same device (workforce.services.devices).

The weekly cap and the pay run treat accounts sharing a payout mailbox or a legal name and date of birth as one
person; the links are read from the data each time (no stored pairs to keep in step), followed transitively so
every account of a group sees the same group. A shared device holds the later account for staff review but does
not join the caps: a family computer or a cybercafe's is one device for several people, and staff, not the data,
decide whether it is one person (a device says less about a person than a payout address or a birth date).
"""
from dataclasses import dataclass

from django.db.models import Q

from workforce.models import Contractor, DeviceSignIn, OnboardingState

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
    shares_cap: bool = True  # False: linked by a shared device only, held for review but on a cap of its own


@dataclass(frozen=True)
class DeviceLink:
    other: Contractor
    fingerprint: str
    reason: str


def device_links(contractor: Contractor) -> list[DeviceLink]:
    """Other open accounts that signed in from a device this one signed in from, with when and which browser."""
    mine = {row.fingerprint: row for row in DeviceSignIn.objects.filter(contractor=contractor)}
    if not mine:
        return []
    theirs = (DeviceSignIn.objects.filter(fingerprint__in=mine, contractor__anonymized_at__isnull=True)
              .exclude(contractor=contractor).exclude(contractor__state__in=CLOSED)
              .select_related("contractor__user").order_by("contractor_id", "first_seen_at"))
    return [DeviceLink(row.contractor, row.fingerprint,
                       f"contractor #{row.contractor_id} ({row.contractor.user.email}) signed in from the same device "
                       f"(device {row.fingerprint[:12]}, first {row.first_seen_at:%Y-%m-%d %H:%M} UTC, "
                       f"{row.sign_ins} sign-in{'' if row.sign_ins == 1 else 's'}; this account first "
                       f"{mine[row.fingerprint].first_seen_at:%Y-%m-%d %H:%M} UTC; browser "
                       f"{row.user_agent[:80] or 'not sent'})")
            for row in theirs]


def link_evidence(contractor: Contractor) -> list[LinkEvidence]:
    """Other open accounts that share this one's payout mailbox or its legal name and date of birth, and why; then
    those that signed in from one of its devices (shares_cap False)."""
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
    evidence.extend(LinkEvidence(link.other, link.reason, shares_cap=False) for link in device_links(contractor))
    return evidence


def held_evidence(reasons: list[str], *, before: str = "") -> str:
    """What a held account's page shows staff: the reasons after what it showed `before` (or after the opening
    words when nothing), cut to the field's length."""
    joined = "; ".join(reasons)
    text = f"{before}; {joined}" if before else f"Possibly a second account of one person: {joined}"
    return text[:Contractor._meta.get_field("link_evidence").max_length]

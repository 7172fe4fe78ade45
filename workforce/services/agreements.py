"""Agreements: staff publish new versions, contractors accept them."""
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext

from common.errors import DomainError, NotAllowed
from workforce import onboarding, validation
from workforce.models import (
    Agreement,
    AgreementAcceptance,
    Contractor,
    OnboardingState,
    User,
)
from workforce.selectors.agreements import pending_agreements

S = OnboardingState


@transaction.atomic
def agreement_publish(*, kind: str, title: str, body: str, actor: User) -> Agreement:
    """Publish a new version; everyone already past the agreement step must accept it again."""
    title = validation.checked_text("title", title, max_length=200)
    if not isinstance(body, str) or not body.strip():
        raise DomainError("body: the agreement text is required.", field="body")
    last = Agreement.objects.select_for_update().filter(kind=kind).aggregate(v=Max("version"))["v"] or 0
    agreement = Agreement.objects.create(
        kind=kind, version=last + 1, title=title, body=body.strip(), published_at=timezone.now(), created_by=actor,
    )
    if last:
        transaction.on_commit(lambda: _email_reacceptance(agreement_id=agreement.pk))
    return agreement


def _email_reacceptance(*, agreement_id: int) -> None:
    agreement = Agreement.objects.get(pk=agreement_id)
    states = (S.QUALIFYING, S.APPROVED, S.ACTIVE, S.PAUSED)
    emails = Contractor.objects.filter(state__in=states, anonymized_at__isnull=True).values_list("user__email",
                                                                                                  flat=True)
    subject = f"LabelCrew: please accept the new {agreement.get_kind_display().lower()} (v{agreement.version})"
    body = (f"A new version of the {agreement.get_kind_display().lower()} was published. Until you accept it, "
            f"no new batches can be assigned to you.\n\n{settings.SITE_URL}/agreements/\n\n-- LabelCrew\n")
    send_mass_mail(((subject, body, None, [email]) for email in emails), fail_silently=False)


@transaction.atomic
def agreements_accept(
    *, contractor: Contractor, agreement_ids: Iterable[int], ip_address: str | None, user_agent: str
) -> list[AgreementAcceptance]:
    pending = {a.pk: a for a in pending_agreements(contractor)}
    ids = set(agreement_ids)
    if not ids:
        raise DomainError("agreements: " + gettext("choose the agreements you accept."), field="agreements")
    unknown = ids - set(pending)
    if unknown:
        raise DomainError("agreements: " + gettext("%(ids)s are not current versions awaiting your acceptance.") % {
            "ids": sorted(unknown)}, field="agreements")
    if contractor.state in (S.OFFBOARDED, S.REJECTED):
        raise NotAllowed(gettext("This account is closed."))
    accepted = [
        AgreementAcceptance.objects.create(contractor=contractor, agreement=pending[pk], ip_address=ip_address,
                                           user_agent=user_agent[:500])
        for pk in sorted(ids)
    ]
    onboarding.advance(contractor)
    return accepted

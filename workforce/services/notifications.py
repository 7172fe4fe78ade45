"""The one writer of notifications: kept for the contractor's dashboard and emailed after commit, in the
contractor's language, unless they turned that kind off (pay and account ones always go out)."""
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from common.errors import DomainError, NotAllowed
from workforce.emails import email_contractor
from workforce.models import (
    NOTIFICATION_KINDS_ALWAYS_EMAILED,
    Contractor,
    Notification,
    NotificationKind,
    OnboardingState,
    User,
)
from workforce.selectors.notifications import notification_context

K = NotificationKind
ANNOUNCEMENT_MAX_LENGTH = 2000
# The email each kind sends: the older, longer emails keep their own templates; the rest share one.
EMAIL_TEMPLATES = {
    K.REWORK: "annotations/email/rework",
    K.CAP: "payroll/email/cap",
    K.QUALIFICATION: "workforce/email/state",
    K.ACCOUNT: "workforce/email/state",
}
OPTIONAL_KINDS = [kind for kind in K if kind not in NOTIFICATION_KINDS_ALWAYS_EMAILED]


def _check(kind: str, params: dict[str, Any]) -> None:
    if kind not in K.values:
        raise DomainError(f"{kind!r} is not a kind of notification.", field="kind")
    for key, value in params.items():
        if value is not None and not isinstance(value, str | int | float | bool):
            raise DomainError(f"{key}: a notification keeps text and numbers only.", field=key)


def notify(*, contractor: Contractor, kind: str, **params: Any) -> Notification:
    """Tell the contractor: a row for the dashboard now, the email once the caller's transaction commits."""
    return notify_each(contractors=[contractor], kind=kind, params=params)[0]


@transaction.atomic
def notify_each(*, contractors: Iterable[Contractor], kind: str, params: dict[str, Any] | None = None,
                params_by_contractor: dict[int, dict[str, Any]] | None = None) -> list[Notification]:
    """The same kind of notification to many contractors in one insert (each with its own params, if given)."""
    params, per = params or {}, params_by_contractor or {}
    rows = [Notification(contractor=c, kind=kind, params={**params, **per.get(c.pk, {})})
            for c in contractors if not c.anonymized_at]
    for row in rows:
        _check(kind, row.params)
    made = Notification.objects.bulk_create(rows)
    ids = [row.pk for row in made]
    if ids:
        transaction.on_commit(lambda: notifications_email(notification_ids=ids))
    return made


def notifications_email(*, notification_ids: list[int]) -> int:
    """Email these notifications (after the commit that made them); returns how many were sent."""
    sent = 0
    for row in Notification.objects.filter(pk__in=notification_ids).select_related("contractor__user").order_by("pk"):
        contractor = row.contractor
        if contractor.anonymized_at or (row.kind not in NOTIFICATION_KINDS_ALWAYS_EMAILED
                                        and row.kind in contractor.emails_off):
            continue
        template = EMAIL_TEMPLATES.get(row.kind, "workforce/email/notice")
        context = {**notification_context(row), "notice": row, "optional": row.kind in OPTIONAL_KINDS}
        if row.kind == K.QUALIFICATION:
            context["state"] = OnboardingState.QUALIFYING
        if row.kind == K.REWORK:
            context["quoted"] = "\n".join(f"> {line}" for line in str(row.params.get("comment", "")).splitlines())
        email_contractor(contractor=contractor, template=template, context=context)
        sent += 1
    return sent


@transaction.atomic
def notification_mark_read(*, contractor: Contractor, notification: Notification | None = None) -> int:
    """Mark one of the contractor's notifications read, or all of them with None; returns how many changed."""
    rows = Notification.objects.filter(contractor=contractor, read_at__isnull=True)
    if notification is not None:
        if notification.contractor_id != contractor.pk:
            raise NotAllowed(gettext("Not your notification."))
        rows = rows.filter(pk=notification.pk)
    return rows.update(read_at=timezone.now())


@transaction.atomic
def notification_emails_set(*, contractor: Contractor, emails_on: Iterable[str]) -> Contractor:
    """Keep the kinds of email the contractor wants; the rest of the optional kinds are shown on the dashboard only."""
    wanted = set(emails_on)
    unknown = wanted - set(OPTIONAL_KINDS)
    if unknown:
        raise DomainError(f"emails: {', '.join(sorted(unknown))} cannot be chosen.", field="emails")
    contractor = Contractor.objects.select_for_update().get(pk=contractor.pk)
    contractor.emails_off = sorted(str(kind) for kind in OPTIONAL_KINDS if kind not in wanted)
    contractor.save(update_fields=["emails_off", "updated_at"])
    return contractor


def announcement_audience(*, countries: Iterable[str] = (), states: Iterable[str] = ()) -> QuerySet:
    """The contractors an announcement reaches: active ones by default, else those in the chosen states; narrowed
    to the chosen countries. Deleted (anonymized) accounts never."""
    states = list(states) or [OnboardingState.ACTIVE]
    rows = Contractor.objects.filter(state__in=states, anonymized_at__isnull=True)
    countries = list(countries)
    if countries:
        rows = rows.filter(country__in=countries)
    return rows


@transaction.atomic
def announcement_send(*, actor: User, text: str, countries: Iterable[str] = (), states: Iterable[str] = ()) -> int:
    """Staff's message to a group of contractors, on their dashboards and by email; returns how many it reached."""
    text = (text or "").strip()
    if not text:
        raise DomainError("text: write the message.", field="text")
    if len(text) > ANNOUNCEMENT_MAX_LENGTH:
        raise DomainError(f"text: at most {ANNOUNCEMENT_MAX_LENGTH} characters.", field="text")
    bad = set(states) - set(OnboardingState.values)
    if bad:
        raise DomainError(f"states: {', '.join(sorted(bad))} is not a state.", field="states")
    audience = list(announcement_audience(countries=countries, states=states))
    notify_each(contractors=audience, kind=K.ANNOUNCEMENT, params={"text": text, "sender": actor.email})
    return len(audience)

"""The contractor's notifications as the dashboard shows them: newest first, each with its text rendered by kind in
the reader's current language and time zone."""
from dataclasses import dataclass
from datetime import datetime

from django.template.loader import render_to_string
from django.utils.dateparse import parse_datetime

from workforce.models import Contractor, Notification


@dataclass(frozen=True)
class NoticeView:
    notification: Notification
    text: str


def notification_context(notification: Notification) -> dict:
    """The params of a notification, with times (keys ending in `_at`, kept as ISO text) as aware datetimes."""
    context: dict = {"kind": notification.kind}
    for key, value in notification.params.items():
        moment = parse_datetime(value) if key.endswith("_at") and isinstance(value, str) else None
        context[key] = moment if isinstance(moment, datetime) else value
    return context


def notification_text(notification: Notification) -> str:
    return render_to_string(f"workforce/notices/{notification.kind}.html", notification_context(notification)).strip()


def unread_count(contractor: Contractor) -> int:
    return Notification.objects.filter(contractor=contractor, read_at__isnull=True).count()


def notification_list(contractor: Contractor, *, limit: int = 50, unread_only: bool = False) -> list[NoticeView]:
    rows = Notification.objects.filter(contractor=contractor)
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    return [NoticeView(notification=row, text=notification_text(row))
            for row in rows.order_by("-created_at", "-id")[:limit]]

"""The dashboard's notification box, given by workforce so pages of other apps include it without a view change."""
from django import template

from workforce.models import Contractor
from workforce.selectors.notifications import notification_list, unread_count

register = template.Library()


@register.inclusion_tag("workforce/_notices.html", takes_context=True)
def notices_box(context: template.Context, contractor: Contractor, limit: int = 5) -> dict:
    request = context.get("request")
    return {"notices": notification_list(contractor, limit=limit, unread_only=True),
            "unread": unread_count(contractor), "csrf_token": context.get("csrf_token"),
            "here": request.get_full_path() if request is not None else ""}

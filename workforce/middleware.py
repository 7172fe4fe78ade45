"""A signed-in contractor's saved language wins over the browser's (LocaleMiddleware runs before, from the
language cookie or Accept-Language). The choice rides in the session, put there at sign-in and by the language
selector, so no page pays a query for it.

A signed-in contractor also sees every time on their own clock: their profile's time zone is made the current one
for the request (Django's timezone.activate), so `|date` and `{% get_current_timezone %}` show and name it; staff
and visitors stay on UTC, and so does the API. The zone is read fresh (one indexed query) so a change on the
profile shows at once."""
from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import SESSION_KEY as USER_ID_KEY
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from workforce.models import Contractor
from workforce.validation import zone_named

SESSION_KEY = "ui_language"


def remember_language(request: HttpRequest, language: str) -> None:
    request.session[SESSION_KEY] = language


class ContractorLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Without a session cookie there is no signed-in person: do not load (or create) a session for nothing.
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            language = request.session.get(SESSION_KEY)
            if language and language in dict(settings.LANGUAGES) and language != request.LANGUAGE_CODE:
                translation.activate(language)
                request.LANGUAGE_CODE = language
            # The API speaks UTC ("...Z") to every caller: a client converts for its reader, a page does it here.
            zone = None if request.path.startswith("/api/") else _contractor_zone(request.session.get(USER_ID_KEY))
            if zone is not None:
                with timezone.override(zone):
                    return self.get_response(request)
        return self.get_response(request)


def _contractor_zone(user_id: object) -> ZoneInfo | None:
    """The time zone on the profile of the contractor signed in as `user_id`; None for staff, for a visitor and
    before the profile names one."""
    if not user_id:
        return None
    return zone_named(Contractor.objects.filter(user_id=user_id).values_list("timezone", flat=True).first())

"""A signed-in contractor's saved language wins over the browser's (LocaleMiddleware runs before, from the
language cookie or Accept-Language). The choice rides in the session, put there at sign-in and by the language
selector, so no page pays a query for it."""
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

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
        return self.get_response(request)

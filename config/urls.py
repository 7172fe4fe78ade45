"""Root URL configuration."""
import functools
from pathlib import Path

from django.contrib import admin
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.multipartparser import MultiPartParserError
from django.urls import URLPattern, URLResolver, include, path
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from annotations import api_urls as annotations_api_urls
from annotations import urls as annotations_urls
from common.decorators import second_factor_first
from config.health import healthz
from payroll import urls as payroll_urls
from workforce.views import language_set


@functools.cache
def _favicon_svg() -> bytes:
    return Path(finders.find("favicon.svg")).read_bytes()


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """The site's icon (static/favicon.svg) at /favicon.ico, where browsers look for it whatever a page links."""
    return HttpResponse(_favicon_svg(), content_type="image/svg+xml")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 page. Its CSRF step reads a POST's form, so a multipart body Django cannot parse (a part's headers
    over its limit) raised there and gave a 500 for an unknown path (bench/api_fuzz.py found it): a 400 naming the
    body, as the known paths answer."""
    try:
        return page_not_found(request, exception)
    except MultiPartParserError as error:
        return HttpResponseBadRequest(f"body: not a readable multipart/form-data body ({error})\n",
                                      content_type="text/plain")


handler404 = not_found

# Admin views that stay open without a second factor: signing out, and the sign-in page (it only shows a form).
ADMIN_OPEN = frozenset({"login", "logout"})


def _second_factor_first(patterns: list) -> list:
    """Django's admin URLs (every model's, nested) with each view behind second_factor_first: staff who can move
    money reach no admin page without a second factor, as on the staff pages."""
    wrapped = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            wrapped.append(URLResolver(pattern.pattern, _second_factor_first(pattern.url_patterns),
                                       pattern.default_kwargs, pattern.app_name, pattern.namespace))
        elif pattern.name in ADMIN_OPEN:
            wrapped.append(pattern)
        else:
            wrapped.append(URLPattern(pattern.pattern, second_factor_first(pattern.callback), pattern.default_args,
                                      pattern.name))
    return wrapped


_admin_patterns, _admin_app, _admin_namespace = admin.site.urls

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", (_second_factor_first(_admin_patterns), _admin_app, _admin_namespace)),
    path("accounts/", include("allauth.urls")),
    # Django's set_language, wrapped to keep a signed-in contractor's choice on the profile.
    path("i18n/setlang/", language_set, name="set_language"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Staff only (SPECTACULAR_SETTINGS' SERVE_PERMISSIONS): a contractor gets 403, an anonymous caller 403 too.
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema", template_name="api_docs/redoc.html"),
         name="api-redoc"),  # its template without the Google Fonts links
    path("api/v1/payroll/", include("payroll.api_urls")),
    path("api/v1/quality/", include("annotations.api_urls")),
    path("api/v1/console/", include((annotations_api_urls.console_urlpatterns, "console-api"))),
    path("api/v1/", include("workforce.api_urls")),
    path("", include((payroll_urls.files_urlpatterns, "payroll-files"))),
    # The portal's pages take paths among the apps' (/, /dashboard/, /console/jobs/<pk>/...): listed first.
    path("", include("portal.urls")),
    path("console/payroll/", include((payroll_urls.console_urlpatterns, "payroll-console"))),
    path("console/", include((annotations_urls.console_urlpatterns, "console"))),
    path("", include("payroll.urls")),
    path("", include("annotations.urls")),
    path("", include("workforce.urls")),
]

"""The API schema and docs are for staff, and the docs pages load their scripts and styles from our own static files
(drf-spectacular-sidecar): they work without internet and call no CDN. django-axes is gone (allauth limits logins)."""
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import REPO_ROOT
from tests.factories import contractor_in_state, staff_user
from workforce.models import OnboardingState

pytestmark = pytest.mark.django_db

PAGES = ["/api/schema/", "/api/docs/", "/api/redoc/"]
# src= / href= of script, link and img tags, and the URLs the pages' inline scripts load.
ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|["'](https?://[^"']+\.(?:js|css)[^"']*)["']""")


def _signed_in(user: object) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_callers_and_contractors_are_refused(url: str) -> None:
    assert Client().get(url).status_code == 403
    assert _signed_in(contractor_in_state(OnboardingState.ACTIVE).user).get(url).status_code == 403


def test_staff_get_the_schema() -> None:
    response = _signed_in(staff_user()).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert "/api/v1/payroll/me/time-entries/" in response.json()["paths"]


@pytest.mark.parametrize(("url", "script"), [("/api/docs/", "swagger-ui-dist/swagger-ui-bundle."),
                                             ("/api/redoc/", "redoc/bundles/redoc.standalone.")])
def test_the_docs_pages_load_nothing_from_outside(url: str, script: str) -> None:
    page = _signed_in(staff_user()).get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assets = [a or b for a, b in ASSET.findall(html)]
    assert any(script in asset for asset in assets), assets
    external = [asset for asset in assets if re.match(r"(?:https?:)?//", asset)]
    assert external == []
    assert not re.search(r"https?://", html), re.findall(r"https?://[^\s\"'<>]+", html)


def test_the_sidecar_is_pinned_and_axes_is_gone() -> None:
    requirements = (REPO_ROOT / "requirements.txt").read_text().splitlines()
    assert any(re.fullmatch(r"drf-spectacular-sidecar==[0-9.]+", line) for line in requirements)
    assert not any(line.lower().startswith("django-axes") for line in requirements)
    sources = [p for p in Path(REPO_ROOT).rglob("*.py") if not {"var", ".git", "node_modules"} & set(p.parts)]
    importing = [str(p) for p in sources if re.search(r"^\s*(?:from|import)\s+axes\b", p.read_text(errors="replace"),
                                                       re.MULTILINE)]
    assert importing == []
    wired = [name for name in [*settings.INSTALLED_APPS, *settings.MIDDLEWARE, *settings.AUTHENTICATION_BACKENDS]
             if name.split(".")[0] == "axes"]
    assert wired == []
    assert settings.ACCOUNT_RATE_LIMITS["login_failed"]  # the one login limit: allauth's

"""Staff roles: every staff route declares the permission it needs, and each role gets in or gets 403 as the
roles say; payroll and admin staff need a second factor (allauth's TOTP) before any staff page opens."""
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from common.errors import NotAllowed
from common.permissions import StaffPermission
from common.roles import ANY_STAFF_ROLE, ROLES, RUN_PAYROLL
from payroll.models import PayRun
from payroll.services.payruns import pay_run_execute
from tests.factories import (
    TEST_PASSWORD,
    UserFactory,
    batch_assigned,
    contractor_in_state,
    staff_user,
    totp_code,
)
from tests.payroll.conftest import at
from tests.payroll.test_payruns import W47, approved_week
from workforce.models import OnboardingState, User
from workforce.services.accounts import user_sign_in_set

pytestmark = pytest.mark.django_db

# Routes that are not staff pages: the contractor's own, public ones (health, webhook, gateway, the client's signed
# delivery link) and pages that serve a contractor and staff alike (they check inside, tested in their apps).
# A route missing both from here and a declared staff permission fails test_every_route_is_staff_or_listed.
NOT_STAFF = {
    "healthz", "set_language", "favicon",
    "workforce:notifications", "workforce:notifications-read", "workforce:notification-read",
    "workforce:notification-emails",
    "annotations:label-studio-webhook", "annotations:gateway-decide", "annotations:label-studio-sign-in",
    "annotations:my-quality", "annotations:batch-hand-in", "annotations:my-annotation-overlay",
    "annotations:quality-overlay", "annotations:client-delivery", "annotations:client-delivery-zip",
    "annotations:client-delivery-report-json", "annotations:client-delivery-thumbnail",
    "portal:job", "portal:defect-example", "portal:jobs", "portal:job-listing", "portal:job-example",
    "portal:dashboard", "portal:label-studio-password",
    "payroll:pay", "payroll:entry-create", "payroll:entry-delete", "payroll:timer-start", "payroll:timer-stop",
    "payroll:week-submit", "payroll:statement", "payroll-files:statement-csv",
    "payroll-api:me-time-entries", "payroll-api:me-time-entry", "payroll-api:me-timer", "payroll-api:me-timesheets",
    "payroll-api:me-timesheet-submit", "payroll-api:me-statements", "payroll-api:me-statement",
    "quality-api:me",
    "workforce:profile", "workforce:agreements", "workforce:start-working", "workforce:privacy",
    "workforce:data-export",
    "workforce-api:me", "workforce-api:me-tax-declaration", "workforce-api:me-agreements",
    "workforce-api:me-agreements-accept", "workforce-api:me-transitions", "workforce-api:me-export",
    "workforce-api:me-deletion", "workforce-api:me-start-working",
}
# Their own apps guard these: Django's admin (superusers) and allauth's account and 2FA pages.
OWN_GUARD_PREFIXES = ("admin/", "accounts/")
ARGUMENTS = {"pk": 999_999, "job_pk": 999_999, "index": 0, "week": "2026-W47", "fmt": "csv", "service": "paypal",
             "against": "gold", "token": "no-such-token", "class_key": "scratch", "notification_id": 999_999}


@dataclass(frozen=True)
class Route:
    name: str  # namespace:name
    path: str
    permission: str | None  # what it declares, None when it declares no staff permission


def _declared(callback: Any) -> str | None:
    if getattr(callback, "staff_permission", None):
        return callback.staff_permission
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    for permission_class in getattr(view_class, "permission_classes", ()):
        if isinstance(permission_class, type) and issubclass(permission_class, StaffPermission):
            return permission_class.required
    return None


def _walk(patterns: list, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, URLPattern]]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route.startswith(OWN_GUARD_PREFIXES):
                continue
            inner = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else entry.namespace or namespace
            yield from _walk(entry.url_patterns, route, inner or "")
        else:
            yield (f"{namespace}:{entry.name}" if namespace else entry.name or route), route, entry


def _routes() -> list[Route]:
    routes = []
    for name, _route, pattern in _walk(get_resolver().url_patterns):
        kwargs = {key: ARGUMENTS[key] for key in pattern.pattern.regex.groupindex}
        routes.append(Route(name=name, path=reverse(name, kwargs=kwargs), permission=_declared(pattern.callback)))
    return routes


ROUTES = _routes()
STAFF_ROUTES = [route for route in ROUTES if route.permission]
ROLE_NAMES = [*ROLES, "superuser"]


def _allowed(role: str, permission: str) -> bool:
    if role == "superuser":
        return True
    return permission == ANY_STAFF_ROLE or permission in ROLES[role]


def _answer(client: Client, path: str) -> int:
    """The status of a GET, or of an empty POST where the route takes no GET."""
    response = client.get(path)
    if response.status_code == 405:
        response = client.post(path, {})
    return response


def test_every_route_is_staff_or_listed() -> None:
    names = {route.name for route in ROUTES}
    undeclared = sorted(route.name for route in ROUTES if not route.permission and route.name not in NOT_STAFF)
    assert not undeclared, f"staff routes without a declared permission (or add them to NOT_STAFF): {undeclared}"
    assert not NOT_STAFF - names, f"NOT_STAFF names routes that are gone: {sorted(NOT_STAFF - names)}"
    assert not {route.name for route in STAFF_ROUTES} & NOT_STAFF
    # The walk found the consoles, the staff APIs and the API docs (so it walked the includes at all).
    assert {"console:review-queue", "payroll-console:pay-run-create", "console-api:batch-assign",
            "payroll-api:staff-pay-runs", "workforce-api:contractor-list", "api-schema"} <= names
    assert len(STAFF_ROUTES) >= 75


@pytest.fixture(autouse=True)
def _static_files_without_a_manifest(settings: Any) -> None:
    """The docs pages name static files; the manifest exists only after collectstatic."""
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


def _holder(role: str) -> User:
    if role == "contractor":
        return contractor_in_state(OnboardingState.ACTIVE).user
    return staff_user(role=role)


@pytest.mark.parametrize("role", [*ROLE_NAMES, "contractor"])
def test_each_role_gets_each_staff_route_its_permissions_allow_and_403_elsewhere(role: str) -> None:
    client = Client()
    client.force_login(_holder(role))
    wrong = []
    for route in STAFF_ROUTES:
        response = _answer(client, route.path)
        status = response.status_code
        if role != "contractor" and _allowed(role, route.permission):
            sent_away = status == 302 and ("/accounts/" in response["Location"])
            if status == 403 or status >= 500 or sent_away:
                wrong.append((route.name, route.permission, status, "should be allowed"))
        elif status != 403:
            wrong.append((route.name, route.permission, status, "should be 403"))
    assert not wrong, f"{role}: {wrong}"


def test_anonymous_callers_go_to_the_login_page_or_get_403_from_the_api() -> None:
    client = Client()
    wrong = []
    for route in STAFF_ROUTES:
        response = _answer(client, route.path)
        is_api = route.path.startswith("/api/")
        if is_api and response.status_code != 403:
            wrong.append((route.name, response.status_code))
        if not is_api and not (response.status_code == 302 and reverse("account_login") in response["Location"]):
            wrong.append((route.name, response.status_code))
    assert not wrong


def _week_to_pay() -> None:
    contractor = contractor_in_state(OnboardingState.ACTIVE)
    approved_week(contractor, batch_assigned(contractor), staff_user(role="payroll"), [(at(17, 9), at(17, 11))])


def test_a_reviewer_cannot_run_a_pay_run_and_payroll_staff_can() -> None:
    _week_to_pay()
    reviewer = Client()
    reviewer_user = staff_user(role="reviewer")
    reviewer.force_login(reviewer_user)
    form = {"week": "2026-W47", "minimum_payout": "0.00"}
    assert reviewer.post(reverse("payroll-console:pay-run-create"), form).status_code == 403
    api = reviewer.post(reverse("payroll-api:staff-pay-runs"), form, content_type="application/json")
    assert api.status_code == 403
    assert RUN_PAYROLL in api.json()["detail"]
    with pytest.raises(NotAllowed):
        pay_run_execute(week_start=W47, actor=reviewer_user, minimum_payout=Decimal("0.00"))
    assert not PayRun.objects.exists()

    payroll = Client()
    payroll.force_login(staff_user(role="payroll"))
    response = payroll.post(reverse("payroll-console:pay-run-create"), form)
    run = PayRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("payroll-console:pay-run", args=[run.pk])
    assert run.statements.count() == 1


@pytest.mark.parametrize("role", ["payroll", "admin", "superuser"])
def test_staff_without_a_second_factor_cannot_reach_payroll(role: str) -> None:
    client = Client()
    client.force_login(staff_user(role=role, mfa=False))
    page = client.get(reverse("payroll-console:home"))
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("mfa_activate_totp") + "?next=")
    api = client.get(reverse("payroll-api:staff-week-timesheets", args=["2026-W47"]))
    assert api.status_code == 403
    assert "second factor" in api.json()["detail"]
    export = client.get(reverse("payroll-files:export", args=["2026-W47", "csv"]))
    assert export.status_code == 302
    assert reverse("mfa_activate_totp") in export["Location"]


def test_operations_and_reviewers_need_no_second_factor_for_their_pages() -> None:
    for role, url in [("operations", reverse("console:stale")), ("reviewer", reverse("console:review-queue"))]:
        client = Client()
        client.force_login(staff_user(role=role, mfa=False))
        assert client.get(url).status_code == 200, role


def test_payroll_staff_set_up_totp_sign_in_with_its_code_and_then_reach_payroll() -> None:
    user = staff_user(role="payroll", mfa=False, email="pay.lead@example.org")
    user_sign_in_set(user=user, password=TEST_PASSWORD)  # a verified address, as allauth's login wants
    client = Client()
    signed_in = client.post(reverse("account_login"), {"login": user.email, "password": TEST_PASSWORD})
    assert signed_in.status_code == 302
    payroll_home = reverse("payroll-console:home")
    assert reverse("mfa_activate_totp") in client.get(payroll_home)["Location"]

    # allauth asks for the password again before a second factor is added.
    assert reverse("account_reauthenticate") in client.get(reverse("mfa_activate_totp"))["Location"]
    client.post(reverse("account_reauthenticate"), {"password": TEST_PASSWORD})
    setup = client.get(reverse("mfa_activate_totp"))
    assert setup.status_code == 200
    secret = client.session[SECRET_SESSION_KEY]  # what the QR code on the page carries
    assert client.post(reverse("mfa_activate_totp"), {"code": "000000" if totp_code(secret) != "000000"
                                                      else "111111"}).status_code == 200  # a wrong code: refused
    assert not Authenticator.objects.filter(user=user).exists()
    activated = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert activated.status_code == 302
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert client.get(payroll_home).status_code == 200

    # The next sign-in asks for the code before the session is signed in.
    client.post(reverse("account_logout"))
    client.post(reverse("account_login"), {"login": user.email, "password": TEST_PASSWORD})
    assert client.get(payroll_home).status_code == 302
    assert reverse("account_login") in client.get(payroll_home)["Location"]
    code_step = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert code_step.status_code == 302
    assert client.get(payroll_home).status_code == 200


def test_staff_role_grant_puts_a_login_in_a_role_and_refuses_a_contractor_or_an_unknown_role() -> None:
    user = UserFactory(email="new.reviewer@example.org")
    call_command("staff_role_grant", "New.Reviewer@example.org", "reviewer")
    user.refresh_from_db()
    assert user.is_staff
    assert list(user.groups.values_list("name", flat=True)) == ["reviewer"]
    assert user.has_perm("annotations.review_work")
    assert not user.has_perm(RUN_PAYROLL)
    contractor = contractor_in_state(OnboardingState.ACTIVE)
    with pytest.raises(CommandError, match="contractor"):
        call_command("staff_role_grant", contractor.user.email, "admin")
    with pytest.raises(CommandError, match=r"nobody@example\.org"):
        call_command("staff_role_grant", "nobody@example.org", "admin")
    with pytest.raises(CommandError):
        call_command("staff_role_grant", user.email, "owner")


@pytest.mark.parametrize("role", ["admin", "superuser"])
def test_django_admin_sends_staff_without_a_second_factor_to_set_one_up(role: str) -> None:
    client = Client()
    client.force_login(staff_user(role=role, mfa=False))
    for path in ["/admin/", "/admin/workforce/", "/admin/workforce/user/", "/admin/password_change/"]:
        page = client.get(path)
        assert page.status_code == 302, path
        assert page["Location"] == f"{reverse('mfa_activate_totp')}?next={path.replace('/', '%2F')}", path
    # Signing out of the admin stays open.
    assert client.post("/admin/logout/").status_code == 200


def test_django_admin_opens_with_a_second_factor() -> None:
    client = Client()
    client.force_login(staff_user(role="superuser"))
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/workforce/user/").status_code == 200


NAV_LINKS = {"Console": "/console/", "Applicants": "/staff/applicants/", "Agreements": "/staff/agreements/",
             "Admin": "/admin/"}


@pytest.mark.parametrize(("role", "shown"), [
    ("operations", {"Console", "Applicants", "Agreements"}),
    ("reviewer", {"Console"}),
    ("payroll", {"Console"}),
    ("admin", {"Console", "Applicants", "Agreements"}),
    ("superuser", {"Console", "Applicants", "Agreements", "Admin"}),
    ("none", set()),
])
def test_the_nav_shows_each_role_only_the_links_it_can_open(role: str, shown: set[str]) -> None:
    user = UserFactory(is_staff=True) if role == "none" else staff_user(role=role)
    client = Client()
    client.force_login(user)
    page = client.get("/console/" if shown else "/", follow=True).content.decode()  # "/" leads to the listing
    nav = page[page.index("<nav"):page.index("</nav>")]
    assert {label for label, url in NAV_LINKS.items() if f'href="{url}"' in nav} == shown
    for label in shown:  # each link shown opens for them
        opened = client.get(NAV_LINKS[label])
        assert opened.status_code == 200, (label, opened.status_code)

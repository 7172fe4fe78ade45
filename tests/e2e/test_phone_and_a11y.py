"""Every contractor page and the main staff pages at phone size (390x844) and desktop size (1280x800), in English
and in Arabic: no sideways scroll, no serious or critical axe-core violation, no failed request (the favicon
included). Screenshots go to var/screenshots/ (git-ignored), with report-<test>.json: each page's width and axe count.

The pages' data is made through the services, without Label Studio: an active contractor in Manila with hours in
an approved and paid week (so a statement), a scored gold photo and a batch in hand; a staff member to look at it."""
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from annotations.models import Annotation, BatchTask, QualityScore, ScoreState, Task
from annotations.services.gold import gold_current
from payroll.models import Statement, Timesheet
from payroll.selectors.weeks import week_name, week_start_utc
from payroll.services.entries import time_entry_create
from payroll.services.payruns import pay_run_execute
from payroll.services.timesheets import timesheet_decide, timesheet_submit
from tests.factories import batch_assigned, contractor_in_state, job_plain, staff_user
from workforce.models import Contractor, OnboardingState, User

ROOT = Path(__file__).resolve().parent.parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
ZONE = "Asia/Manila"


@pytest.fixture(autouse=True)
def no_rate_limits(settings: Settings) -> None:
    settings.ACCOUNT_RATE_LIMITS = False


def session_cookie(user: User, live_server: LiveServer) -> dict:
    """A signed-in session for `user`, as a cookie the browser sends to the live server."""
    client = Client()
    client.force_login(user)
    return {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "url": live_server.url}


def worked_and_paid(contractor: Contractor, staff: User) -> Statement:
    """Two sessions in last week, submitted, approved and paid; one in this week (a draft)."""
    job = job_plain(hourly_rate=Decimal("2.00"), weekly_cap_hours=Decimal("20"))
    last_week = week_start_utc(timezone.now()) - timedelta(days=7)
    batch = batch_assigned(contractor, job=job, since=last_week)
    for day, hours in ((1, 2), (2, 3)):
        start = last_week + timedelta(days=day, hours=3)
        time_entry_create(contractor=contractor, batch=batch, start=start, end=start + timedelta(hours=hours),
                          actor=contractor.user, note="Screens 1-40")
    now = timezone.now()
    if now - week_start_utc(now) > timedelta(hours=2):
        time_entry_create(contractor=contractor, batch=batch, start=now - timedelta(hours=1, minutes=30),
                          end=now - timedelta(minutes=30), actor=contractor.user)
    timesheet = Timesheet.objects.get(contractor=contractor, week_start=last_week)
    timesheet = timesheet_submit(timesheet=timesheet, actor=contractor.user)
    timesheet_decide(timesheet=timesheet, approve=True, actor=staff)
    pay_run_execute(week_start=last_week, actor=staff, minimum_payout=Decimal("0"))
    # A scored gold photo, as the scoring job leaves it, for /quality/ and the dashboard.
    task = Task.objects.create(job=job, key=uuid.uuid4().hex[:8], image_path="none.jpg",
                               image_sha256=uuid.uuid4().hex, width=8, height=8, gold_result=[])
    held = BatchTask.objects.create(batch=batch, task=task, is_gold=True)
    annotation = Annotation.objects.create(ls_annotation_id=uuid.uuid4().int % 2_000_000_000, batch_task=held,
                                           contractor=contractor, ls_created_at=now - timedelta(hours=5))
    QualityScore.objects.create(
        annotation=annotation, gold=gold_current(task), state=ScoreState.SCORED, macro_iou=0.81,
        per_class={"Scratch": {"iou": 0.9, "dice": None}, "Crack": {"iou": 0.72, "dice": None}},
        rubber_stamp=False, result_digest="x", scored_at=now - timedelta(hours=4))
    return Statement.objects.get(timesheet=timesheet)


def width(page: Page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth")


# The innermost elements that reach past the viewport's edge, to name what makes a page scroll sideways.
OVERFLOWING = """() => {
  const out = e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && (r.right > innerWidth + 1 || r.left < -1);
  };
  return [...document.body.querySelectorAll('*')].filter(e => out(e) && ![...e.children].some(out)).slice(0, 5)
    .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + ' '
         + Math.round(e.getBoundingClientRect().right));
}"""


def axe_violations(page: Page) -> list[dict]:
    """axe-core's violations on the page as shown, one entry per rule (all impacts; the test fails on serious
    and critical ones, the report keeps the moderate and minor ones too)."""
    assert AXE.is_file(), f"{AXE} is missing: run `npm ci` at the repository root (./run test does it)."
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert len(result["passes"]) + len(result["violations"]) > 20, "axe-core ran no rules"
    return [{"rule": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"]]


class Walk:
    """Visits pages in one browser context per (language, size) and keeps what it measured."""

    def __init__(self, browser: Browser, live_server: LiveServer) -> None:
        self.browser, self.live_server = browser, live_server
        self.report: list[dict] = []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def context(self, *, language: str, viewport: dict, cookie: dict | None) -> BrowserContext:
        context = self.browser.new_context(viewport=viewport, locale=language,
                                           extra_http_headers={"Accept-Language": language})
        context.set_default_timeout(15_000)
        if cookie:
            context.add_cookies([cookie])
        return context

    def visit(self, page: Page, *, name: str, path: str, language: str, viewport: dict) -> None:
        failed: list[str] = []
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(self.live_server.url + path)
        page.wait_for_load_state("load")
        size = f"{viewport['width']}x{viewport['height']}"
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{language}-{size}.png"), full_page=True)
        self.report.append({
            "page": name, "path": path, "language": language, "size": size,
            "html_lang": page.evaluate("document.documentElement.lang"),
            "dir": page.evaluate("document.documentElement.dir"),
            "width": width(page), "overflowing": page.evaluate(OVERFLOWING), "axe": axe_violations(page),
            "failed_requests": failed,
            "favicon": page.request.get(self.live_server.url + "/favicon.ico").status,
        })

    def run(self, pages: list[tuple[str, str]], *, cookie: dict | None, languages: tuple[str, ...]) -> None:
        for language in languages:
            for viewport in (PHONE, DESKTOP):
                context = self.context(language=language, viewport=viewport, cookie=cookie)
                page = context.new_page()
                for name, path in pages:
                    self.visit(page, name=name, path=path, language=language, viewport=viewport)
                context.close()


@pytest.fixture
def walk(browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[Walk]:
    walk = Walk(browser, live_server)
    yield walk
    (SCREENSHOTS / f"report-{request.node.name}.json").write_text(json.dumps(walk.report, indent=1, ensure_ascii=False))


def problems(report: list[dict], *, staff: bool = False) -> list[str]:
    """What is wrong on the pages walked; staff pages stay in English whatever the browser asks."""
    found = []
    for row in report:
        where = f"{row['page']} [{row['language']} {row['size']}]"
        limit = int(row["size"].split("x")[0])
        if row["width"] > limit:
            found.append(f"{where}: {row['width']} px wide ({row['overflowing']})")
        found += [f"{where}: axe {v['impact']} {v['rule']} ({v['help']}) at {v['nodes']}" for v in row["axe"]
                  if v["impact"] in ("serious", "critical")]
        found += [f"{where}: request failed {f}" for f in row["failed_requests"]]
        if row["favicon"] != 200:
            found.append(f"{where}: /favicon.ico answered {row['favicon']}")
        language = "en" if staff else row["language"]
        if row["html_lang"] != language or row["dir"] != ("rtl" if language == "ar" else "ltr"):
            found.append(f"{where}: <html lang={row['html_lang']} dir={row['dir']}>")
    return found


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_contractor_pages_fit_a_phone_and_pass_axe_in_english_and_arabic(walk: Walk,
                                                                         live_server: LiveServer) -> None:
    staff = staff_user(role="admin", mfa=True)
    contractor = contractor_in_state(OnboardingState.ACTIVE, display_name="Maria", timezone_name=ZONE,
                                     country="PH")
    # The job page before any gold exists (the scored photo below has an empty gold, with no crop to show).
    walk.run([("job", "/"), ("signup", "/accounts/signup/"), ("login", "/accounts/login/")],
             cookie=None, languages=("en", "ar"))
    statement = worked_and_paid(contractor, staff)
    walk.run([("dashboard", "/dashboard/"), ("profile", "/profile/"), ("agreements", "/agreements/"),
              ("pay", "/pay/"), ("quality", "/quality/"), ("privacy", "/privacy/"),
              ("statement", f"/pay/statements/{statement.pk}/")],
             cookie=session_cookie(contractor.user, live_server), languages=("en", "ar"))
    assert len(walk.report) == 10 * 4
    assert problems(walk.report) == []


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_main_staff_pages_fit_a_phone_and_pass_axe(walk: Walk, live_server: LiveServer) -> None:
    staff = staff_user(role="admin", mfa=True)
    contractor = contractor_in_state(OnboardingState.ACTIVE, display_name="Maria", timezone_name=ZONE)
    statement = worked_and_paid(contractor, staff)
    job = statement.timesheet.entries.first().job
    week = week_name(statement.timesheet.week_start)
    walk.run([("console", "/console/"), ("staff-job", f"/console/jobs/{job.pk}/"), ("review", "/console/review/"),
              ("capacity", f"/console/jobs/{job.pk}/capacity/"), ("payroll", f"/console/payroll/?week={week}")],
             cookie=session_cookie(staff, live_server), languages=("en", "ar"))
    assert len(walk.report) == 5 * 4
    assert problems(walk.report, staff=True) == []


@pytest.mark.django_db(transaction=True)
def test_the_axe_check_finds_a_nameless_button_and_an_image_without_alt(page: Page, live_server: LiveServer) -> None:
    """The walk's axe-core check is not blind: broken markup added to a clean page is reported."""
    page.goto(live_server.url + "/accounts/login/")
    assert not [v for v in axe_violations(page) if v["impact"] in ("serious", "critical")]
    page.evaluate("""() => { document.querySelector('main').insertAdjacentHTML('beforeend',
        '<button type="button"></button><img src="/favicon.ico">'); }""")
    found = {v["rule"]: v["impact"] for v in axe_violations(page)}
    assert found.get("button-name") == "critical"
    assert found.get("image-alt") == "critical"

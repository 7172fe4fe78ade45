"""Issue #18's done-when walk: a contractor whose browser asks for Spanish, and another for Arabic, go from the
public job page through signup, the verification email, the profile and the agreements to the dashboard, /pay/ and
/quality/, at phone size, every page and the email in their language (Arabic right to left), axe-core clean.

Each page's screenshot goes to var/screenshots/walk-<language>/NN-<page>.png (git-ignored; the test prints the
folder). The expected words are read from the catalogs themselves (and must differ from the English), so the walk
checks that the translation reached the page, not one translator's wording. Staff's approval and the paid week,
the batch and the scored photo behind /pay/ and /quality/ are made through the services (test_phone_and_a11y's
worked_and_paid): the walk is the contractor's."""
import re
import time
from pathlib import Path

import pytest
from django.core.mail import EmailMessage
from django.utils import translation
from playwright.sync_api import Browser, Page, expect
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from annotations.models import BatchState
from tests.e2e.test_phone_and_a11y import AXE, PHONE, SCREENSHOTS, axe_violations, width, worked_and_paid
from tests.factories import job_plain, staff_user
from workforce.models import Contractor, OnboardingState
from workforce.services.decisions import contractor_decide

PASSWORD = "plum-orbit-canvas-42"
LINK = re.compile(r"https?://\S+/accounts/confirm-email/\S+/")


@pytest.fixture(autouse=True)
def no_rate_limits(settings: Settings) -> None:
    settings.ACCOUNT_RATE_LIMITS = False


def words(language: str, english: str) -> str:
    """`english` as the catalog of `language` writes it; a message left in English fails here."""
    with translation.override(language):
        translated = translation.gettext(english)
    assert translated != english, f"{english!r} is not translated to {language}"
    return translated


def label(language: str, choice: object) -> str:
    """A model choice's label (a state) as `language` shows it; left in English, it fails here."""
    with translation.override(language):
        shown = str(choice.label)
    assert shown != choice.value.replace("_", " ").capitalize(), f"{choice!r} is not translated to {language}"
    return shown


class Walk:
    """One contractor's pages in one browser context: each checked and photographed as it is reached."""

    def __init__(self, page: Page, language: str) -> None:
        self.page, self.language = page, language
        self.folder = SCREENSHOTS / f"walk-{language}"
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.shots: list[Path] = []
        self.problems: list[str] = []

    def check(self, name: str, *shown: str) -> None:
        """The page in the walker's language and direction, showing each of `shown`, fitting the phone, axe-clean."""
        page = self.page
        page.wait_for_load_state("load")
        for text in shown:
            expect(page.locator("body")).to_contain_text(text)
        where = f"{name} [{self.language}] {page.url}"
        lang, direction = page.evaluate("[document.documentElement.lang, document.documentElement.dir]")
        if (lang, direction) != (self.language, "rtl" if self.language == "ar" else "ltr"):
            self.problems.append(f"{where}: <html lang={lang} dir={direction}>")
        if width(page) > PHONE["width"]:
            self.problems.append(f"{where}: {width(page)} px wide")
        self.problems += [f"{where}: axe {v['impact']} {v['rule']} ({v['help']}) at {v['nodes']}"
                          for v in axe_violations(page) if v["impact"] in ("serious", "critical")]
        shot = self.folder / f"{len(self.shots) + 1:02d}-{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        self.shots.append(shot)


def verification_email(outbox: list[EmailMessage], email: str) -> EmailMessage:
    sent = [m for m in outbox if email in m.to]
    assert len(sent) == 1, [(m.to, m.subject) for m in outbox]
    return sent[0]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["es", "ar"])
def test_a_contractor_walks_from_the_job_page_to_quality_in_the_language_their_browser_asks_for(
    language: str, browser: Browser, live_server: LiveServer, mailoutbox: list[EmailMessage],
) -> None:
    assert AXE.is_file(), f"{AXE} is missing: run `npm ci` at the repository root (./run test does it)."
    began = time.monotonic()
    email = f"walker.{language}@example.org"
    context = browser.new_context(viewport=PHONE, locale=language, extra_http_headers={"Accept-Language": language})
    context.set_default_timeout(15_000)
    page = context.new_page()
    walk = Walk(page, language)
    print(f"\nscreenshots of the {language} walk: {walk.folder}")
    try:
        # 1. The public job listing, then its own link to signup (a listing of several jobs leads there through
        #    the job's page).
        job_plain(name="Smartphone screen defect annotation", listed=True)  # the one open job: "/" is its page
        page.goto(live_server.url + "/")
        expect(page).to_have_url(re.compile(r"/jobs/\d+/$"))
        walk.check("job", words(language, "Apply now"), "USD 2")
        signup = page.locator("main a[href*='/accounts/signup/']")
        if not signup.count():
            page.locator("main a[href*='/jobs/']").first.click()
            signup = page.locator("main a[href*='/accounts/signup/']")
        signup.first.click()
        expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
        walk.check("signup", words(language, "Password (again)"))

        # 2. Signup; the verification email is in the walker's language and its link opens the confirmation.
        page.locator("input[name=email]").fill(email)
        page.locator("input[name=password1]").fill(PASSWORD)
        page.locator("input[name=password2]").fill(PASSWORD)
        page.locator("main form button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))
        walk.check("email-sent")
        message = verification_email(mailoutbox, email)
        assert message.subject == "LabelCrew: " + words(language, "Please Confirm Your Email Address")
        go_to = words(language, "To confirm this is correct, go to %(activate_url)s")
        assert go_to.split("%(activate_url)s")[0].strip() in message.body, message.body
        assert "To confirm this is correct" not in message.body
        link = LINK.search(message.body)
        assert link, message.body
        assert link.group(0).startswith(live_server.url), message.body
        page.goto(link.group(0))
        walk.check("confirm", words(language, "Confirm Email Address"))
        page.locator("main form button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/dashboard/$"))
        expect(page.get_by_test_id("state")).to_have_text(label(language, OnboardingState.EMAIL_VERIFIED))
        walk.check("dashboard-new", words(language, "Welcome to LabelCrew"))

        # 3. The profile, from the dashboard's next step.
        page.get_by_role("link", name=words(language, "Continue")).click()
        expect(page).to_have_url(re.compile(r"/profile/$"))
        walk.check("profile", words(language, "Your profile"), words(language, "Tax self-certification"))
        name = "Lucía Pérez" if language == "es" else "ليلى حسن"
        country, zone = ("VE", "America/Caracas") if language == "es" else ("EG", "Africa/Cairo")
        page.locator("[name=profile-legal_name]").fill(name)
        page.locator("[name=profile-display_name]").fill(name.split()[0])
        page.locator("[name=profile-country]").select_option(country)
        page.locator("[name=profile-timezone]").select_option(zone)
        page.locator("[name=profile-languages]").select_option([language])
        page.locator("[name=profile-hours_available_per_week]").fill("15")
        page.locator("[name=profile-payout_method]").select_option("paypal")
        page.locator("[name=profile-payout_email]").fill(f"pay.{email}")
        page.locator("[name=profile-date_of_birth]").fill("1996-03-04")
        page.locator("[name=tax-is_us_person][value=no]").check()
        page.locator("[name=tax-tax_legal_name]").fill(name)
        page.locator("[name=tax-country_of_residence]").select_option(country)
        page.locator("[name=tax-signature]").fill(name)
        page.locator("[name=tax-certified]").check()
        page.get_by_role("button", name=words(language, "Save profile")).click()
        expect(page).to_have_url(re.compile(r"/dashboard/$"))
        expect(page.locator("ul.messages")).to_contain_text(words(language, "Profile saved."))

        # 4. The agreements, from the dashboard's next step.
        page.get_by_role("link", name=words(language, "Continue")).click()
        expect(page).to_have_url(re.compile(r"/agreements/$"))
        walk.check("agreements", words(language, "Agreement and guidelines"))
        for box in page.locator("input[name=agreements]").all():
            box.check()
        page.get_by_role("button", name=words(language, "Accept"), exact=True).click()
        expect(page).to_have_url(re.compile(r"/dashboard/$"))
        with translation.override(language):
            hello = translation.gettext("Hello, %(name)s") % {"name": name.split()[0]}
        expect(page.get_by_test_id("state")).to_have_text(label(language, OnboardingState.QUALIFYING))
        expect(page.get_by_role("heading", level=1)).to_have_text(hello)

        # 5. Staff approve (their page is English and not part of this walk); the contractor starts working, is
        #    given a batch, works a week that is paid, and has a scored reference photo.
        contractor = Contractor.objects.get(user__email=email)
        staff = staff_user(role="admin", mfa=True)
        contractor_decide(contractor=contractor, action="approve", actor=staff)
        page.reload()
        page.get_by_role("button", name=words(language, "Start working")).click()
        expect(page.get_by_test_id("state")).to_have_text(label(language, OnboardingState.ACTIVE))
        worked_and_paid(contractor, staff)
        page.reload()
        expect(page.get_by_test_id("batch-state")).to_have_text(label(language, BatchState.ASSIGNED))
        walk.check("dashboard", words(language, "My batches"), words(language, "Hours this week"))

        # 6. /pay/ and /quality/, reached through the dashboard's links.
        page.locator("a[href$='/pay/']").first.click()
        expect(page).to_have_url(re.compile(r"/pay/"))
        walk.check("pay", words(language, "Statements"))
        page.goto(live_server.url + "/dashboard/")
        page.get_by_role("link", name=words(language, "Scores and overlays of each reference photo")).click()
        expect(page).to_have_url(re.compile(r"/quality/$"))
        walk.check("quality", words(language, "My quality"), words(language, "Quality on gold, week by week"))
        expect(page.locator("body")).not_to_contain_text("Mean score on gold photos")  # the chart's description
    finally:
        context.close()
    print(f"{language} walk: {len(walk.shots)} pages in {time.monotonic() - began:.1f} s")
    assert not walk.problems, "\n".join(walk.problems)

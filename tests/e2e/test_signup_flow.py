"""The contractor signup flow in real Chromium: job page to active contractor, with a staff review between."""
import re
from datetime import date
from pathlib import Path

import pytest
from django.core.mail import EmailMessage
from django.core.management import call_command
from playwright.sync_api import Browser, Locator, Page, expect
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from tests.e2e.test_console_flow import staff_authenticator, type_the_code
from tests.factories import job_plain
from workforce.models import Contractor, OnboardingState

PASSWORD = "plum-orbit-canvas-42"
STATUS = re.compile(r"^Status:")
CONFIRM_LINK = re.compile(r"https?://\S+/accounts/confirm-email/\S+/")


@pytest.fixture(autouse=True)
def no_rate_limits(settings: Settings) -> None:
    """All browser traffic comes from 127.0.0.1, and under ./run test allauth's counters live in Redis
    across runs: ten signups an hour from one address would soon fail the suite."""
    settings.ACCOUNT_RATE_LIMITS = False


def status(page: Page) -> Locator:
    return page.get_by_role("heading", name=STATUS)


def card(page: Page, heading: str) -> Locator:
    return page.get_by_role("region", name=heading)


def field(page: Page, label: str) -> Locator:
    """The form row (label, input, help text, errors) of the field labelled `label`."""
    return page.locator(".field").filter(has=page.get_by_label(label, exact=True))


def confirmation_link(outbox: list[EmailMessage], email: str) -> str:
    sent = [m for m in outbox if email.lower() in [a.lower() for a in m.to] and "confirm" in m.subject.lower()]
    assert len(sent) == 1, [m.subject for m in outbox]
    match = CONFIRM_LINK.search(sent[0].body)
    assert match, sent[0].body
    return match.group(0)


def sign_up_and_confirm(page: Page, live_server: LiveServer, outbox: list[EmailMessage], email: str) -> None:
    """From the job page to the dashboard of a contractor whose email address is confirmed."""
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Apply now").click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    # allauth's labels end with a colon, which is part of the accessible name.
    page.get_by_label("Email:", exact=True).fill(email)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again):", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))

    link = confirmation_link(outbox, email)
    assert link.startswith(live_server.url), link
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(status(page)).to_have_text("Status: Email verified")


def fill_profile(page: Page, *, date_of_birth: str = "1995-05-05", hours: str = "15") -> None:
    about = card(page, "About you and your payouts")
    about.get_by_label("Legal name", exact=True).fill("林美")
    about.get_by_label("Display name").fill("Mei")
    about.get_by_label("Country where you live", exact=True).select_option("TW")
    about.get_by_label("Time zone").select_option("Asia/Taipei")
    about.get_by_label("Languages").select_option(["zh", "en"])
    about.get_by_label("Hours available per week").fill(hours)
    about.get_by_label("Payout method").select_option(label="Wise (email)")
    about.get_by_label("Payout email").fill("mei.lin@example.org")
    about.get_by_label("Date of birth").fill(date_of_birth)
    tax = card(page, "Tax self-certification")
    tax.get_by_role("radio", name=re.compile(r"^No:")).check()
    tax.get_by_label("Legal name for tax purposes", exact=True).fill("林美")
    tax.get_by_label("Country of tax residence", exact=True).select_option("TW")
    tax.get_by_label("Signature").fill("林美")
    tax.get_by_role("checkbox", name=re.compile(r"^I certify under penalty of perjury")).check()


@pytest.mark.django_db(transaction=True)
def test_a_contractor_signs_up_qualifies_is_approved_by_staff_and_starts_working(
    page: Page, browser: Browser, live_server: LiveServer, mailoutbox: list[EmailMessage], artifacts: Path,
    tmp_path: Path,
) -> None:
    # 1. The job page tells the rate, the hours and what is marked (/ leads to the one open job's page).
    job_plain(name="Smartphone screen defect annotation", listed=True)
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Smartphone screen defect annotation")
    expect(page.get_by_text("USD 2.00 per hour")).to_be_visible()
    expect(page.get_by_text(re.compile(r"up to 20 hours a week"))).to_be_visible()
    marked = page.get_by_role("heading", name="What you mark").locator("xpath=following-sibling::ul[1]")
    expect(marked.get_by_role("listitem")).to_have_text(
        ["Scratch", "Pit", "Blemish", "Missing surface", "Crack", "Discoloration"])

    # 2-4. Sign up with a mixed-case address, confirm it, fill the profile and the tax certification.
    sign_up_and_confirm(page, live_server, mailoutbox, "Mei.Lin@Example.org")
    contractor = Contractor.objects.select_related("user").get()
    assert contractor.user.email == "mei.lin@example.org"
    page.get_by_role("link", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your profile")
    fill_profile(page)
    page.get_by_role("button", name="Save profile").click()

    # 5. The dashboard sends them to the agreements; they accept both.
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.locator("ul.messages")).to_contain_text("Profile saved.")
    expect(status(page)).to_have_text("Status: Profile complete")
    expect(page.get_by_test_id("next-step")).to_contain_text(re.compile(r"accept the contractor agreement", re.I))
    page.get_by_role("link", name="Continue").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Contractor agreement"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^Annotation guidelines"))).to_be_visible()
    page.get_by_label("Contractor agreement (version 1)").check()
    page.get_by_label("Annotation guidelines (version 1)").check()
    page.get_by_role("button", name="Accept").click()

    # 6. Qualifying.
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(status(page)).to_have_text("Status: Qualifying")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Mei")
    page.screenshot(path=artifacts / "signup-dashboard.png", full_page=True)
    contractor.refresh_from_db()
    assert contractor.state == OnboardingState.QUALIFYING
    assert contractor.legal_name == "林美"
    assert contractor.languages == ["en", "zh"]
    assert contractor.hours_available_per_week == 15
    assert contractor.payout_method == "wise"
    assert contractor.date_of_birth == date(1995, 5, 5)
    assert contractor.tax_declarations.get().signature == "林美"
    assert contractor.acceptances.count() == 2
    # No job runs a qualification round here: nobody is told a round is ready (issue #18).
    assert not any("qualification" in m.subject for m in mailoutbox)

    # 7. Staff sign in through the same login page, in a browser context of their own, and approve.
    password_file = tmp_path / "staff-password"
    password_file.write_text(PASSWORD)
    call_command("ensure_staff_user", "--email", "Ops@Example.org", "--password-file", str(password_file))
    secret = staff_authenticator("ops@example.org")
    staff_context = browser.new_context(viewport={"width": 1280, "height": 900})
    staff = staff_context.new_page()
    try:
        staff.goto(live_server.url + "/accounts/login/")
        staff.get_by_label("Email:", exact=True).fill("ops@example.org")
        staff.get_by_label("Password:", exact=True).fill(PASSWORD)
        staff.get_by_role("button", name="Sign In").click()
        type_the_code(staff, secret)
        expect(staff).to_have_url(re.compile(r"/staff/applicants/$"))
        expect(staff.get_by_role("heading", level=1)).to_have_text("Applicants and contractors")
        staff.get_by_role("link", name="Mei", exact=True).click()
        expect(staff.get_by_role("heading", level=1)).to_have_text("Mei")
        expect(staff.get_by_test_id("state")).to_have_text("Qualifying")
        staff.get_by_label("Action").select_option(label="Approve")
        staff.get_by_label("Reason").fill("Qualification photos match the reviewed answers.")
        staff.get_by_label("Qualification score").fill("0.9")
        staff.get_by_role("button", name="Apply", exact=True).click()
        expect(staff.locator("ul.messages")).to_contain_text("now approved")
        expect(staff.get_by_test_id("state")).to_have_text("Approved")
        staff.screenshot(path=artifacts / "staff-review.png", full_page=True)
    finally:
        staff_context.close()
    contractor.refresh_from_db()
    assert contractor.state == OnboardingState.APPROVED
    assert str(contractor.qualification_score).startswith("0.9")

    # 8. Back on the contractor's dashboard: Start working.
    page.reload()
    expect(status(page)).to_have_text("Status: Approved")
    page.get_by_role("button", name="Start working").click()
    expect(status(page)).to_have_text("Status: Active")
    expect(page.locator("ul.messages")).to_contain_text("You are active")
    expect(page.get_by_role("button", name="Start working")).to_have_count(0)
    page.screenshot(path=artifacts / "dashboard-active.png", full_page=True)
    contractor.refresh_from_db()
    assert contractor.state == OnboardingState.ACTIVE


@pytest.mark.django_db(transaction=True)
def test_an_underage_birth_date_and_too_many_hours_are_refused_next_to_their_fields(
    page: Page, live_server: LiveServer, mailoutbox: list[EmailMessage],
) -> None:
    sign_up_and_confirm(page, live_server, mailoutbox, "Young.Applicant@Example.org")
    page.get_by_role("link", name="Continue").click()
    sixteen = date(date.today().year - 16, 1, 1).isoformat()
    # The hours input has max=20; the form's novalidate lets the browser send 25 for the server to refuse.
    fill_profile(page, date_of_birth=sixteen, hours="25")
    page.get_by_role("button", name="Save profile").click()

    expect(page).to_have_url(re.compile(r"/profile/$"))
    expect(page.get_by_role("alert")).to_have_text("Please correct the 2 problems below.")
    expect(field(page, "Date of birth").locator(".errorlist")).to_have_text("You must be at least 18 years old.")
    expect(field(page, "Hours available per week").locator(".errorlist")).to_have_text(
        "Ensure this value is less than or equal to 20.")
    for label, message in (("Date of birth", "at least 18"), ("Hours available per week", "less than or equal")):
        expect(page.get_by_label(label)).to_have_attribute("aria-invalid", "true")
        # The error is read out with the input: it is part of the input's accessible description.
        expect(page.get_by_label(label)).to_have_accessible_description(re.compile(message))
    expect(page.get_by_label("Display name")).to_have_value("Mei")

    page.get_by_role("link", name="Dashboard").click()
    expect(status(page)).to_have_text("Status: Email verified")
    contractor = Contractor.objects.get()
    assert contractor.state == OnboardingState.EMAIL_VERIFIED
    assert contractor.date_of_birth is None
    assert not contractor.tax_declarations.exists()

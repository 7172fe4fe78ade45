"""Notifications: each kind is kept for the dashboard and emailed in the contractor's language (after commit), the
optional kinds can be turned off by email but pay and account ones cannot, the dashboard counts the unread ones and
marks only the reader's own read, staff announcements reach only the chosen group, and the qualification email goes
out only when a round is actually opened."""
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.test.signals import setting_changed
from django.utils import translation

from annotations.services import qualification
from payroll.models import Timesheet
from payroll.services.entries import time_entry_create
from payroll.services.payruns import pay_run_execute
from payroll.services.timesheets import timesheet_decide, timesheet_submit
from tests.annotations.conftest import gold_task
from tests.factories import batch_assigned, contractor_in_state, job_plain, staff_user
from workforce.models import Contractor, Notification, NotificationKind, OnboardingState
from workforce.services.decisions import contractor_decide
from workforce.services.notifications import notification_emails_set, notify
from workforce.services.profile import contractor_ui_language_set

S = OnboardingState
K = NotificationKind
pytestmark = pytest.mark.django_db
W47 = datetime(2026, 11, 16, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    """The .mo files are built at install (./run); a bare pytest run builds them here."""
    locales = [translation.to_locale(code) for code, _ in settings.LANGUAGES if code != "en"]
    call_command("compilemessages", locale=locales, verbosity=0)
    setting_changed.send(sender=None, setting="LOCALE_PATHS", value=settings.LOCALE_PATHS, enter=False)


@pytest.fixture
def commits(django_capture_on_commit_callbacks: Callable) -> Callable:
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def active() -> Contractor:
    contractor = contractor_in_state(S.ACTIVE, display_name="Ana", timezone_name="Asia/Manila")
    mail.outbox.clear()
    Notification.objects.filter(contractor=contractor).delete()  # approved, active: told on the way here
    return contractor


def _texts(contractor: Contractor) -> list[str]:
    client = Client()
    client.force_login(contractor.user)
    page = client.get("/notifications/").content.decode()
    return [re.sub(r"\s+", " ", t) for t in re.findall(r'data-testid="notice">(.*?)</li>', page, re.S)]


def test_batch_assigned_is_told_in_spanish_with_the_due_time_on_their_clock(active: Contractor,
                                                                             commits: Callable) -> None:
    contractor_ui_language_set(contractor=active, language="es")
    job = job_plain(name="Pantallas")
    job.deadline_hours = 48
    job.save(update_fields=["deadline_hours"])
    with commits():
        batch = batch_assigned(active, job=job, since=datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    notice = Notification.objects.get(contractor=active, kind=K.BATCH_ASSIGNED)
    assert notice.params["job"] == "Pantallas"
    assert notice.params["number"] == batch.number
    assert [m.to for m in mail.outbox] == [[active.user.email]]
    email = mail.outbox[0]
    assert email.subject == "LabelCrew: un lote nuevo para ti"
    # Due 48 h after 09:00 UTC on 2 November = 17:00 on 4 November in Manila (UTC+8), and the zone is named.
    assert f"El lote {batch.number} de Pantallas es tuyo." in email.body
    assert "17:00" in email.body
    assert "Asia/Manila" in email.body
    assert "Hola Ana," in email.body
    assert "/profile/" in email.body  # this kind can be turned off
    client = Client()
    client.force_login(active.user)
    client.cookies["django_language"] = "es"
    dashboard = client.get("/dashboard/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert f"El lote {batch.number} de Pantallas es tuyo." in dashboard
    assert "Asia/Manila" in dashboard


def test_the_dashboard_renders_in_the_readers_current_language(active: Contractor) -> None:
    notify(contractor=active, kind=K.QUALIFICATION)
    client = Client()
    client.force_login(active.user)
    assert "Your qualification round is ready." in client.get("/notifications/").content.decode()
    contractor_ui_language_set(contractor=active, language="fr")
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    assert "Votre épreuve de qualification est prête." in client.get("/notifications/").content.decode()


def test_cap_warnings_are_notifications_too(active: Contractor, commits: Callable) -> None:
    batch = batch_assigned(active)
    mail.outbox.clear()
    Notification.objects.all().delete()
    with commits():
        time_entry_create(contractor=active, batch=batch, start=datetime(2026, 11, 23, 0, tzinfo=UTC),
                          end=datetime(2026, 11, 23, 12, tzinfo=UTC), actor=active.user,
                          now=datetime(2026, 11, 25, 12, tzinfo=UTC))
        time_entry_create(contractor=active, batch=batch, start=datetime(2026, 11, 24, 0, tzinfo=UTC),
                          end=datetime(2026, 11, 24, 4, tzinfo=UTC), actor=active.user,
                          now=datetime(2026, 11, 25, 12, tzinfo=UTC))
    assert list(Notification.objects.filter(contractor=active).values_list("kind", flat=True)) == [K.CAP]
    assert [m.subject for m in mail.outbox] == ["LabelCrew: 80% of your weekly hours used (2026-W48)"]
    assert "You have used 80% of this week" in _texts(active)[0]


def _week(contractor: Contractor, staff: object) -> Timesheet:
    batch = batch_assigned(contractor)
    time_entry_create(contractor=contractor, batch=batch, start=datetime(2026, 11, 17, 9, tzinfo=UTC),
                      end=datetime(2026, 11, 17, 12, tzinfo=UTC), actor=contractor.user,
                      now=datetime(2026, 11, 22, 23, tzinfo=UTC))
    sheet = Timesheet.objects.get(contractor=contractor, week_start=W47)
    # W47 has ended at Monday 00:00 UTC.
    return timesheet_submit(timesheet=sheet, actor=contractor.user, now=datetime(2026, 11, 23, tzinfo=UTC))


def test_week_rejected_with_the_reason_then_approved_then_paid(active: Contractor, commits: Callable) -> None:
    staff = staff_user(role="payroll")
    sheet = _week(active, staff)
    mail.outbox.clear()
    Notification.objects.all().delete()
    with commits():
        timesheet_decide(timesheet=sheet, approve=False, actor=staff, reason="Tuesday twice")
    assert mail.outbox[-1].subject == "LabelCrew: your week 2026-W47"
    assert "were sent back" in mail.outbox[-1].body
    assert "Reason: Tuesday twice" in mail.outbox[-1].body
    timesheet_submit(timesheet=sheet, actor=active.user, now=datetime(2026, 11, 23, 1, tzinfo=UTC))
    with commits():
        timesheet_decide(timesheet=sheet, approve=True, actor=staff)
    assert "Your hours for the week 2026-W47 were approved." in mail.outbox[-1].body
    with commits():
        run = pay_run_execute(week_start=W47, actor=staff, minimum_payout=Decimal("0"))
    statement = run.statements.get()
    assert statement.payable == Decimal("6.00")  # 3 h at USD 2.00
    assert mail.outbox[-1].subject == "LabelCrew: you were paid"
    assert "You were paid USD 6.00 for the week 2026-W47, to your PayPal account." in mail.outbox[-1].body
    assert [n.split("</time> ")[1].strip()[:27] for n in _texts(active)] == [
        "You were paid USD 6.00 for ", "Your hours for the week 202", "Your hours for the week 202"]


def test_paused_and_resumed_say_why(active: Contractor, commits: Callable) -> None:
    staff = staff_user(role="operations", mfa=False)
    with commits():
        contractor_decide(contractor=active, action="pause", actor=staff, reason="masks too coarse")
        contractor_decide(contractor=active, action="resume", actor=staff, reason="masks are fine now")
    assert [m.subject for m in mail.outbox] == ["LabelCrew: your work is paused", "LabelCrew: you can now get batches"]
    assert "Reason: masks too coarse" in mail.outbox[0].body
    assert "Reason: masks are fine now" in mail.outbox[1].body
    texts = _texts(active)
    assert "You are active" in texts[0]
    assert "masks are fine now" in texts[0]
    assert "You get no new batches for now." in texts[1]
    assert "masks too coarse" in texts[1]


def test_opting_out_stops_the_email_not_the_notification_nor_pay_and_account_emails(
        active: Contractor, commits: Callable) -> None:
    client = Client()
    client.force_login(active.user)
    assert client.post("/notifications/emails/", {"emails-emails_on": ["rework", "cap"]}).status_code == 302
    active.refresh_from_db()
    assert active.emails_off == ["announcement", "batch_assigned"]
    with commits():
        batch_assigned(active)
        notify(contractor=active, kind=K.ANNOUNCEMENT, text="Office closed Friday")
        notify(contractor=active, kind=K.PAID, amount="1.00", currency="USD", method="wise", week="2026-W47")
        notify(contractor=active, kind=K.ACCOUNT, state=S.PAUSED, from_state=S.ACTIVE, reason="holiday")
    assert Notification.objects.filter(contractor=active).count() == 4
    assert [m.subject for m in mail.outbox] == ["LabelCrew: you were paid", "LabelCrew: your work is paused"]
    with pytest.raises(Exception, match="cannot be chosen"):
        notification_emails_set(contractor=active, emails_on=["paid"])
    page = client.get("/profile/").content.decode()
    assert 'value="rework"' in page
    assert 'value="paid"' not in page


def test_unread_count_and_mark_read_own_only(active: Contractor) -> None:
    other = contractor_in_state(S.ACTIVE)
    Notification.objects.all().delete()
    mine = [notify(contractor=active, kind=K.ANNOUNCEMENT, text=f"note {i}") for i in range(3)]
    theirs = notify(contractor=other, kind=K.ANNOUNCEMENT, text="theirs")
    client = Client()
    client.force_login(active.user)
    dashboard = client.get("/dashboard/").content.decode()
    assert re.search(r'data-testid="unread">\s*3 new', dashboard)
    assert "note 2" in dashboard
    assert "theirs" not in dashboard
    assert client.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    assert client.get(f"/notifications/{mine[0].pk}/read/").status_code == 405
    assert client.post(f"/notifications/{mine[0].pk}/read/", {"next": "/dashboard/"})["Location"] == "/dashboard/"
    assert client.post(f"/notifications/{mine[0].pk}/read/", {"next": "https://evil.example/"})["Location"] \
        == "/notifications/"
    assert re.search(r'data-testid="unread">\s*2 new', client.get("/dashboard/").content.decode())
    client.post("/notifications/read/")
    assert Notification.objects.filter(contractor=active, read_at__isnull=True).count() == 0
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert 'data-testid="unread"' not in client.get("/dashboard/").content.decode()


def test_an_announcement_reaches_only_the_filtered_group(commits: Callable) -> None:
    ke = contractor_in_state(S.ACTIVE, country="KE")
    ph = contractor_in_state(S.ACTIVE, country="PH")
    paused_ke = contractor_in_state(S.PAUSED, country="KE")
    applicant = contractor_in_state(S.QUALIFYING, country="KE")
    reviewer = staff_user(role="reviewer", mfa=False)
    operations = staff_user(role="operations", mfa=False)
    client = Client()
    client.force_login(reviewer)
    assert client.get("/staff/announcement/").status_code == 403
    client.force_login(operations)
    assert client.get("/staff/announcement/").status_code == 200
    mail.outbox.clear()
    with commits():
        answer = client.post("/staff/announcement/", {"text": "Kenya: new job on Monday", "countries": ["KE"]})
    assert answer.status_code == 302
    reached = set(Notification.objects.filter(kind=K.ANNOUNCEMENT).values_list("contractor_id", flat=True))
    assert reached == {ke.pk}
    assert [m.to for m in mail.outbox] == [[ke.user.email]]
    assert "Kenya: new job on Monday" in mail.outbox[0].body
    with commits():
        client.post("/staff/announcement/", {"text": "Paused or active", "states": [S.PAUSED, S.ACTIVE]})
    assert set(Notification.objects.filter(params__text="Paused or active").values_list("contractor_id", flat=True)) \
        == {ke.pk, ph.pk, paused_ke.pk}
    assert not Notification.objects.filter(contractor=applicant, kind=K.ANNOUNCEMENT).exists()
    page = client.post("/staff/announcement/", {"text": "  "}).content.decode()
    assert "This field is required" in page or "write the message" in page


def test_qualification_email_only_when_a_round_is_opened(commits: Callable) -> None:
    with commits():
        waiting = contractor_in_state(S.QUALIFYING)
    assert not [m for m in mail.outbox if m.to == [waiting.user.email]]  # no job runs a round
    assert not Notification.objects.filter(contractor=waiting).exists()
    job = job_plain()
    for _ in range(3):
        gold_task(job)
    qualification.job_qualification_set(job=job, tasks=2)
    mail.outbox.clear()
    with commits():
        qualification.qualification_round_open(contractor=waiting)
        qualification.qualification_round_open(contractor=waiting)  # found again: told once
    assert [m.subject for m in mail.outbox] == ["LabelCrew: your qualification round is ready"]
    assert Notification.objects.filter(contractor=waiting, kind=K.QUALIFICATION).count() == 1


def test_time_zone_is_utc_without_one(commits: Callable) -> None:
    contractor = contractor_in_state(S.ACTIVE)
    contractor.timezone = ""
    contractor.save(update_fields=["timezone"])
    mail.outbox.clear()
    with commits(), time_machine.travel(datetime(2026, 11, 2, 9, tzinfo=UTC), tick=False):
        batch_assigned(contractor, since=datetime(2026, 11, 2, 9, tzinfo=UTC))
    assert "(UTC)" in mail.outbox[0].body

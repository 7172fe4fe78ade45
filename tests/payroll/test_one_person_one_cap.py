"""One person, one cap: accounts sharing a payout mailbox (or legal name and date of birth) share the weekly cap,
are held for staff review, and a pay run pays one cap's worth to one payout address; payout changes hold pay."""
from datetime import timedelta

import pytest
from django.utils import timezone

from annotations.models import Batch
from annotations.services.assignment import batch_assign
from common.errors import CapExceeded, DomainError
from payroll.models import Statement, Timesheet, TimesheetState
from payroll.selectors.held_pay import held_pay_notes
from payroll.services.entries import time_entry_create
from payroll.services.payruns import pay_run_execute
from payroll.services.timesheets import timesheet_decide, timesheet_submit
from tests.factories import TEST_PASSWORD, batch_assigned, contractor_in_state, job_plain, profile_data, staff_user
from tests.payroll.conftest import NOW, at
from workforce.models import Contractor, OnboardingState, User, normalize_payout_address
from workforce.selectors.standing import can_receive_batches
from workforce.services.profile import payout_release, profile_update

pytestmark = pytest.mark.django_db
S = OnboardingState
W47 = at(16, 0)
TWENTY_HOURS = [(at(day, 8), at(day, 12)) for day in range(16, 21)]  # Mon-Fri of 2026-W47, 4 h each


def log(contractor: Contractor, batch: Batch, spans: list[tuple]) -> None:
    for start, end in spans:
        time_entry_create(contractor=contractor, batch=batch, start=start, end=end, actor=contractor.user,
                          now=at(22, 23))


def approve_w47(contractor: Contractor, staff: User) -> Timesheet:
    sheet = Timesheet.objects.get(contractor=contractor, week_start=W47)
    timesheet_submit(timesheet=sheet, actor=contractor.user, now=at(23, 0))  # Monday 00:00 UTC: W47 has ended
    return timesheet_decide(timesheet=sheet, approve=True, actor=staff, now=NOW)


def change_payout(contractor: Contractor, payout_email: str) -> None:
    contractor.refresh_from_db()
    profile_update(contractor=contractor, **profile_data(
        legal_name=contractor.legal_name, date_of_birth=contractor.date_of_birth, payout_email=payout_email),
        current_password=TEST_PASSWORD, ip_address="198.51.100.4")


def test_gmail_addresses_are_one_mailbox_and_other_providers_keep_dots_and_tags() -> None:
    assert normalize_payout_address(" Ana.Lucia+pay@GoogleMail.com") == "analucia@gmail.com"
    assert normalize_payout_address("ana.lucia@gmail.com") == "analucia@gmail.com"
    assert normalize_payout_address("Ana.Lucia+pay@Example.com") == "ana.lucia+pay@example.com"


def test_a_second_account_with_the_same_payout_mailbox_is_held_and_shares_the_first_ones_cap() -> None:
    staff = staff_user(role="operations", mfa=False)
    first = contractor_in_state(S.ACTIVE, payout_email="ana.lucia@gmail.com")
    log(first, batch_assigned(first), TWENTY_HOURS)
    second = contractor_in_state(S.ACTIVE, payout_email="AnaLucia+labelcrew@googlemail.com",
                                 legal_name="Someone Else")
    second.refresh_from_db()
    assert f"contractor #{first.pk}" in second.link_evidence
    assert "the same payout address (analucia@gmail.com)" in second.link_evidence
    assert not can_receive_batches(second)
    with pytest.raises(DomainError):
        batch_assign(batch=Batch.objects.create(job=job_plain(), number=1), contractor=second, actor=None)
    # The evidence is on the staff applicant page; releasing lets batches through, the cap stays shared.
    payout_release(contractor=second, actor=staff)
    assert can_receive_batches(second)
    with pytest.raises(CapExceeded) as refused:
        log(second, batch_assigned(second), [(at(21, 8), at(21, 9))])
    assert refused.value.remaining_minutes == 0
    assert not Timesheet.objects.filter(contractor=second, work_minutes__gt=0).exists()


def test_the_same_legal_name_and_date_of_birth_links_accounts_with_different_addresses() -> None:
    first = contractor_in_state(S.ACTIVE)
    second = contractor_in_state(S.ACTIVE, legal_name=first.legal_name.upper(), date_of_birth=first.date_of_birth)
    second.refresh_from_db()
    assert "the same legal name and date of birth" in second.link_evidence
    first.refresh_from_db()
    assert first.link_evidence == ""  # the first account keeps working; the newcomer is the one reviewed


def test_two_accounts_with_one_payout_address_cannot_both_be_paid_for_20_h() -> None:
    staff = staff_user()
    ana = contractor_in_state(S.ACTIVE, payout_email="ana.lucia@gmail.com")
    alias = contractor_in_state(S.ACTIVE, payout_email="alias@example.org", legal_name="Ana Alias")
    log(ana, batch_assigned(ana), TWENTY_HOURS)
    log(alias, batch_assigned(alias), TWENTY_HOURS)  # not linked yet: its own cap
    change_payout(alias, "ana.lucia+2@gmail.com")  # now both are paid to one mailbox
    approve_w47(ana, staff)
    approve_w47(alias, staff)

    run = pay_run_execute(week_start=W47, actor=staff)
    assert [s.contractor_id for s in run.statements.all()] == [ana.pk]
    notes = held_pay_notes(week_start=W47)
    assert len(notes) == 1
    assert f"contractor #{alias.pk} is held for review" in notes[0]

    # Staff release the review and the 72-hour hold: the mailbox was still paid for one cap this week.
    payout_release(contractor=alias, actor=staff)
    assert pay_run_execute(week_start=W47, actor=staff) is None
    notes = held_pay_notes(week_start=W47)
    assert len(notes) == 1
    assert "past one weekly cap (20 h); one person, one cap" in notes[0]
    assert Statement.objects.count() == 1
    assert Timesheet.objects.get(contractor=alias, week_start=W47).state == TimesheetState.APPROVED


def test_a_payout_change_holds_the_next_pay_run_until_staff_release_it() -> None:
    staff = staff_user()
    ana = contractor_in_state(S.ACTIVE)
    log(ana, batch_assigned(ana), [(at(17, 9), at(17, 11))])
    change_payout(ana, "ana.new@example.net")
    ana.refresh_from_db()
    assert ana.payout_held_until > timezone.now() + timedelta(hours=71)
    approve_w47(ana, staff)
    assert pay_run_execute(week_start=W47, actor=staff) is None
    assert "changed the payout method or address" in held_pay_notes(week_start=W47)[0]
    payout_release(contractor=ana, actor=staff)
    statement = pay_run_execute(week_start=W47, actor=staff).statements.get()
    assert (statement.contractor_id, statement.payout_email, statement.minutes) == (ana.pk, "ana.new@example.net",
                                                                                   120)
    assert ana.payout_changes.get().released_by == staff

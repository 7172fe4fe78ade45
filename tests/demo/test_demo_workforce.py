"""load_demo_workforce: a crew across countries, weeks under the cap with some at it, flags, a Monday split."""
import itertools
import random
from collections.abc import Callable
from datetime import time, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Sum

from annotations.models import Annotation, AssignmentEvent, Batch, Job
from common.errors import DomainError
from demo.people import demo_email
from demo.workforce import COUNTRIES, DEMO_JOB_NAME, WeekPlan, demo_workforce_load, week_sessions
from payroll.models import EntryKind, TimeEntry, Timesheet, TimesheetState
from payroll.selectors.evidence import evidence_by_contractor, timesheet_flags
from payroll.selectors.weeks import WEEK, week_parse
from tests.factories import job_plain
from tests.payroll.conftest import NOW, W48, at
from workforce.models import Contractor, OnboardingState, OnboardingTransition, User

pytestmark = pytest.mark.django_db
W47 = at(16, 0)
STAFF = "payroll-staff@labelcrew.local"
CAP = 20 * 60


def load(*args: str) -> str:
    out = StringIO()
    call_command("load_demo_workforce", "--contractors", "8", "--week", "2026-W47", "--seed", "7",
                 "--staff-email", STAFF, *args, stdout=out)
    return out.getvalue()


def week_minutes() -> dict[str, int]:
    """Work minutes per demo contractor in W47, summed from the entries themselves."""
    rows = (TimeEntry.objects.filter(kind=EntryKind.WORK, timesheet__week_start=W47)
            .values("contractor__user__email").annotate(minutes=Sum("minutes")).order_by())
    return {r["contractor__user__email"]: r["minutes"] for r in rows}


def row_counts() -> dict[str, int]:
    models = (User, Contractor, OnboardingTransition, Batch, AssignmentEvent, TimeEntry, Timesheet, Annotation)
    return {model.__name__: model.objects.count() for model in models}


def test_small_crew_is_onboarded_across_countries_through_the_services() -> None:
    line = load()
    crew = list(Contractor.objects.select_related("user").order_by("user__email"))
    assert [c.user.email for c in crew] == [demo_email(n) for n in range(1, 9)]
    assert demo_email(8) == "demo-contractor-8@labelcrew.local"  # the one scheme the README and the banner print
    assert {c.state for c in crew} == {OnboardingState.ACTIVE}
    assert len({c.country for c in crew}) >= 5
    assert all(c.timezone and c.payout_method in ("paypal", "wise") and c.payout_email for c in crew)
    assert all(c.transitions.filter(to_state=OnboardingState.APPROVED, actor__email=STAFF).exists() for c in crew)
    assert any(not c.legal_name.isascii() for c in crew)  # names in their own scripts
    assert line.count("\n") == 1
    assert line.startswith("2026-W47: 8 demo contractors (8 new, 0 existing);")


def test_no_week_passes_the_cap_and_at_least_one_is_exactly_at_it() -> None:
    load()
    minutes = week_minutes()
    assert len(minutes) == 8
    assert max(minutes.values()) == CAP
    for sheet in Timesheet.objects.filter(week_start=W47).select_related("contractor__user"):
        assert sheet.work_minutes == minutes[sheet.contractor.user.email] <= CAP


def test_hours_fall_in_sessions_of_25_to_180_minutes_at_local_daytime() -> None:
    load()
    for entry in TimeEntry.objects.filter(timesheet__week_start=W47, start__gt=W47).select_related("contractor"):
        local = entry.start.astimezone(ZoneInfo(entry.contractor.timezone))
        assert 25 <= entry.minutes <= 180
        assert 7 <= local.hour < 22


def test_an_entry_across_monday_is_split_into_both_weeks() -> None:
    load()
    before = TimeEntry.objects.get(end=W47)
    after = TimeEntry.objects.get(start=W47)
    assert before.contractor_id == after.contractor_id
    assert before.timesheet.week_start == W47 - WEEK
    assert before.timesheet.state == TimesheetState.DRAFT  # the earlier week is not the demo's to submit


def test_evidence_flags_some_weeks_and_backs_the_others() -> None:
    load()
    sheets = list(Timesheet.objects.filter(week_start=W47))
    evidence = evidence_by_contractor([s.contractor_id for s in sheets], week_start=W47)
    flags = {s.contractor_id: timesheet_flags(minutes=s.work_minutes, evidence=evidence.get(s.contractor_id))
             for s in sheets}
    flagged = [cid for cid, reasons in flags.items() if reasons]
    assert ["no annotations"] in flags.values()
    assert any(r and r[0].startswith("logged more than") for r in flags.values())
    assert len(flagged) < len(sheets) / 2
    for sheet in sheets:
        if not flags[sheet.contractor_id]:
            seconds = evidence[sheet.contractor_id].active_seconds
            assert sheet.work_minutes * 60 / seconds <= 1.5
    made = Annotation.objects.values_list("ls_annotation_id", "ls_created_at", "contractor_id")
    assert min(ls_id for ls_id, _, _ in made) > 1_000_000_000
    assert all(W47 <= at_ < W47 + WEEK for _, at_, _ in made)


def test_ended_week_is_submitted(mailoutbox: list, django_capture_on_commit_callbacks: Callable) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        line = load()
    assert set(Timesheet.objects.filter(week_start=W47).values_list("state", flat=True)) == {TimesheetState.SUBMITTED}
    assert "8 timesheets submitted" in line
    assert any("weekly hour limit" in m.subject for m in mailoutbox)  # the one at the cap was told


def test_running_again_creates_nothing_new() -> None:
    load()
    counts = row_counts()
    line = load()
    assert row_counts() == counts
    assert "(0 new, 8 existing); 0 time entries made" in line


def test_a_larger_crew_later_keeps_the_first_and_adds_the_rest() -> None:
    load()
    first = week_minutes()
    call_command("load_demo_workforce", "--contractors", "10", "--week", "2026-W47", "--seed", "7",
                 "--staff-email", STAFF, stdout=StringIO())
    minutes = week_minutes()
    assert len(minutes) == 10
    assert {email: minutes[email] for email in first} == first


def test_same_seed_gives_the_same_minutes_and_another_seed_other_ones() -> None:
    def minutes_of(seed: str) -> dict[str, int]:
        """The crew's minutes of one run, undone afterwards so the next run starts from nothing."""
        with transaction.atomic():
            load("--seed", seed)
            minutes = week_minutes()
            transaction.set_rollback(True)
        return minutes

    first = minutes_of("7")
    assert not TimeEntry.objects.exists()
    assert minutes_of("7") == first
    assert minutes_of("8") != first


def test_hours_go_to_one_demo_job_of_its_own_never_published_to_label_studio() -> None:
    label_studio_job = job_plain(name="Smartphone screen defects (1368x912)")
    load()
    load("--week", "2026-W46")
    job = Job.objects.get(name=DEMO_JOB_NAME)
    assert set(TimeEntry.objects.values_list("job_id", flat=True)) == {job.pk}
    assert not label_studio_job.batches.exists()
    batches = list(Batch.objects.filter(job=job))
    assert len(batches) == 16  # one per contractor and week
    assert all(b.ls_project_id is None and b.published_at is None and b.assigned_to_id for b in batches)


def test_running_week_is_logged_only_up_to_now_and_left_in_draft() -> None:
    summary = demo_workforce_load(contractors=4, week_start=W48, seed=7, staff_email=STAFF, now=NOW)
    assert TimeEntry.objects.exists()
    assert max(TimeEntry.objects.values_list("end", flat=True)) <= NOW
    assert set(Timesheet.objects.values_list("state", flat=True)) == {TimesheetState.DRAFT}
    assert summary.submitted == 0


@pytest.mark.parametrize(("week", "words"), [
    ("2026-48", "--week: write the ISO week as YYYY-Www"),
    ("2026-W54", "--week: 2026-W54 is not a week of that year"),
    ("2099-W01", "week: 2099-W01 has not started yet"),
])
def test_bad_week_is_a_one_line_error_and_makes_nothing(week: str, words: str) -> None:
    with pytest.raises(CommandError) as exc:
        call_command("load_demo_workforce", "--week", week, "--staff-email", STAFF, stdout=StringIO())
    assert words in str(exc.value)
    assert "\n" not in str(exc.value)
    assert not Contractor.objects.exists()


def test_crew_size_out_of_range_is_refused() -> None:
    with pytest.raises(CommandError, match="contractors: between 1 and 999"):
        load("--contractors", "0")
    assert not User.objects.filter(email__startswith="demo-contractor-").exists()


def test_staff_email_of_a_contractor_is_refused() -> None:
    User.objects.create_user(email=STAFF, password=None)
    with pytest.raises(CommandError, match="is not a staff user"):
        load()
    assert not Contractor.objects.exists()


def test_week_start_is_a_monday() -> None:
    with pytest.raises(DomainError, match="Monday 00:00 UTC"):
        demo_workforce_load(contractors=1, week_start=W47 + timedelta(hours=1), seed=7, now=NOW)


PLANS = [(300, False), (900, True), (1080, False), (CAP, False), (CAP, True), (25, False)]
SESSION_WEEKS = ("2026-W13", "2026-W44", "2026-W47")  # the first two change summer time in Europe


@pytest.mark.parametrize("zone", sorted({zone for country in COUNTRIES for zone in country.timezones}))
def test_sessions_fill_the_plan_exactly_without_overlap_in_local_daytime(zone: str) -> None:
    for week, (minutes, crosses), seed in itertools.product(SESSION_WEEKS, PLANS, range(10)):
        week_start = week_parse(week)
        plan = WeekPlan(minutes=minutes, crosses_monday=crosses, evidence_ratio=1.0, submits=True)
        sessions = week_sessions(plan=plan, week_start=week_start, zone=ZoneInfo(zone), rng=random.Random(seed))
        inside = [(max(start, week_start), end) for start, end in sessions if end > week_start]
        assert sum((end - start) // timedelta(minutes=1) for start, end in inside) == minutes
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(sessions))
        assert all(end <= week_start + WEEK for _, end in sessions)
        assert (sessions[0][0] < week_start) == crosses
        for start, end in sessions[1:] if crosses else sessions:
            assert 25 <= (end - start) // timedelta(minutes=1) <= 180
            local_start, local_end = start.astimezone(ZoneInfo(zone)), end.astimezone(ZoneInfo(zone))
            assert local_start.date() == local_end.date()
            assert time(7) <= local_start.time()
            assert local_end.time() <= time(22)

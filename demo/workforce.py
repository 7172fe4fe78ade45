"""Demo workforce: active contractors from many countries with a realistic pay week of hours and evidence.

Everything goes through the apps' services (onboarding, job creation, backfilled batches and annotations,
time entries, timesheet submission), so the demo's timesheets, flags and exports show what production
would. The same seed gives the same people and the same week; running it again adds nothing.
"""
import math
import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from PIL import Image

from annotations.models import AssignmentEvent, Batch, BatchState, Job
from annotations.services.backfill import BackfilledAnnotation, annotations_backfill, batch_backfill
from annotations.services.jobs import job_create, specs_from_folder
from common.errors import DomainError
from demo.people import DemoPerson, demo_contractor_activate, demo_email, demo_staff, demo_user
from payroll.models import TimeEntry, Timesheet, TimesheetState
from payroll.selectors.amounts import minutes_as_hmm
from payroll.selectors.evidence import evidence_by_contractor, timesheet_flags
from payroll.selectors.terms import pay_terms_at
from payroll.selectors.weeks import WEEK, week_name, week_start_utc
from payroll.services.entries import EDITABLE, time_entry_create
from payroll.services.timesheets import timesheet_submit
from workforce.models import Contractor, User

STAFF_EMAIL = "staff@labelcrew.local"
MAX_CONTRACTORS = 999
DEMO_JOB_NAME = "Smartphone screen defects (demo hours)"
DEMO_TASKS = 20
DEMO_PHOTO_SIZE = (1368, 912)
TASKS_PER_BATCH = 10
# Label Studio numbers its annotations from 1; demo ones start far above, one block per week and contractor.
LS_ID_BASE, LS_IDS_PER_WEEK, LS_IDS_PER_CONTRACTOR = 1_000_000_000, 200_000, 200
SESSION_MINUTES = (25, 180)
DAY_OPENS, DAY_CLOSES = time(7), time(22)  # local hours a session may fall in
# Sessions are spread over enough days that no day holds more than about 8 hours of work.
MINUTES_PER_DAY = 300


@dataclass(frozen=True)
class Country:
    code: str
    timezones: tuple[str, ...]
    languages: tuple[str, ...]
    people: tuple[tuple[str, str], ...]  # (legal name, display name) in the names' own script


COUNTRIES = (
    Country("PH", ("Asia/Manila",), ("en",), (
        ("Maria Cristina Santos", "Cristina"), ("Jose Miguel Reyes", "Miguel"), ("Angelica Dela Cruz", "Angelica"))),
    Country("IN", ("Asia/Kolkata",), ("en", "hi"), (
        ("अनन्या शर्मा", "अनन्या"), ("Rahul Verma", "Rahul"), ("Priya Nair", "Priya"))),
    Country("KE", ("Africa/Nairobi",), ("en", "sw"), (
        ("Wanjiru Kamau", "Wanjiru"), ("Brian Otieno", "Brian"), ("Achieng' Odhiambo", "Achieng'"))),
    Country("NG", ("Africa/Lagos",), ("en",), (
        ("Chiamaka Okafor", "Chiamaka"), ("Oluwaseun Adéyẹmí", "Seun"), ("Abubakar Sani", "Abubakar"))),
    Country("BR", ("America/Sao_Paulo", "America/Manaus"), ("pt", "en"), (
        ("João Conceição", "João"), ("Luíza Gonçalves", "Luíza"), ("Thiago Araújo", "Thiago"))),
    Country("MX", ("America/Mexico_City", "America/Monterrey"), ("es", "en"), (
        ("José Ramírez Núñez", "José"), ("Ximena Peña", "Ximena"), ("Itzel Hernández", "Itzel"))),
    Country("VE", ("America/Caracas",), ("es",), (
        ("Andrés Pérez", "Andrés"), ("María Fernanda Rodríguez", "Mafe"), ("Yusleidy Márquez", "Yusleidy"))),
    Country("CO", ("America/Bogota",), ("es", "en"), (
        ("Camila Muñoz", "Camila"), ("Sebastián Gutiérrez", "Sebastián"), ("Valentina Ospina", "Valentina"))),
    Country("PK", ("Asia/Karachi",), ("ur", "en"), (
        ("عائشہ خان", "عائشہ"), ("Bilal Ahmed", "Bilal"), ("Zainab Qureshi", "Zainab"))),
    Country("BD", ("Asia/Dhaka",), ("bn", "en"), (
        ("তানভীর হাসান", "তানভীর"), ("Nusrat Jahan", "Nusrat"), ("Rafiqul Islam", "Rafiq"))),
    Country("EG", ("Africa/Cairo",), ("ar", "en"), (
        ("محمد عبد الله", "محمد"), ("Nour El-Sayed", "Nour"), ("مريم حسن", "مريم"))),
    Country("ID", ("Asia/Jakarta", "Asia/Makassar"), ("id", "en"), (
        ("Siti Rahmawati", "Siti"), ("Budi Santoso", "Budi"), ("Made Wirawan", "Made"))),
    Country("VN", ("Asia/Ho_Chi_Minh",), ("vi", "en"), (
        ("Nguyễn Thị Hương", "Hương"), ("Trần Văn Đức", "Đức"), ("Phạm Minh Châu", "Châu"))),
    Country("UA", ("Europe/Kyiv",), ("uk", "en"), (
        ("Олена Коваленко", "Олена"), ("Андрій Шевченко", "Андрій"), ("Ірина Бондаренко", "Ірина"))),
    Country("RO", ("Europe/Bucharest",), ("ro", "en"), (
        ("Ioana Popescu", "Ioana"), ("Ștefan Dumitrescu", "Ștefan"), ("Mădălina Țurcanu", "Mădălina"))),
    Country("PL", ("Europe/Warsaw",), ("pl", "en"), (
        ("Łukasz Wójcik", "Łukasz"), ("Zofia Kamińska", "Zosia"), ("Małgorzata Żak", "Gosia"))),
    Country("JP", ("Asia/Tokyo",), ("ja", "en"), (
        ("佐藤 花子", "花子"), ("鈴木 健太", "健太"), ("高橋 美咲", "美咲"))),
    Country("CN", ("Asia/Shanghai",), ("zh", "en"), (
        ("李娜", "李娜"), ("张伟", "张伟"), ("王秀英", "秀英"))),
    Country("SA", ("Asia/Riyadh",), ("ar", "en"), (
        ("فاطمة الزهراني", "فاطمة"), ("عبدالرحمن القحطاني", "عبدالرحمن"), ("نورة العتيبي", "نورة"))),
    Country("IL", ("Asia/Jerusalem",), ("he", "en"), (
        ("נועה לוי", "נועה"), ("יוסי כהן", "יוסי"), ("Tamar Mizrahi", "Tamar"))),  # noqa: RUF001 - Hebrew, not look-alikes
    Country("GR", ("Europe/Athens",), ("el", "en"), (
        ("Γιώργος Παπαδόπουλος", "Γιώργος"), ("Ελένη Νικολάου", "Ελένη"), ("Κατερίνα Οικονόμου", "Κατερίνα"))),
)


@dataclass(frozen=True)
class CrewMember:
    person: DemoPerson
    qualification_score: Decimal


def demo_person(*, seed: int, n: int) -> CrewMember:
    """The n-th demo contractor (from 1): countries in turn, so even a small crew spans many of them."""
    rng = random.Random(f"{seed}:person:{n}")  # noqa: S311 - demo data, not a secret
    country = COUNTRIES[(n - 1) % len(COUNTRIES)]
    # Contractors from one country take its names in turn, so a crew of up to 63 has no namesakes.
    legal_name, display_name = country.people[((n - 1) // len(COUNTRIES) + seed) % len(country.people)]
    person = DemoPerson(
        legal_name=legal_name, display_name=display_name, country=country.code,
        timezone=rng.choice(country.timezones), languages=country.languages,
        hours_available=rng.randint(10, 20), payout_method=rng.choice(("paypal", "wise")),
        born=date(rng.randint(1975, 2003), rng.randint(1, 12), rng.randint(1, 28)),
    )
    return CrewMember(person=person, qualification_score=Decimal(rng.randint(60, 98)) / 100)


def demo_contractor_ensure(*, email: str, member: CrewMember, staff: User) -> tuple[Contractor, bool]:
    """The active contractor with this email, onboarded through the real services; True when the user is new."""
    user, created = demo_user(email)
    contractor = demo_contractor_activate(user=user, person=member.person, staff=staff,
                                          qualification_score=member.qualification_score,
                                          source="manage.py load_demo_workforce")
    return contractor, created


def _demo_photos() -> Path:
    """Plain grey frames under VAR_DIR (where job photos live), one shade each so no two are the same photo."""
    folder = settings.VAR_DIR / "demo-hours"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, DEMO_TASKS + 1):
        path = folder / f"demo-hours-{i:03d}.jpg"
        if not path.is_file():
            Image.new("RGB", DEMO_PHOTO_SIZE, (60 + 8 * i,) * 3).save(path, quality=80)
    return folder


def demo_job(*, staff: User) -> Job:
    """The job the demo crew's hours are logged on, made on the first run through job creation.

    It is kept apart from load_demo_job's job: that command publishes every batch of its job to Label
    Studio, and the sync then marks annotations Label Studio does not know as deleted, which would wipe
    the demo crew's evidence. Its photos are plain frames; no page shows them.
    """
    job = Job.objects.filter(name=DEMO_JOB_NAME).order_by("id").first()
    if job is not None:
        return job
    folder = _demo_photos()
    job, _ = job_create(
        name=DEMO_JOB_NAME, client="Refurb Co",
        instructions="Paint every visible screen defect with the brush, one label per defect.",
        specs=specs_from_folder(folder), image_source=str(folder), actor=staff,
    )
    return job


def demo_batch_hand_over(*, contractor: Contractor, job: Job, staff: User, reason: str, at: datetime,
                         started_at: datetime | None = None, state: str = BatchState.ASSIGNED,
                         handed_in_at: datetime | None = None) -> Batch:
    """A new batch of `job` given to the contractor at `at`, audited like an assignment; never published, so
    Label Studio never sees it (the sync reads only published batches)."""
    return batch_backfill(job=job, contractor=contractor, actor=staff, reason=reason, assigned_at=at,
                          started_at=started_at, state=state, size=TASKS_PER_BATCH, handed_in_at=handed_in_at)


# --- one contractor's week ------------------------------------------------------------------------------

@dataclass(frozen=True)
class WeekPlan:
    """What the n-th demo contractor does in the week: how much, across Monday or not, how much evidence."""

    minutes: int  # work minutes inside the week
    crosses_monday: bool  # one session starts on the Sunday before and is split at Monday 00:00 UTC
    evidence_ratio: float | None  # Label Studio active time / logged time; None: no annotation at all
    submits: bool


def week_plan(*, seed: int, n: int, week: str, cap_minutes: int) -> WeekPlan:
    """Most contractors log 5-15 h; every tenth is at the cap and two in ten near it; a few log far more than
    Label Studio measured, one or two have no annotation, cross Monday, or leave the week in draft."""
    rng = random.Random(f"{seed}:{week}:hours:{n}")  # noqa: S311
    if n % 10 == 3:
        minutes = cap_minutes
    elif n % 10 in (2, 9):
        minutes = rng.randint(cap_minutes - 120, cap_minutes - 30)
    else:
        minutes = rng.randint(5 * 60, 15 * 60)
    if n % 25 == 8:
        ratio = None
    elif n % 10 == 5:
        ratio = rng.uniform(0.3, 0.55)  # logged more than 1.8x Label Studio time: flagged
    else:
        ratio = rng.uniform(0.75, 1.1)  # at most 1.33x: within the 1.5x a reviewer accepts
    return WeekPlan(minutes=minutes, crosses_monday=n % 25 == 6, evidence_ratio=ratio, submits=n % 25 != 11)


def _day_windows(week_start: datetime, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The contractor's local days whose 07:00-22:00 lies wholly inside the UTC pay week (at least Tue-Sat)."""
    first = week_start.astimezone(zone).date()
    windows = []
    for offset in range(-1, 8):
        day = first + timedelta(days=offset)
        opens = datetime.combine(day, DAY_OPENS, tzinfo=zone).astimezone(UTC)
        closes = datetime.combine(day, DAY_CLOSES, tzinfo=zone).astimezone(UTC)
        if week_start <= opens and closes <= week_start + WEEK:
            windows.append((opens, closes))
    return windows


def _session_lengths(total: int, rng: random.Random) -> list[int]:
    """`total` minutes cut into sessions of 25 to 180 minutes."""
    low, high = SESSION_MINUTES
    lengths = []
    while total > 0:
        length = rng.randint(low, high)
        if total - length < low:  # never leave a scrap shorter than a session
            length = total if total <= high else total - low
        lengths.append(length)
        total -= length
    return lengths


def week_sessions(*, plan: WeekPlan, week_start: datetime, zone: ZoneInfo, rng: random.Random
                  ) -> list[tuple[datetime, datetime]]:
    """Non-overlapping work sessions (UTC) at plausible local hours, `plan.minutes` of them inside the week."""
    sessions = []
    remaining = plan.minutes
    windows = _day_windows(week_start, zone)
    if plan.crosses_monday:
        crossing = (week_start - timedelta(minutes=rng.randint(20, 50)),
                    week_start + timedelta(minutes=rng.randint(30, 90)))
        sessions.append(crossing)
        remaining -= int((crossing[1] - week_start) / timedelta(minutes=1))
        windows = [w for w in windows if w[0] >= crossing[1]]
    # The span across the next Monday, if the week after was loaded first, starts after 23:10 UTC on Sunday:
    # no zone in COUNTRIES (none is between UTC-2 and UTC-1) has a Sunday window that late.
    days = rng.sample(windows, min(len(windows), max(3, math.ceil(remaining / MINUTES_PER_DAY))))
    # Longest first onto the least loaded day: no day gets more than its share plus one session.
    loads: list[list[int]] = [[] for _ in days]
    for length in sorted(_session_lengths(remaining, rng), reverse=True):
        min(loads, key=sum).append(length)
    for (opens, closes), lengths in zip(days, loads, strict=True):
        if not lengths:
            continue
        rng.shuffle(lengths)
        room = int((closes - opens) / timedelta(minutes=1)) - sum(lengths)
        gaps = [rng.randint(10, max(10, min(40, room // len(lengths)))) for _ in lengths[1:]]
        start = opens + timedelta(minutes=rng.randint(0, room - sum(gaps)) // 5 * 5)
        for length, gap in zip(lengths, [*gaps, 0], strict=True):
            end = start + timedelta(minutes=length)
            sessions.append((start, end))
            start = end + timedelta(minutes=gap)
    return sorted(sessions)


def _annotations(*, first_id: int, batch: Batch, entries: list[TimeEntry], ratio: float,
                 rng: random.Random) -> list[BackfilledAnnotation]:
    """Annotations made during the logged sessions, whose lead times add up to `ratio` of them."""
    minutes = sum(e.minutes for e in entries)
    active_seconds = minutes * 60 * ratio
    count = max(1, min(LS_IDS_PER_CONTRACTOR - 1, round(active_seconds / rng.uniform(360, 900))))
    weights = [rng.uniform(0.5, 1.5) for _ in range(count)]
    batch_tasks = list(batch.batch_tasks.order_by("id"))
    annotations = []
    for k, weight in enumerate(weights):
        # An annotation falls in a session with a chance proportional to the session's length.
        entry = rng.choices(entries, weights=[e.minutes for e in entries])[0]
        made = entry.start + timedelta(seconds=rng.uniform(60, entry.minutes * 60))
        annotations.append(BackfilledAnnotation(
            ls_annotation_id=first_id + k, batch_task=batch_tasks[k % len(batch_tasks)],
            lead_time=round(active_seconds * weight / sum(weights), 1), made_at=made,
        ))
    return annotations


def _editable(contractor: Contractor, week_start: datetime) -> bool:
    return not (Timesheet.objects.filter(contractor=contractor, week_start=week_start)
                .exclude(state__in=EDITABLE).exists())


def _logged(contractor: Contractor, week_start: datetime) -> int:
    """Work minutes already in the week: a span across Monday of the week after may have put some there."""
    return (Timesheet.objects.filter(contractor=contractor, week_start=week_start)
            .values_list("work_minutes", flat=True).first() or 0)


@transaction.atomic
def _log_week(*, contractor: Contractor, n: int, plan: WeekPlan, job: Job, staff: User, week_start: datetime,
              now: datetime, seed: int, reason: str) -> list[TimeEntry]:
    """The contractor's batch of the week, their entries through the cap-checking service and their evidence:
    all or nothing, so a run that stopped half-way is finished by the next."""
    rng = random.Random(f"{seed}:{week_name(week_start)}:sessions:{n}")  # noqa: S311
    # A span across Monday also writes the week before, which may be handed in already.
    plan = replace(plan, minutes=max(plan.minutes - _logged(contractor, week_start), 0),
                   crosses_monday=plan.crosses_monday and _editable(contractor, week_start - WEEK))
    sessions = [s for s in week_sessions(plan=plan, week_start=week_start, zone=ZoneInfo(contractor.timezone),
                                         rng=rng) if s[1] <= now]
    # Held from its first session (a span across Monday starts on the Sunday before) to the week's end.
    first = min([week_start, *(start for start, _ in sessions)])
    batch = demo_batch_hand_over(contractor=contractor, job=job, staff=staff, reason=reason, at=first,
                                 started_at=sessions[0][0] if sessions else None,
                                 state=BatchState.HANDED_IN if now >= week_start + WEEK else BatchState.IN_PROGRESS,
                                 handed_in_at=week_start + WEEK)
    entries = []
    for start, end in sessions:
        # Logged as each session ends, as a contractor does: a span across Monday is still in the previous week.
        entries += time_entry_create(contractor=contractor, batch=batch, start=start, end=end,
                                     actor=contractor.user, now=end)
    in_week = [e for e in entries if e.start >= week_start]
    if in_week and plan.evidence_ratio is not None:
        year, number, _ = week_start.isocalendar()
        first_id = LS_ID_BASE + ((year - 2000) * 53 + number) * LS_IDS_PER_WEEK + n * LS_IDS_PER_CONTRACTOR
        annotations_backfill(batch=batch, annotations=_annotations(first_id=first_id, batch=batch, entries=in_week,
                                                                   ratio=plan.evidence_ratio, rng=rng))
    return entries


# --- the crew -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DemoWorkforceSummary:
    week: str
    created: int
    existing: int
    entries: int  # time entries this run made (a span split at Monday makes two)
    minutes: int  # work minutes the demo crew has in the week
    at_cap: int
    flagged: int
    submitted: int

    def line(self) -> str:
        return (f"{self.week}: {self.created + self.existing} demo contractors ({self.created} new, "
                f"{self.existing} existing); {self.entries} time entries made; {minutes_as_hmm(self.minutes)} h "
                f"logged in the week; {self.at_cap} at the weekly cap; {self.flagged} flagged for review; "
                f"{self.submitted} timesheets submitted")


def demo_workforce_load(*, contractors: int, week_start: datetime, seed: int, staff_email: str = STAFF_EMAIL,
                        now: datetime | None = None) -> DemoWorkforceSummary:
    """Make (or find) `contractors` active demo contractors and fill the pay week starting at `week_start`.

    Entries are logged as of the week's end, or up to now while the week is running; an ended week's
    timesheets are submitted, all but a couple. A contractor whose week was loaded before (they hold its
    demo batch) is left as they are, so running it again adds nothing.
    """
    now = now or timezone.now()
    if not 1 <= contractors <= MAX_CONTRACTORS:
        raise DomainError(f"contractors: between 1 and {MAX_CONTRACTORS}.", field="contractors")
    if week_start != week_start_utc(week_start):
        raise DomainError("week: a pay week starts on Monday 00:00 UTC.", field="week")
    week = week_name(week_start)
    if week_start > now:
        raise DomainError(f"week: {week} has not started yet; time is logged once it is worked.", field="week")
    ended = now >= week_start + WEEK
    as_of = week_start + WEEK if ended else now
    staff = demo_staff(staff_email)
    job = demo_job(staff=staff)
    cap_minutes = pay_terms_at(job=job, moment=week_start).cap_minutes
    crew, created, made = [], 0, 0
    for n in range(1, contractors + 1):
        contractor, new = demo_contractor_ensure(email=demo_email(n), member=demo_person(seed=seed, n=n),
                                                 staff=staff)
        created += new
        crew.append(contractor)
        plan = week_plan(seed=seed, n=n, week=week, cap_minutes=cap_minutes)
        # The week's demo batch says this contractor's week was loaded before.
        reason = f"demo workforce {week}"
        if _editable(contractor, week_start) and not AssignmentEvent.objects.filter(contractor=contractor,
                                                                                    reason=reason).exists():
            made += len(_log_week(contractor=contractor, n=n, plan=plan, job=job, staff=staff,
                                  week_start=week_start, now=as_of, seed=seed, reason=reason))
        timesheet = Timesheet.objects.filter(contractor=contractor, week_start=week_start).first()
        if ended and plan.submits and timesheet is not None and timesheet.state == TimesheetState.DRAFT:
            timesheet_submit(timesheet=timesheet, actor=contractor.user, now=as_of)
    ids = [c.pk for c in crew]
    timesheets = list(Timesheet.objects.filter(contractor_id__in=ids, week_start=week_start))
    evidence = evidence_by_contractor(ids, week_start=week_start)
    return DemoWorkforceSummary(
        week=week, created=created, existing=contractors - created, entries=made,
        minutes=sum(t.work_minutes for t in timesheets),
        at_cap=sum(t.work_minutes >= cap_minutes for t in timesheets),
        flagged=sum(bool(timesheet_flags(minutes=t.work_minutes, evidence=evidence.get(t.contractor_id)))
                    for t in timesheets),
        submitted=sum(t.state == TimesheetState.SUBMITTED for t in timesheets),
    )


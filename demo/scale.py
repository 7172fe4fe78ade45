"""A data set at the scale the field works at, for measuring the console (issue #16).

Written in bulk straight through the models: the services would take hours at this size, and Label Studio is not
needed (its ids are synthetic, far above what a real one hands out). The rows are consistent with what the services
would leave: active contractors with profiles in 40 countries, jobs with their pay terms (made by job_create),
batches cut as batches_cut cuts them (work photos plus one hidden gold), held batches in every state of the batch's
life with their assignment events, annotations by the holders reviewed as their batch's state says, quality scores on
the gold photos against a gold version, four pay weeks of time entries and timesheets, and a pay run paying the
oldest week. The same arguments give the same data. It fills only an empty, migrated database.
"""
import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from annotations.defects import DEFECT_CLASSES
from annotations.models import (
    Annotation,
    AssignmentAction,
    AssignmentEvent,
    Batch,
    BatchKind,
    BatchState,
    BatchTask,
    GoldSource,
    GoldVersion,
    Job,
    QualityScore,
    ReviewState,
    ScoreState,
    Task,
)
from annotations.services.job_progress import job_progress_rebuild
from annotations.services.jobs import job_create
from annotations.services.quality_rollups import quality_rollups_rebuild
from common.errors import DomainError
from payroll.models import EntryKind, PayRun, Statement, TimeEntry, Timesheet, TimesheetState
from payroll.selectors.weeks import WEEK, week_start_utc
from workforce.models import Contractor, OnboardingState, PayoutMethod, User
from workforce.services.staff import staff_role_grant

LS_ID_BASE = 1_500_000_000  # synthetic Label Studio annotation ids start here
STAFF_EMAIL = "scale-staff@labelcrew.local"
RATE = Decimal("2.00")
CENT = Decimal("0.01")
WEEKS = 4
BATCH_SIZE = 10
SMALL_JOB_TASKS = 500
QUALIFICATION_PHOTOS = 5
# (country, time zone, languages): 40 countries where entry-level annotation work is done.
COUNTRIES = (
    ("PH", "Asia/Manila", ["en", "fil"]), ("IN", "Asia/Kolkata", ["en", "hi"]), ("KE", "Africa/Nairobi", ["en", "sw"]),
    ("NG", "Africa/Lagos", ["en", "yo"]), ("VE", "America/Caracas", ["es"]), ("ID", "Asia/Jakarta", ["id"]),
    ("PK", "Asia/Karachi", ["ur", "en"]), ("BD", "Asia/Dhaka", ["bn"]), ("EG", "Africa/Cairo", ["ar"]),
    ("BR", "America/Sao_Paulo", ["pt"]), ("CO", "America/Bogota", ["es"]), ("MX", "America/Mexico_City", ["es"]),
    ("PE", "America/Lima", ["es"]), ("AR", "America/Argentina/Buenos_Aires", ["es"]),
    ("GH", "Africa/Accra", ["en"]), ("UG", "Africa/Kampala", ["en"]), ("TZ", "Africa/Dar_es_Salaam", ["sw", "en"]),
    ("ET", "Africa/Addis_Ababa", ["am"]),
    ("ZA", "Africa/Johannesburg", ["en", "zu"]), ("MA", "Africa/Casablanca", ["ar", "fr"]),
    ("TN", "Africa/Tunis", ["ar", "fr"]), ("VN", "Asia/Ho_Chi_Minh", ["vi"]), ("LK", "Asia/Colombo", ["si", "en"]),
    ("NP", "Asia/Kathmandu", ["ne"]), ("MM", "Asia/Yangon", ["my"]), ("KH", "Asia/Phnom_Penh", ["km"]),
    ("TH", "Asia/Bangkok", ["th"]), ("MY", "Asia/Kuala_Lumpur", ["ms", "en"]), ("UA", "Europe/Kyiv", ["uk"]),
    ("RO", "Europe/Bucharest", ["ro"]), ("TR", "Europe/Istanbul", ["tr"]), ("GT", "America/Guatemala", ["es"]),
    ("HN", "America/Tegucigalpa", ["es"]), ("BO", "America/La_Paz", ["es"]), ("EC", "America/Guayaquil", ["es"]),
    ("DO", "America/Santo_Domingo", ["es"]), ("JM", "America/Jamaica", ["en"]), ("SN", "Africa/Dakar", ["fr"]),
    ("CM", "Africa/Douala", ["fr", "en"]), ("RW", "Africa/Kigali", ["rw", "en"]),
)
# Batch states of the big job's batches, in proportion: most done, some in every other state, a fifth open.
STATE_MIX = ((BatchState.DONE, 40), (BatchState.IN_REVIEW, 8), (BatchState.HANDED_IN, 8), (BatchState.REWORK, 4),
             (BatchState.IN_PROGRESS, 12), (BatchState.ASSIGNED, 8), (BatchState.OPEN, 20))
REVIEWED = {BatchState.DONE: ReviewState.ACCEPTED, BatchState.IN_REVIEW: ReviewState.PENDING,
            BatchState.HANDED_IN: ReviewState.PENDING, BatchState.REWORK: ReviewState.REWORK,
            BatchState.IN_PROGRESS: ReviewState.PENDING, BatchState.ASSIGNED: ReviewState.PENDING}


@dataclass(frozen=True)
class ScaleSummary:
    contractors: int
    jobs: int
    tasks: int
    batches: int
    rounds: int
    annotations: int
    scores: int
    time_entries: int
    timesheets: int
    statements: int


def _refuse_unless_empty() -> None:
    held = {"users": User.objects.count(), "jobs": Job.objects.count(), "contractors": Contractor.objects.count()}
    if any(held.values()):
        raise DomainError("seed_scale fills only an empty, migrated database; this one holds "
                          + ", ".join(f"{n} {what}" for what, n in held.items() if n)
                          + ". Point DATABASE_URL at a new database.", field="database")


def _contractors(count: int, rng: random.Random, now: datetime) -> tuple[User, list[Contractor]]:
    staff = User.objects.create_user(STAFF_EMAIL, password=None, is_staff=True)
    staff_role_grant(user=staff, role="admin")
    # The measured pages include payroll's, which want a second factor: an authenticator whose secret nobody keeps
    # (the user has no password either; the bench and the tests sign it in with force_login).
    TOTP.activate(staff, generate_totp_secret())
    unusable = make_password(None)
    users = User.objects.bulk_create([User(email=f"scale-{n}@example.org", password=unusable)
                                      for n in range(1, count + 1)])
    people = []
    for n, user in enumerate(users, start=1):
        country, zone, languages = COUNTRIES[(n - 1) % len(COUNTRIES)]
        people.append(Contractor(
            user=user, state=OnboardingState.ACTIVE, legal_name=f"Scale Contractor {n}", display_name=f"Crew {n}",
            country=country, timezone=zone, languages=languages, hours_available_per_week=rng.choice((10, 15, 19)),
            payout_method=PayoutMethod.PAYPAL, payout_email=f"scale-{n}@pay.example.org",
            date_of_birth=date(1975 + n % 30, 1 + n % 12, 1 + n % 28),
            qualification_score=Decimal(str(round(rng.uniform(0.45, 0.99), 4))), state_changed_at=now))
    return staff, Contractor.objects.bulk_create(people)


def _tasks(job: Job, count: int, *, gold_every: int) -> list[Task]:
    return Task.objects.bulk_create([Task(
        job=job, key=f"photo-{i:05d}", image_path=f"scale/job-{job.pk}/photo-{i:05d}.jpg",
        image_sha256=hashlib.sha256(f"{job.pk}:{i}".encode()).hexdigest(), width=5472, height=3648,
        prediction={"model_version": "scale-model", "result": []},
        gold_result=[] if i % gold_every == 0 else None) for i in range(count)], batch_size=5000)


def _batches(job: Job, tasks: list[Task], rng: random.Random, contractors: list[Contractor], now: datetime,
             staff: User) -> tuple[list[Batch], list[BatchTask]]:
    """Batches of BATCH_SIZE work photos plus one hidden gold photo, their states drawn from STATE_MIX."""
    gold = [t for t in tasks if t.gold_result is not None]
    states = [state for state, share in STATE_MIX for _ in range(share)]
    batches = []
    for number in range(1, -(-len(tasks) // BATCH_SIZE) + 1):
        state = rng.choice(states)
        held = state != BatchState.OPEN
        assigned_at = now - timedelta(hours=rng.uniform(1, 24 * 7 * WEEKS)) if held else None
        batches.append(Batch(job=job, number=number, state=state, ls_project_id=LS_ID_BASE + job.pk * 100_000 + number,
                             published_at=now - timedelta(days=WEEKS * 7), assigned_to=rng.choice(contractors)
                             if held else None, assigned_at=assigned_at,
                             started_at=assigned_at + timedelta(hours=1) if held and state != BatchState.ASSIGNED
                             else None, deadline_at=assigned_at + timedelta(hours=72) if held else None))
    batches = Batch.objects.bulk_create(batches, batch_size=2000)
    rows = []
    for batch, start in zip(batches, range(0, len(tasks), BATCH_SIZE), strict=True):
        chunk = tasks[start:start + BATCH_SIZE]
        rows += [BatchTask(batch=batch, task=t, ls_task_id=LS_ID_BASE + t.pk) for t in chunk]
        candidates = [t for t in rng.sample(gold, min(20, len(gold))) if t not in chunk]
        if candidates:
            rows.append(BatchTask(batch=batch, task=candidates[0], is_gold=True))
    AssignmentEvent.objects.bulk_create([AssignmentEvent(batch=b, contractor=b.assigned_to,
                                                         action=AssignmentAction.ASSIGN, actor=staff,
                                                         reason="seed_scale") for b in batches if b.assigned_to])
    return batches, BatchTask.objects.bulk_create(rows, batch_size=5000)


def _annotations(rows: list[BatchTask], batches: dict[int, Batch], wanted: int, rng: random.Random,
                 now: datetime, first_id: int) -> list[Annotation]:
    """Up to `wanted` annotations, one per photo of held batches (in progress and later), by the holder."""
    made = []
    for bt in rows:
        batch = batches[bt.batch_id]
        if batch.state in (BatchState.OPEN, BatchState.ASSIGNED) or len(made) >= wanted:
            continue
        at = batch.assigned_at + timedelta(minutes=rng.uniform(10, 60 * 48))
        made.append(Annotation(ls_annotation_id=first_id + len(made), batch_task=bt, contractor=batch.assigned_to,
                               result=[], lead_time=round(rng.uniform(60, 900), 1),
                               review_state=ReviewState.PENDING if bt.is_gold else REVIEWED[batch.state],
                               ls_created_at=min(at, now), ls_updated_at=min(at, now)))
    return Annotation.objects.bulk_create(made, batch_size=5000)


def _qualification_rounds(job: Job, contractors: list[Contractor], gold: list[Task], rng: random.Random,
                          now: datetime, first_id: int, wanted: int) -> list[Annotation]:
    """Each contractor's finished qualification round on the big job: QUALIFICATION_PHOTOS gold photos, answered
    (up to `wanted` answers)."""
    number = (job.batches.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    rounds = Batch.objects.bulk_create([Batch(
        job=job, number=number + n, kind=BatchKind.QUALIFICATION, state=BatchState.DONE, assigned_to=c,
        ls_project_id=LS_ID_BASE + 50_000 + c.pk, published_at=now - timedelta(days=40),
        assigned_at=now - timedelta(days=40), started_at=now - timedelta(days=40))
        for n, c in enumerate(contractors)], batch_size=2000)
    AssignmentEvent.objects.bulk_create([AssignmentEvent(batch=b, contractor=b.assigned_to,
                                                         action=AssignmentAction.ASSIGN, reason="qualification round")
                                         for b in rounds], batch_size=5000)
    per_round = min(QUALIFICATION_PHOTOS, len(gold))
    rows = BatchTask.objects.bulk_create([BatchTask(batch=b, task=t, is_gold=True)
                                          for b in rounds for t in rng.sample(gold, per_round)], batch_size=5000)
    by_batch = {b.pk: b for b in rounds}
    return Annotation.objects.bulk_create([Annotation(
        ls_annotation_id=first_id + n, batch_task=bt, contractor=by_batch[bt.batch_id].assigned_to, result=[],
        lead_time=round(rng.uniform(60, 900), 1), review_state=ReviewState.PENDING,
        ls_created_at=now - timedelta(days=39)) for n, bt in enumerate(rows[:max(wanted, 0)])], batch_size=5000)


def _superseded(rows: list[BatchTask], batches: dict[int, Batch], wanted: int, rng: random.Random,
                first_id: int) -> list[Annotation]:
    """Earlier attempts their makers deleted in Label Studio (kept, marked deleted, as the sync keeps them), up to
    `wanted`, on photos of batches in progress or later."""
    held = [bt for bt in rows if batches[bt.batch_id].state not in (BatchState.OPEN, BatchState.ASSIGNED)]
    if not held or wanted <= 0:
        return []
    made = []
    for n in range(wanted):
        bt = held[rng.randrange(len(held))]
        batch = batches[bt.batch_id]
        made.append(Annotation(ls_annotation_id=first_id + n, batch_task=bt, contractor=batch.assigned_to, result=[],
                               lead_time=round(rng.uniform(30, 300), 1), deleted=True,
                               ls_created_at=batch.assigned_at + timedelta(minutes=rng.uniform(1, 60))))
    return Annotation.objects.bulk_create(made, batch_size=5000)


def _scores(annotations: list[Annotation], gold_of: dict[int, GoldVersion], wanted: int,
            rng: random.Random) -> int:
    labels = [c.label for c in DEFECT_CLASSES]
    scores = []
    for annotation in annotations:
        gold = gold_of.get(annotation.batch_task.task_id)
        if gold is None or not annotation.batch_task.is_gold or annotation.deleted or len(scores) >= wanted:
            continue
        iou = round(rng.betavariate(6, 2), 4)
        scores.append(QualityScore(
            annotation=annotation, gold=gold, state=ScoreState.SCORED, overall_iou=iou, macro_iou=iou,
            macro_dice=round(2 * iou / (1 + iou), 4), macro_boundary_f1=round(iou * 0.9, 4), instance_f1=iou,
            per_class={label: {"iou": round(min(1.0, max(0.0, iou + rng.uniform(-0.2, 0.2))), 4), "dice": None}
                       for label in rng.sample(labels, 2)},
            rubber_stamp=rng.random() < 0.03, result_digest="seed_scale", scored_at=annotation.ls_created_at))
    return len(QualityScore.objects.bulk_create(scores, batch_size=5000))


def _time(contractors: list[Contractor], job: Job, staff: User, rng: random.Random,
          now: datetime) -> tuple[int, int, int]:
    """WEEKS pay weeks of work per contractor, the current one last: a draft now, submitted, approved and paid
    before it; the oldest week paid by a pay run."""
    this_week = week_start_utc(now)
    weeks = [this_week - WEEK * back for back in range(WEEKS - 1, -1, -1)]
    states = {weeks[0]: TimesheetState.PAID, weeks[-1]: TimesheetState.DRAFT}
    sheets, entries = [], []
    for week in weeks:
        state = states.get(week, rng.choice((TimesheetState.APPROVED, TimesheetState.SUBMITTED)))
        for contractor in contractors:
            sessions = rng.randint(1, 6)
            length = [rng.randint(30, 200) for _ in range(sessions)]
            while sum(length) > 20 * 60:  # under the weekly cap
                length.pop()
            sheet = Timesheet(contractor=contractor, week_start=week, state=state, work_minutes=sum(length),
                              submitted_at=week + timedelta(days=6) if state != TimesheetState.DRAFT else None,
                              submitted_by=contractor.user if state != TimesheetState.DRAFT else None,
                              decided_at=week + timedelta(days=7, hours=2) if state in (
                                  TimesheetState.APPROVED, TimesheetState.PAID) else None,
                              decided_by=staff if state in (TimesheetState.APPROVED, TimesheetState.PAID) else None)
            sheets.append(sheet)
            for day, minutes in enumerate(length):
                start = week + timedelta(days=day, hours=8 + rng.randint(0, 10))
                if start + timedelta(minutes=minutes) > now:
                    continue
                entries.append((sheet, TimeEntry(contractor=contractor, kind=EntryKind.WORK, job=job, start=start,
                                                 end=start + timedelta(minutes=minutes), minutes=minutes,
                                                 hourly_rate=RATE, created_by=contractor.user)))
    sheets = Timesheet.objects.bulk_create(sheets, batch_size=5000)
    for sheet, entry in entries:
        entry.timesheet = sheet
    made = TimeEntry.objects.bulk_create([entry for _, entry in entries], batch_size=5000)
    for sheet in sheets:  # what the entries add up to (a future entry of this week was left out)
        sheet.work_minutes = 0
    by_sheet = {id(s): s for s in sheets}
    for sheet, entry in entries:
        by_sheet[id(sheet)].work_minutes += entry.minutes
    Timesheet.objects.bulk_update(sheets, ["work_minutes"], batch_size=5000)
    run = PayRun.objects.create(week_start=weeks[0], minimum_payout=Decimal("0.00"), created_by=staff)
    statements = []
    for sheet in sheets:
        if sheet.week_start == weeks[0] and sheet.work_minutes:
            earned = (Decimal(sheet.work_minutes) / 60 * RATE).quantize(CENT, rounding=ROUND_HALF_UP)
            statements.append(Statement(pay_run=run, timesheet=sheet, contractor=sheet.contractor,
                                        minutes=sheet.work_minutes, earned=earned, payable=earned,
                                        payout_method=PayoutMethod.PAYPAL,
                                        payout_email=sheet.contractor.payout_email))
    Statement.objects.bulk_create(statements, batch_size=5000)
    return len(made), len(sheets), len(statements)


@transaction.atomic
def scale_seed(*, contractors: int = 1000, tasks: int = 10_000, annotations: int = 30_000, scores: int = 5000,
               seed: int = 16) -> ScaleSummary:
    """Fill an empty database with the data set (see the module); returns what it made."""
    if contractors < 1 or tasks < BATCH_SIZE or annotations < 0 or scores < 0:
        raise DomainError("sizes: at least 1 contractor and 10 tasks; annotations and scores not negative.",
                          field="sizes")
    _refuse_unless_empty()
    rng = random.Random(seed)  # noqa: S311 - repeatable data, not a secret
    now = timezone.now()
    staff, crew = _contractors(contractors, rng, now)
    jobs = [job_create(name=name, client="Scale Co", instructions="Paint every defect.", specs=[],
                       image_source="seed_scale", actor=staff, batch_size=BATCH_SIZE, gold_rate=Decimal("0.1"),
                       hourly_rate=RATE, weekly_cap_hours=Decimal("20"))[0]
            for name in ("Screens at scale", "Screens, second client", "Screens, third client")]
    all_tasks, all_batches, all_rows = 0, 0, []
    batches_by_id: dict[int, Batch] = {}
    for job, count in zip(jobs, (tasks, SMALL_JOB_TASKS, SMALL_JOB_TASKS), strict=True):
        made = _tasks(job, count, gold_every=10)
        batches, rows = _batches(job, made, rng, crew, now, staff)
        all_tasks, all_batches = all_tasks + len(made), all_batches + len(batches)
        batches_by_id |= {b.pk: b for b in batches}
        all_rows += rows
    gold_tasks = {bt.task_id for bt in all_rows if bt.is_gold}
    golds = GoldVersion.objects.bulk_create([GoldVersion(task_id=pk, version=1, result=[], source=GoldSource.IMPORT,
                                                         created_by=staff) for pk in sorted(gold_tasks)])
    gold_of = {g.task_id: g for g in golds}
    # The qualification rounds first (every contractor qualified on gold), then the gold answers of the work
    # batches, so the scores have answers to judge; then the work photos, then earlier deleted attempts.
    made = _qualification_rounds(jobs[0], crew, list(jobs[0].tasks.filter(pk__in=gold_tasks).order_by("pk")), rng,
                                 now, LS_ID_BASE, annotations)
    ordered = sorted(all_rows, key=lambda bt: (not bt.is_gold, bt.pk))
    made += _annotations(ordered, batches_by_id, annotations - len(made), rng, now, LS_ID_BASE + 10_000_000)
    made += _superseded(all_rows, batches_by_id, annotations - len(made), rng, LS_ID_BASE + 20_000_000)
    scored = _scores(made, gold_of, scores, rng)
    entries, sheets, statements = _time(crew, jobs[0], staff, rng, now)
    quality_rollups_rebuild()  # the scores were written around the services that keep the stored rollups
    job_progress_rebuild()  # and the tasks, batches and annotations around those that keep the jobs' counts
    _statistics_refresh()
    return ScaleSummary(contractors=len(crew), jobs=len(jobs), tasks=all_tasks, batches=all_batches, rounds=len(crew),
                        annotations=len(made), scores=scored, time_entries=entries, timesheets=sheets,
                        statements=statements)


def _statistics_refresh() -> None:
    """After a bulk load, the planner's statistics (as autovacuum would gather them minutes later): measured pages
    otherwise run on plans made for empty tables (the job page took 1.4 s instead of 0.08 s)."""
    if connection.vendor == "postgresql":  # ANALYZE may run inside the seeding transaction
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def scale_pages(*, job_id: int, week: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The pages the data set is measured on (bench/console_load.py) and held to constant queries on (the tests):
    (name, path) of the staff pages and API lists, then of a contractor's own pages. `job_id` is the big job's,
    `week` the pay week shown (e.g. "2026-W48"); the pay run shown is the data set's (one statement per contractor)."""
    pay_run = PayRun.objects.order_by("-id").values_list("pk", flat=True).first()
    staff = [
        ("console: jobs", "/console/"),
        ("console: big job", f"/console/jobs/{job_id}/"),
        ("console: big job, done, page 5", f"/console/jobs/{job_id}/?state=done&page=5"),
        ("console: capacity board", f"/console/jobs/{job_id}/capacity/"),
        ("console: capacity, search", f"/console/jobs/{job_id}/capacity/?q=ana"),
        ("console: capacity, by hours left, page 2", f"/console/jobs/{job_id}/capacity/?order=remaining&page=2"),
        ("console: quality board", "/console/quality/"),
        ("console: review queue", "/console/review/"),
        ("console: review, search", "/console/review/?q=ana&order=newest"),
        ("console: stale work", "/console/stale/"),
        ("console: applicants", "/staff/applicants/"),
        ("console: applicants, search", "/staff/applicants/?search=ana&sort=score"),
        ("console: payroll week", f"/console/payroll/?week={week}"),
        ("console: payroll week, search", f"/console/payroll/?week={week}&q=ana&sort=-hours"),
        ("console: payroll week, page 2", f"/console/payroll/?week={week}&page=2"),
        ("console: pay run", f"/console/payroll/pay-runs/{pay_run}/"),
        ("console: pay run, search", f"/console/payroll/pay-runs/{pay_run}/?q=ana"),
        ("api: contractors", "/api/v1/contractors/"),
        ("api: quality board", "/api/v1/quality/contractors/"),
        ("api: week's timesheets", f"/api/v1/payroll/weeks/{week}/timesheets/"),
        ("api: console jobs", "/api/v1/console/jobs/"),
        ("api: console job", f"/api/v1/console/jobs/{job_id}/"),
        ("api: console batches of the job", f"/api/v1/console/batches/?job={job_id}&state=done"),
        ("api: console capacity board", f"/api/v1/console/jobs/{job_id}/capacity/"),
        ("api: console review queue", "/api/v1/console/review/"),
        ("api: console stale work", "/api/v1/console/batches/stale/"),
    ]
    mine = [("contractor: dashboard", "/dashboard/"), ("contractor: pay", "/pay/"),
            ("contractor: quality", "/quality/"), ("contractor: profile", "/profile/"),
            ("contractor: notifications", "/notifications/"), ("contractor: privacy", "/privacy/"),
            ("contractor: open jobs", "/jobs/")]
    return staff, mine

"""manage.py load_demo_job: the demo job, published, with active contractors, assignments and synced annotations."""
import math
import random
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotations import labelstudio
from annotations.models import Annotation, Batch, BatchState, Job, Task
from annotations.services import jobs, listings, qualification
from annotations.services.accounts import label_studio_account_ensure
from annotations.services.assignment import batch_assign, batches_auto_assign
from annotations.services.hand_in import batch_hand_in
from annotations.services.publishing import batch_publish
from annotations.services.sync import sync_poll
from common.errors import DomainError
from common.password_file import password_from_file
from demo.people import DemoPerson, demo_contractor_activate, demo_email, demo_staff, demo_user
from workforce.models import Contractor, User
from workforce.services.accounts import user_sign_in_set

JOB_NAME = "Smartphone screen defects"
JOB_CLIENT = "Refurb Co"
JOB_INSTRUCTIONS = (
    "Paint every visible screen defect with the brush, one label per defect: scratches, pits, cracks, "
    "dead pixels and stains. Pre-annotations come from a model and are often incomplete or wrong: "
    "fix them, do not trust them. Leave clean areas unpainted."
)
GOLD_RATE = Decimal("0.25")
LOW_SCORE = Decimal("0.45")  # below the job's quality threshold (0.5): auto-assignment skips them
# The seed job posting (the OpenTrain listing this demo follows): USD 2.00 an hour, under 20 hours a week.
HOURLY_RATE = Decimal("2.00")
WEEKLY_CAP_HOURS = Decimal(20)
QUALIFICATION_TASKS = 3  # gold photos of the demo job in each new applicant's qualification round
ANNOTATED_BATCHES = 3  # held batches of which about half of the other photos are annotated too
OVERLAP_PHOTOS = 4  # the second demo job: these first photos of the sample, each labelled by OVERLAP people
OVERLAP = 3
# How a demo contractor labels a photo, by their number: per defect class, the chance that they
# paint it as the gold does rather than leave the model's pre-annotation of it. The second one
# submits the pre-annotation unchanged, so the quality board shows a rubber stamp.
CAREFUL, RUBBER_STAMP, HALF = 0.9, 0.0, 0.5
SKILLS = (CAREFUL, RUBBER_STAMP, HALF)


PEOPLE = (
    DemoPerson("Ana Souza", "Ana", "BR", "America/Sao_Paulo", ("en", "pt"), 20, date(1994, 3, 12)),
    DemoPerson("王芳", "王芳", "CN", "Asia/Shanghai", ("en", "zh"), 15, date(1991, 8, 2)),
    DemoPerson("Amina Yusuf", "Amina", "NG", "Africa/Lagos", ("en",), 20, date(1997, 1, 23)),
    DemoPerson("Олег Петров", "Олег", "UA", "Europe/Kyiv", ("en", "uk"), 10, date(1988, 11, 30)),
    DemoPerson("Priya Sharma", "Priya", "IN", "Asia/Kolkata", ("en", "hi"), 20, date(1999, 6, 7)),
    DemoPerson("Fatima Zahra", "Fatima", "MA", "Africa/Casablanca", ("ar", "fr"), 12, date(1993, 9, 15)),
)


def demo_skill(n: int) -> float:
    return SKILLS[(n - 1) % len(SKILLS)]


def _label(item: dict) -> str:
    labels = item.get("value", {}).get("brushlabels") or [""]
    return labels[0]


def demo_result(*, task: Task, skill: float, rng: random.Random) -> list[dict]:
    """An annotator's brush results for a photo: per class, the gold's masks with probability `skill`,
    else the pre-annotation's (which may miss the class or paint it where there is none)."""
    prediction = list((task.prediction or {}).get("result") or [])
    if skill <= 0 or not task.gold_result:
        return prediction
    result = []
    for label in sorted({_label(item) for item in (*task.gold_result, *prediction)}):
        source = task.gold_result if rng.random() < skill else prediction
        result += [item for item in source if _label(item) == label]
    return result


def qualification_scores(count: int) -> list[Decimal]:
    """0.95 down to 0.55 for all but the last contractor, who gets 0.45 (under the threshold)."""
    if count == 1:
        return [Decimal("0.95")]
    spread = count - 1
    high = [Decimal("0.95") - (Decimal("0.40") * i / max(spread - 1, 1)) for i in range(spread)]
    return [score.quantize(Decimal("0.01")) for score in high] + [LOW_SCORE]


class Command(BaseCommand):
    help = (
        "Fill the demo: the sample job published to Label Studio, active demo contractors with Label Studio "
        "accounts, auto-assigned batches and some annotations made in Label Studio and synced back. "
        "Running it again creates nothing twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--staff-email", default="staff@labelcrew.local", help="the staff user who decides")
        parser.add_argument("--batch-size", type=int, default=4, help="tasks per batch (default 4)")
        parser.add_argument("--contractors", type=int, default=6, help="demo contractors (default 6)")
        parser.add_argument("--seed", type=int, default=7, help="random seed of the annotations (default 7)")
        parser.add_argument("--password-file", type=Path,
                            help="the demo contractors' password, so they can sign in (without it they cannot)")

    def handle(self, *args: object, **options: Any) -> None:
        if options["contractors"] < 1:
            raise CommandError("--contractors: at least 1.")
        password = password_from_file(options["password_file"]) if options["password_file"] else None
        if not labelstudio.is_configured():
            raise CommandError("Label Studio is not configured: set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY "
                               "(./run labelstudio start writes them to var/labelstudio.env).")
        try:
            version = labelstudio.server_version()
        except labelstudio.LabelStudioUnavailable as exc:
            raise CommandError(f"{exc} Start it with ./run labelstudio start.") from None
        self._say(f"Label Studio {version} at {settings.LABEL_STUDIO_URL}")
        try:
            self._load(options, password=password)
        except (labelstudio.LabelStudioUnavailable, DomainError) as exc:
            raise CommandError(str(exc)) from None

    def _say(self, line: str) -> None:
        self.stdout.write(line)

    def _step(self, started: float, line: str) -> None:
        self._say(f"{line} ({time.perf_counter() - started:.1f} s)")

    def _load(self, options: dict[str, Any], *, password: str | None) -> None:
        started = time.perf_counter()
        staff = demo_staff(options["staff_email"])
        self._step(started, f"1. staff user {staff.email}")

        started = time.perf_counter()
        job, added, cut, published = self._job(staff=staff, batch_size=options["batch_size"])
        self._step(started, f"2. job {job.name!r} for {job.client}: {added} new tasks, {cut} new batches, "
                            f"{published} of {job.batches.count()} batches published to Label Studio")

        started = time.perf_counter()
        contractors, made = self._contractors(staff=staff, count=options["contractors"], password=password)
        scores = ", ".join(f"{c.display_name} {c.qualification_score:.2f}" for c in contractors)
        self._step(started, f"3. {len(contractors)} active demo contractors ({made} new) with Label Studio "
                            f"accounts; scores: {scores}")

        started = time.perf_counter()
        events = batches_auto_assign(job=job, actor=staff)
        held = Batch.objects.filter(job=job, state__in=(BatchState.ASSIGNED, BatchState.IN_PROGRESS)).count()
        skipped = [c.display_name for c in contractors if c.qualification_score < job.quality_threshold]
        self._step(started, f"4. auto-assigned {len(events)} batches ({held} held in all); under the quality "
                            f"threshold {job.quality_threshold:.2f}, not assigned: {', '.join(skipped) or 'nobody'}")

        started = time.perf_counter()
        skill_of = {contractor.pk: demo_skill(n) for n, contractor in enumerate(contractors, start=1)}
        created, batches = self._annotate(job=job, skill_of=skill_of, seed=options["seed"])
        self._step(started, f"5. {created} new annotations made in Label Studio by the holders of "
                            f"{batches} batches")

        started = time.perf_counter()
        seen = sync_poll()
        synced = Annotation.objects.filter(batch_task__batch__job=job, deleted=False).count()
        self._step(started, f"6. synced {seen} annotations from Label Studio; the job has {synced}")

        started = time.perf_counter()
        gold = job.tasks.filter(gold_result__isnull=False, public_example=False).count()
        job = qualification.job_qualification_set(job=job, tasks=min(QUALIFICATION_TASKS, gold))
        self._step(started, f"7. qualification round: each new applicant labels {job.qualification_tasks} of the "
                            f"job's {gold} gold photos in Label Studio")

        started = time.perf_counter()
        overlap_job, handed_in = self._overlap_job(staff=staff, contractors=contractors, skill_of=skill_of,
                                                   seed=options["seed"])
        if overlap_job is not None:
            self._step(started, f"8. job {overlap_job.name!r}: {overlap_job.tasks.count()} photos, each labelled "
                                f"by {OVERLAP} of the crew in Label Studio; {handed_in} batches handed in, their "
                                "agreement and merged masks computed by the worker")

    def _job(self, *, staff: User, batch_size: int) -> tuple[Job, int, int, int]:
        manifest = settings.SAMPLE_JOB_DIR / "manifest.json"
        if not manifest.is_file():
            raise CommandError(f"No sample job at {manifest}: run python manage.py make_sample_job first.")
        specs = jobs.specs_from_manifest(manifest)
        # One job per photo size: the small demo job and the full 20 MP one name their photos alike.
        name = f"{JOB_NAME} ({specs[0].width}x{specs[0].height})" if specs else JOB_NAME
        job, added = jobs.job_create(
            name=name, client=JOB_CLIENT, instructions=JOB_INSTRUCTIONS,
            specs=specs, image_source=str(settings.SAMPLE_JOB_DIR), actor=staff,
            batch_size=batch_size, gold_rate=GOLD_RATE, hourly_rate=HOURLY_RATE, weekly_cap_hours=WEEKLY_CAP_HOURS,
            listed=True, guideline_languages=["en"],
        )
        self._public_examples(job=job, staff=staff)  # before any batch hides them as gold
        cut = jobs.batches_cut(job=job)
        published = 0
        for batch_id in job.batches.order_by("number").values_list("pk", flat=True):
            # Safe to repeat: batch_publish finds the project and tasks it made before.
            if batch_publish(batch_id=batch_id).published_at is not None:
                published += 1
        return job, added, len(cut), published

    def _public_examples(self, *, job: Job, staff: User) -> None:
        """Make the fewest gold photos that paint every class public examples, for the job page's close-ups (once:
        a second run finds them, or batches that already used the gold)."""
        if job.tasks.filter(public_example=True).exists() or job.batches.exists():
            return
        painted = {task.key: {label for r in task.gold_result for label in r.get("value", {}).get("brushlabels", [])}
                   for task in job.tasks.filter(gold_result__isnull=False).order_by("key")}
        wanted, chosen = set(job.labels), []
        while wanted and painted:
            key = max(painted, key=lambda k: len(painted[k] & wanted))
            if not painted[key] & wanted:
                break
            wanted -= painted.pop(key)
            chosen.append(key)
        if chosen and len(painted) >= QUALIFICATION_TASKS:  # enough gold stays hidden for batches and the round
            listings.job_examples_publish(job=job, task_keys=chosen, actor=staff)

    def _overlap_job(self, *, staff: User, contractors: list[Contractor], skill_of: dict[int, float],
                     seed: int) -> tuple[Job | None, int]:
        """A second job on the sample's first photos, each going to OVERLAP of the crew (one batch each), labelled
        in Label Studio as their skill makes them and handed in: its photos' agreement is on the job page, and a
        reviewer can accept a photo's merged mask. None when the crew is smaller than OVERLAP."""
        if len(contractors) < OVERLAP:
            return None, 0
        specs = jobs.specs_from_manifest(settings.SAMPLE_JOB_DIR / "manifest.json")[:OVERLAP_PHOTOS]
        job, _ = jobs.job_create(
            name=f"{JOB_NAME} ({specs[0].width}x{specs[0].height}), {OVERLAP} annotators per photo",
            client=JOB_CLIENT, instructions=JOB_INSTRUCTIONS, specs=specs, image_source=str(settings.SAMPLE_JOB_DIR),
            actor=staff, batch_size=OVERLAP_PHOTOS, gold_rate=Decimal(0), annotators_per_photo=OVERLAP)
        jobs.batches_cut(job=job)
        handed_in = 0
        for batch, contractor in zip(job.batches.order_by("number"), contractors, strict=False):
            batch = batch_publish(batch_id=batch.pk)
            if batch.state == BatchState.OPEN:
                batch = batch_assign(batch=batch, contractor=contractor, actor=staff, reason="demo: overlap job")
            if batch.state not in (BatchState.ASSIGNED, BatchState.IN_PROGRESS):
                continue  # a second run: handed in already
            ls_user_id = contractor.label_studio_account.ls_user_id
            done = {row["task"] for row in labelstudio.annotations_of_project(project_id=batch.ls_project_id)}
            for bt in batch.batch_tasks.select_related("task").order_by("id"):
                if bt.ls_task_id in done:
                    continue
                result = demo_result(task=bt.task, skill=skill_of.get(contractor.pk, HALF),
                                     rng=random.Random(f"{seed}:{bt.task_id}:{contractor.pk}"))  # noqa: S311
                labelstudio.call(
                    lambda ls, task_id=bt.ls_task_id, result=result, user=ls_user_id:
                        ls.annotations.create(id=task_id, result=result, lead_time=300.0, completed_by=user),
                    what=f"annotate task {bt.ls_task_id}", attempts=1)
            batch_hand_in(batch=batch, contractor=contractor)  # reads Label Studio first, as the dashboard does
            handed_in += 1
        return job, handed_in

    def _contractors(self, *, staff: User, count: int, password: str | None) -> tuple[list[Contractor], int]:
        contractors, made = [], 0
        for n, score in enumerate(qualification_scores(count), start=1):
            person = PEOPLE[(n - 1) % len(PEOPLE)]
            user, new = demo_user(demo_email(n))
            made += new
            if password is not None:
                user_sign_in_set(user=user, password=password)
            contractor = demo_contractor_activate(user=user, person=person, qualification_score=score, staff=staff,
                                                  source="manage.py load_demo_job")
            label_studio_account_ensure(contractor=contractor)
            contractors.append(contractor)
        return contractors, made

    def _annotate(self, *, job: Job, skill_of: dict[int, float], seed: int) -> tuple[int, int]:
        """In every held batch its gold photo, and in the first few about half of the other photos too,
        annotated in Label Studio as their holder, as well as that holder's skill makes them."""
        rng = random.Random(seed)  # noqa: S311 - demo data, not a secret
        # Only holders with a Label Studio user can annotate (load_demo_workforce's crew may hold batches without one).
        held = list(Batch.objects.filter(job=job, state__in=(BatchState.ASSIGNED, BatchState.IN_PROGRESS),
                                         assigned_to__label_studio_account__isnull=False)
                    .select_related("assigned_to__label_studio_account").order_by("number"))
        created = 0
        for place, batch in enumerate(held):
            ls_user_id = batch.assigned_to.label_studio_account.ls_user_id
            done = {row["task"] for row in labelstudio.annotations_of_project(project_id=batch.ls_project_id)}
            rows = list(batch.batch_tasks.select_related("task").order_by("id"))
            # The draw depends only on the seed and the batch, so a second run picks the same tasks.
            others = [row for row in rows if not row.is_gold]
            chosen = [row for row in rows if row.is_gold]
            if place < ANNOTATED_BATCHES:
                chosen += random.Random(f"{seed}:{batch.number}").sample(others, math.ceil(len(others) / 2))  # noqa: S311
            for bt in sorted(chosen, key=lambda row: row.pk):
                if bt.ls_task_id is None or bt.ls_task_id in done:
                    continue
                result = demo_result(task=bt.task, skill=skill_of.get(batch.assigned_to_id, HALF),
                                     rng=random.Random(f"{seed}:{bt.task_id}"))  # noqa: S311
                lead_time = round(rng.uniform(120, 900), 1)
                # The admin token annotates on the holder's behalf: Label Studio keeps completed_by as given.
                labelstudio.call(
                    lambda ls, task_id=bt.ls_task_id, result=result, lead_time=lead_time, user=ls_user_id:
                        ls.annotations.create(id=task_id, result=result, lead_time=lead_time, completed_by=user),
                    what=f"annotate task {bt.ls_task_id}", attempts=1,  # a retried create could make a twin
                )
                created += 1
        return created, len(held)

"""Benchmark: concurrent clients racing POST /api/v1/payroll/me/time-entries/ past the weekly cap on PostgreSQL.

Makes its own database (labelcrew_bench_race) if it is missing and migrates it, starts gunicorn on
loopback, gives a few fresh active contractors a batch and a signed-in session each, then lets
20 threads log overlapping and non-overlapping spans (some across Monday) in the same two pay weeks.
Prints requests/s, answers by status, the contractor-weeks whose entries add up to more than the
cap (must be 0), whether every timesheet's work_minutes equals its entries, and, as the reference,
the same number of GETs of the entry list and of /healthz by the same clients.
    python bench/cap_race.py [--clients 20] [--contractors 5] [--requests 1000] [--port 8093] [--workers 4]
Nothing else may listen on the port; gunicorn is stopped at the end, also on error.
--smoke: 2 clients, 1 contractor, 40 requests a phase (enough to reach the cap), 1 gunicorn worker on a free port,
on a database of its own (labelcrew_bench_race_smoke) made, migrated and dropped by the run.
"""
import argparse
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from _procs import stop_process_group  # bench/, the script's own folder
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LOG = ROOT / "var" / "log" / "bench-cap-race.log"
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/labelcrew_bench_race"
# The bench runs alone: no broker (Celery eager), no Label Studio, emails dropped.
ENVIRONMENT = {
    "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "false", "CELERY_BROKER_URL": "",
    "REDIS_URL": "", "LABEL_STUDIO_URL": "", "LABEL_STUDIO_API_KEY": "", "EMAIL_URL": "dummymail://",
    "LOG_LEVEL": "WARNING",
    "LABEL_STUDIO_ENV_FILE": str(ROOT / "var" / "no-labelstudio-for-the-bench.env"),
    # The race drives each contractor's API far past a person's pace: the throttles would answer 429 instead.
    "API_THROTTLE_STAFF": "1000000/min", "API_THROTTLE_CONTRACTOR": "1000000/min",
}


def database_ensure(url: str) -> None:
    """Create the bench's database when it does not exist yet (as createdb would)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


@contextmanager
def gunicorn(*, port: int, workers: int) -> Iterator[str]:
    """gunicorn serving the app on loopback for the duration of the block; its whole process group is stopped."""
    LOG.parent.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{port}"
    with open(LOG, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers)],
            cwd=ROOT, env=os.environ.copy(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {process.returncode}; see {LOG}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not answer /healthz within 30 s; see {LOG}")
            time.sleep(0.2)
        yield base
    finally:
        stop_process_group(process, grace=20)


@dataclass(frozen=True)
class Racer:
    contractor_id: int
    batch_id: int
    cookie: str
    csrf: str


@dataclass(frozen=True)
class Outcome:
    status: int
    what: str  # "created", "cap", "conflict" (overlap), "invalid", or the status for anything else
    seconds: float


def spans(rng: random.Random, weeks: tuple[datetime, datetime]) -> tuple[datetime, datetime]:
    """A span to log: mostly grid slots (overlapping only when two requests pick the same one), some at random
    (overlapping often), some across the Monday between the two weeks, a few ending before they start."""
    first, second = weeks
    roll = rng.random()
    if roll < 0.05:
        start = first + timedelta(days=2, hours=9)
        return start, start - timedelta(minutes=30)
    if roll < 0.15:
        start = second - timedelta(minutes=rng.randint(10, 120))
        return start, start + timedelta(minutes=rng.randint(30, 240))
    week = rng.choice(weeks)
    if roll < 0.70:
        start = week + timedelta(hours=6 * rng.randrange(28))
        return start, start + timedelta(minutes=rng.choice((60, 90, 120, 180, 240)))
    start = week + timedelta(minutes=rng.randrange(7 * 24 * 60 - 300))
    return start, start + timedelta(minutes=rng.randint(25, 300))


def post_entry(client: httpx.Client, base: str, racer: Racer, span: tuple[datetime, datetime]) -> Outcome:
    started = time.perf_counter()
    answer = client.post(f"{base}/api/v1/payroll/me/time-entries/",
                         json={"batch": racer.batch_id, "start": span[0].isoformat(), "end": span[1].isoformat(),
                               "note": "bench"},
                         headers={"Cookie": f"labelcrew_session={racer.cookie}; labelcrew_csrftoken={racer.csrf}",
                                  "X-CSRFToken": racer.csrf})
    seconds = time.perf_counter() - started
    if answer.status_code == 201:
        what = "created"
    elif answer.status_code == 409:
        what = "cap" if "remaining_minutes" in answer.json() else "conflict"
    elif answer.status_code == 400:
        what = "invalid"
    else:
        what = str(answer.status_code)
    return Outcome(answer.status_code, what, seconds)


def get_url(client: httpx.Client, url: str, racer: Racer) -> Outcome:
    started = time.perf_counter()
    answer = client.get(url, headers={"Cookie": f"labelcrew_session={racer.cookie}"})
    return Outcome(answer.status_code, "ok" if answer.status_code == 200 else str(answer.status_code),
                   time.perf_counter() - started)


def race(*, clients: int, requests: int, call: Callable[[httpx.Client, random.Random], Outcome]
         ) -> tuple[float, list[Outcome]]:
    """`requests` calls shared by `clients` threads that all start at once; wall seconds and outcomes."""
    gate = threading.Barrier(clients + 1)

    def client_run(number: int) -> list[Outcome]:
        rng = random.Random(number)
        share = requests // clients + (number < requests % clients)
        with httpx.Client(timeout=60) as client:
            gate.wait()
            return [call(client, rng) for _ in range(share)]

    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(client_run, number) for number in range(clients)]
        gate.wait()
        started = time.perf_counter()
        outcomes = [outcome for future in futures for outcome in future.result()]
    return time.perf_counter() - started, outcomes


def report(name: str, seconds: float, outcomes: list[Outcome]) -> float:
    rate = len(outcomes) / seconds
    latencies = sorted(o.seconds * 1000 for o in outcomes)
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(f"{name:<34} {len(outcomes):6d} requests in {seconds:6.2f} s = {rate:7.1f} req/s   "
          f"p50 {statistics.median(latencies):6.1f} ms, p95 {p95:6.1f} ms")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--contractors", type=int, default=5)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--smoke", action="store_true",
                        help="smallest run: 2 clients, 1 contractor, 40 requests, 1 worker, a throwaway database")
    args = parser.parse_args()
    if not args.smoke:
        database_ensure(args.database_url)
        run(args)
        return
    from _smoke import throwaway_database  # bench/, the script's own folder

    with throwaway_database("labelcrew_bench_race") as url:
        run(argparse.Namespace(database_url=url, clients=2, contractors=1, requests=40, port=_free_port(), workers=1))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(args: argparse.Namespace) -> None:
    """Race, then check the bookkeeping, on the migrated database at args.database_url."""
    os.environ.update(ENVIRONMENT, DATABASE_URL=args.database_url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Exists, OuterRef, Sum
    from django.test import Client
    from django.utils import timezone

    from demo.people import demo_staff
    from demo.workforce import demo_batch_hand_over, demo_contractor_ensure, demo_job, demo_person
    from payroll.models import EntryKind, TimeEntry, Timesheet
    from payroll.selectors.terms import pay_terms_at
    from payroll.selectors.weeks import WEEK, week_start_utc

    call_command("migrate", verbosity=0)
    now = timezone.now()
    tag = f"{now:%Y%m%d%H%M%S}"
    staff = demo_staff("bench-staff@labelcrew.local")
    job = demo_job(staff=staff)
    racers = []
    for n in range(1, args.contractors + 1):
        contractor, _ = demo_contractor_ensure(email=f"race-{tag}-{n}@bench.labelcrew.local",
                                               member=demo_person(seed=0, n=n), staff=staff)
        batch = demo_batch_hand_over(contractor=contractor, job=job, staff=staff, reason="cap race", at=now)
        session = Client()
        session.force_login(contractor.user)
        racers.append(Racer(contractor.pk, batch.pk, session.cookies["labelcrew_session"].value, secrets.token_hex(16)))
    first = week_start_utc(now) - 3 * WEEK
    weeks = (first, first + WEEK)
    cap = pay_terms_at(job=job, moment=first).cap_minutes
    print(f"{args.contractors} contractors x 2 weeks ({weeks[0]:%G-W%V}, {weeks[1]:%G-W%V}), cap {cap} min; "
          f"{args.clients} clients, {args.requests} requests each phase; gunicorn {args.workers} workers; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")

    def post(client: httpx.Client, rng: random.Random) -> Outcome:
        return post_entry(client, base, rng.choice(racers), spans(rng, weeks))

    def get_entries(client: httpx.Client, rng: random.Random) -> Outcome:
        return get_url(client, f"{base}/api/v1/payroll/me/time-entries/?week={weeks[0]:%G-W%V}", rng.choice(racers))

    def get_health(client: httpx.Client, rng: random.Random) -> Outcome:
        return get_url(client, f"{base}/healthz", rng.choice(racers))

    with gunicorn(port=args.port, workers=args.workers) as base:
        seconds, posts = race(clients=args.clients, requests=args.requests, call=post)
        post_rate = report("POST time-entries (racing)", seconds, posts)
        list_rate = report("GET time-entries (reference)", *race(clients=args.clients, requests=args.requests,
                                                                 call=get_entries))
        health_rate = report("GET /healthz (reference)", *race(clients=args.clients, requests=args.requests,
                                                              call=get_health))
    by_status = sorted(Counter((o.status, o.what) for o in posts).items())
    print("POST answers: " + ", ".join(f"{status} {what}: {count}" for (status, what), count in by_status))
    print(f"POST rate / GET list rate: {post_rate / list_rate:.2f}; POST rate / healthz rate: "
          f"{post_rate / health_rate:.2f}")

    ids = [r.contractor_id for r in racers]
    sums = {(r["contractor_id"], r["timesheet__week_start"]): r["minutes"] for r in
            TimeEntry.objects.filter(contractor_id__in=ids, kind=EntryKind.WORK)
            .values("contractor_id", "timesheet__week_start").annotate(minutes=Sum("minutes")).order_by()}
    sheets = {(t.contractor_id, t.week_start): t.work_minutes for t in Timesheet.objects.filter(contractor_id__in=ids)}
    over = [key for key, minutes in sums.items() if minutes > cap]
    at_cap = [key for key, minutes in sums.items() if minutes == cap]
    out_of_step = [key for key in sums.keys() | sheets.keys() if sums.get(key, 0) != sheets.get(key, 0)]
    clash = TimeEntry.objects.filter(contractor_id__in=ids, kind=EntryKind.WORK).filter(Exists(
        TimeEntry.objects.filter(contractor_id=OuterRef("contractor_id"), kind=EntryKind.WORK,
                                 start__lt=OuterRef("end"), end__gt=OuterRef("start")).exclude(pk=OuterRef("pk"))))
    entries = TimeEntry.objects.filter(contractor_id__in=ids).count()
    print(f"contractor-weeks: {len(sums)} with entries ({entries} entries), fullest {max(sums.values(), default=0)} "
          f"min, {len(at_cap)} exactly at the cap, {len(over)} over the cap (SUM of entries; must be 0)")
    print(f"timesheets whose work_minutes differ from their entries: {len(out_of_step)} (must be 0); "
          f"entries overlapping another of the same contractor: {clash.count()} (must be 0)")
    if over or out_of_step or clash.exists():
        raise SystemExit("FAILED: the cap or the bookkeeping did not hold")


if __name__ == "__main__":
    main()

"""Benchmark: the console and the contractor's pages under load at the field's scale, beside Label Studio's own lists.

It seeds its own database with `seed_scale` (by default 1,000 active contractors, a job of 10,000 tasks, 30,000
annotations), starts LabelCrew under gunicorn (2 workers, DEBUG off) and, in the same run, gives the environment's
Label Studio one project of as many tasks as the big job. Then, page after page, 4 clients signed in (staff for the
console, a contractor holding batches for theirs, Label Studio's API token for its lists) ask for the page as fast as
they are answered for a bounded time. It prints per page p50, p95, requests per second, the SQL queries of one
answer (counted in-process) and its size, and beside them Label Studio's `/api/projects/` and
`/api/tasks/?project=`. Target: every LabelCrew page p95 under 150 ms and not slower than Label Studio's task list.

Needs a running Label Studio (the environment's, e.g. `./run demo`'s or `./run test`'s). Its database
(labelcrew_bench_console_smoke) and Label Studio project are removed afterwards.
    python bench/console_load.py                  # seed_scale defaults, 10 s per page
    python bench/console_load.py --smoke          # 60 contractors, 500 tasks, 1 s per page
"""
import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 150.0
LABEL_CONFIG = ('<View><Image name="image" value="$image"/><BrushLabels name="tag" toName="image">'
                '<Label value="Scratch"/><Label value="Pit"/></BrushLabels></View>')


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]


def hammer(*, base: str, path: str, cookies: dict[str, str], headers: dict[str, str], clients: int,
           seconds: float) -> tuple[list[float], float]:
    """Latencies (ms) of GETs of `path` by `clients` concurrent clients for `seconds`, and the requests per second.
    Any answer but 200 ends the run with the page named."""
    import httpx

    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def one_client() -> None:
        with httpx.Client(base_url=base, cookies=cookies, headers=headers, timeout=60) as http:
            while time.monotonic() < stop_at and not failures:
                started = time.perf_counter()
                answer = http.get(path)
                elapsed = (time.perf_counter() - started) * 1000
                if answer.status_code != 200:
                    failures.append(f"GET {path} answered {answer.status_code}: {answer.text[:200]}")
                    return
                with lock:
                    latencies.append(elapsed)

    began = time.monotonic()
    threads = [threading.Thread(target=one_client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(failures[0])
    return latencies, len(latencies) / (time.monotonic() - began)


def counted(client: object, path: str) -> tuple[int, int]:
    """SQL queries and bytes of one answer to `path`, asked in-process by a signed-in Django test client."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        answer = client.get(path)  # type: ignore[attr-defined]
        body = b"".join(answer.streaming_content) if answer.streaming else answer.content
    if answer.status_code != 200:
        raise SystemExit(f"GET {path} answered {answer.status_code} in-process: {body[:300]!r}")
    return len(captured), len(body)


def run(*, contractors: int, tasks: int, annotations: int, seconds: float, clients: int, database: str) -> None:
    from _procs import stop_process_group  # bench/, the script's own folder
    from _smoke import BROKER_URL, django_migrated, throwaway_database
    from gateway import free_port, wait_for

    os.environ["EMAIL_URL"] = "dummymail://"
    with throwaway_database(database) as url:
        django_migrated(url)
        from django.conf import settings
        from django.db.models import Count
        from django.test import Client
        from django.utils import timezone

        from annotations import labelstudio
        from annotations.models import Batch, Job
        from demo.scale import STAFF_EMAIL, scale_pages, scale_seed
        from payroll.selectors.weeks import WEEK, week_name, week_start_utc
        from workforce.models import User

        try:
            labelstudio.server_version()
        except labelstudio.LabelStudioUnavailable as exc:
            raise SystemExit(f"Label Studio is needed: {exc}") from None
        started = time.perf_counter()
        made = scale_seed(contractors=contractors, tasks=tasks, annotations=annotations,
                          scores=max(annotations // 6, 1))
        seeded = time.perf_counter() - started
        from django.db import connection
        if connection.vendor == "postgresql":  # as autovacuum leaves a live database: visibility map and statistics
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
        job = Job.objects.annotate(n=Count("tasks")).order_by("-n").first()
        holder = (Batch.objects.filter(job=job, assigned_to__isnull=False).values_list("assigned_to__user", flat=True)
                  .first())
        week = week_name(week_start_utc(timezone.now()) - WEEK)  # the last ended week, the payroll page's default
        staff_pages, contractor_pages = scale_pages(job_id=job.pk, week=week)

        staff_client, contractor_client = Client(), Client()
        staff_client.force_login(User.objects.get(email=STAFF_EMAIL))
        contractor_client.force_login(User.objects.get(pk=holder))
        settings.ALLOWED_HOSTS = ["*"]
        sizes = {name: counted(staff_client, path) for name, path in staff_pages}
        sizes |= {name: counted(contractor_client, path) for name, path in contractor_pages}

        started = time.perf_counter()
        project = labelstudio.project_ensure(title=f"LabelCrew console bench {os.getpid()}", label_config=LABEL_CONFIG,
                                             instructions="-")
        try:
            for first in range(0, tasks, 2000):
                labelstudio.tasks_import(project_id=project, tasks=[
                    {"image": f"/data/local-files/?d=bench/{i}.jpg", "ref": i}
                    for i in range(first, min(first + 2000, tasks))])
            imported = time.perf_counter() - started
            port = free_port()
            app_env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": BROKER_URL, "CELERY_BROKER_URL": "",
                       "DJANGO_DEBUG": "false", "SITE_URL": f"http://127.0.0.1:{port}",
                       # The bench's 4 clients would trip the API's throttles: this run measures pages, not them.
                       "API_THROTTLE_STAFF": "1000000/min", "API_THROTTLE_CONTRACTOR": "1000000/min"}
            log = ROOT / "var" / f"bench-console-{os.getpid()}.log"
            log.parent.mkdir(exist_ok=True)
            with open(log, "wb") as out:
                web = subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                    cwd=ROOT, env=app_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                base = f"http://127.0.0.1:{port}"
                wait_for(f"{base}/healthz")
                cookie = settings.SESSION_COOKIE_NAME
                as_staff = {cookie: staff_client.cookies[cookie].value}
                as_contractor = {cookie: contractor_client.cookies[cookie].value}
                token = {"Authorization": f"Token {settings.LABEL_STUDIO_API_KEY}"}
                rows = []
                targets = ([(name, base, path, as_staff, {}) for name, path in staff_pages]
                           + [(name, base, path, as_contractor, {}) for name, path in contractor_pages]
                           + [("Label Studio: /api/projects/", settings.LABEL_STUDIO_URL, "/api/projects/", {}, token),
                              ("Label Studio: /api/tasks/?project=", settings.LABEL_STUDIO_URL,
                               f"/api/tasks/?project={project}", {}, token)])
                for name, where, path, cookies, headers in targets:
                    hammer(base=where, path=path, cookies=cookies, headers=headers, clients=1, seconds=0.3)  # warm
                    latencies, rate = hammer(base=where, path=path, cookies=cookies, headers=headers,
                                             clients=clients, seconds=seconds)
                    rows.append((name, latencies, rate))
            finally:
                stop_process_group(web)
                log.unlink(missing_ok=True)
        finally:
            labelstudio.project_delete(project_id=project)

    print(f"seed_scale: {made.contractors} contractors, {made.tasks} tasks in {made.batches} batches, "
          f"{made.annotations} annotations, {made.scores} scores, {made.time_entries} time entries in {seeded:.1f} s; "
          f"Label Studio project of {tasks} tasks imported in {imported:.1f} s")
    print(f"{clients} concurrent clients, {seconds:g} s per page, gunicorn 2 workers, DEBUG off")
    print("| page | p50 | p95 | req/s | queries | size | p95 < 150 ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, latencies, rate in rows:
        queries, size = sizes.get(name, ("-", None))
        print(f"| {name} | {statistics.median(latencies):.1f} ms | {p95(latencies):.1f} ms | {rate:.1f} | {queries} | "
              f"{f'{size / 1000:.0f} kB' if size is not None else '-'} | "
              f"{'yes' if p95(latencies) < TARGET_MS else 'NO'} |")
    ours = [(name, p95(lat)) for name, lat, _ in rows if not name.startswith("Label Studio")]
    slowest = max(ours, key=lambda row: row[1])
    task_list = p95(rows[-1][1])
    print(f"pages over {TARGET_MS:.0f} ms p95: {sum(1 for _, v in ours if v >= TARGET_MS)} of {len(ours)}; "
          f"pages over 200 kB: {sum(1 for s in sizes.values() if s[1] > 200_000)}")
    print(f"slowest LabelCrew page: {slowest[0]} at {slowest[1]:.1f} ms p95")
    print(f"slowest LabelCrew p95 / Label Studio task list p95: {slowest[1] / task_list:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contractors", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--annotations", type=int, default=30_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="time each page is driven for")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--smoke", action="store_true", help="60 contractors, 500 tasks, 1 s per page")
    args = parser.parse_args()
    if args.smoke:
        run(contractors=60, tasks=500, annotations=1500, seconds=1.0, clients=args.clients,
            database="labelcrew_bench_console")
    else:
        run(contractors=args.contractors, tasks=args.tasks, annotations=args.annotations, seconds=args.seconds,
            clients=args.clients, database="labelcrew_bench_console")


if __name__ == "__main__":
    main()

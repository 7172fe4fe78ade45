"""Benchmark: what the gateway (nginx asking LabelCrew about each request) adds in front of Label Studio.

One contractor holding one published batch asks, in turn, directly and through a gateway of the run's own:
Label Studio's task API (GET /api/tasks/<id>/) and one photo file of the batch (GET /data/local-files/?d=...),
signed in as themselves. Prints the median and p95 latency of each, direct and through the gateway, their ratios,
the p95 overhead in ms (target: under 10 ms for the API) and the photo's throughput both ways.

Needs a running Label Studio (the environment's, e.g. `./run demo`'s or `./run test`'s) and nginx; it makes its
own database (labelcrew_bench_gateway, dropped afterwards), a job of its own photos under var/, a LabelCrew
(gunicorn, 2 workers) on a free port and a gateway on another, and removes them all afterwards.
    python bench/gateway.py                  # 200 requests each, a 5472x3648 photo
    python bench/gateway.py --smoke          # 10 requests each, a 640x427 photo
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


def timed(client: object, url: str, n: int) -> tuple[list[float], int]:
    """Latencies (ms) of n GETs of `url` (each read to the end) and the size of the last body."""
    samples, size = [], 0
    for _ in range(n):
        started = time.perf_counter()
        answer = client.get(url)  # type: ignore[attr-defined]
        size = len(answer.content)
        samples.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"GET {url} answered {answer.status_code}: {answer.text[:200]}")
    return samples, size


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]


def run(*, requests: int, width: int, height: int, database: str) -> None:
    import httpx
    from _procs import stop_process_group  # bench/, the script's own folder
    from _smoke import BROKER_URL, django_migrated, sample_job, throwaway_database

    os.environ["EMAIL_URL"] = "dummymail://"  # the contractor's onboarding emails go nowhere
    with throwaway_database(database) as url, sample_job(images=2, width=width, height=height) as sample:
        django_migrated(url)
        from django.conf import settings
        from django.test import Client

        from annotations import labelstudio
        from annotations.models import BatchTask
        from annotations.services import assignment, jobs
        from annotations.services.accounts import label_studio_account_ensure
        from annotations.services.publishing import batch_publish
        from tests.factories import UserFactory, contractor_in_state
        from workforce.models import OnboardingState

        try:
            labelstudio.server_version()
        except labelstudio.LabelStudioUnavailable as exc:
            raise SystemExit(f"Label Studio is needed: {exc}") from None
        job, _ = jobs.job_create(name="Gateway bench", client="Bench", instructions="-", image_source=str(sample),
                                 specs=jobs.specs_from_manifest(sample / "manifest.json"), actor=None, batch_size=2,
                                 gold_rate=Decimal("0"))
        jobs.batches_cut(job=job)
        batch = job.batches.get(number=1)
        batch_publish(batch_id=batch.pk)
        batch.refresh_from_db()
        contractor = contractor_in_state(
            OnboardingState.ACTIVE, user=UserFactory(email=f"bench-{uuid.uuid4().hex[:10]}@bench.labelcrew.local"))
        label_studio_account_ensure(contractor=contractor)
        assignment.batch_assign(batch=batch, contractor=contractor, actor=None, reason="bench")
        bt = BatchTask.objects.filter(batch=batch).select_related("task").first()
        signed_in = Client()
        signed_in.force_login(contractor.user)
        session = signed_in.cookies[settings.SESSION_COOKIE_NAME].value

        folder = Path(tempfile.mkdtemp(prefix="bench-gateway-", dir=settings.VAR_DIR))
        app_port, gateway_port = free_port(), free_port()
        gateway_env = {**os.environ, "GATEWAY_DIR": str(folder), "GATEWAY_PORT": str(gateway_port),
                       "GATEWAY_APP": f"127.0.0.1:{app_port}", "GATEWAY_ENV_FILE": str(folder / "gateway.env"),
                       "LABEL_STUDIO_PORT": settings.LABEL_STUDIO_URL.rsplit(":", 1)[1]}
        subprocess.run([str(ROOT / "scripts" / "gateway"), "start"], env=gateway_env, check=True,
                       capture_output=True)
        gateway = f"http://127.0.0.1:{gateway_port}"
        app_env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": BROKER_URL, "CELERY_BROKER_URL": "",
                   "GATEWAY_ENV_FILE": str(folder / "gateway.env"), "LABEL_STUDIO_PUBLIC_URL": gateway,
                   "GATEWAY_SECRET": (folder / "secret").read_text().strip(), "DJANGO_DEBUG": "false",
                   "SITE_URL": f"http://127.0.0.1:{app_port}"}
        with open(folder / "web.log", "wb") as log:
            web = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{app_port}",
                                    "--workers", "2"], cwd=ROOT, env=app_env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            wait_for(f"http://127.0.0.1:{app_port}/healthz")
            through = httpx.Client(base_url=gateway, timeout=30, cookies={settings.SESSION_COOKIE_NAME: session})
            signing_in = through.get("/_labelcrew/sign-in", params={"next": "/"})
            if signing_in.status_code != 302:
                raise SystemExit(f"signing in through the gateway answered {signing_in.status_code}: "
                                 f"{signing_in.text[:200]}")
            ls_session = through.cookies[labelstudio.SESSION_COOKIE]
            direct = httpx.Client(base_url=settings.LABEL_STUDIO_URL, timeout=30,
                                  cookies={labelstudio.SESSION_COOKIE: ls_session})
            task = f"/api/tasks/{bt.ls_task_id}/"
            photo = "/data/local-files/?" + str(httpx.QueryParams({"d": bt.task.image_path}))
            rows = []
            for what, path in (("task API", task), ("photo", photo)):
                timed(direct, path, 2)  # warm both paths: connections, Label Studio's caches, the decision's
                timed(through, path, 2)
                # Interleaved halves, so a burst of load on the shared machine hits both sides alike.
                d1, size = timed(direct, path, requests // 2)
                g1, _ = timed(through, path, requests // 2)
                d2, _ = timed(direct, path, requests - requests // 2)
                g2, _ = timed(through, path, requests - requests // 2)
                rows.append((what, d1 + d2, g1 + g2, size))
            # The decision alone (what nginx's auth_request waits for), asked of LabelCrew directly.
            decide = httpx.Client(base_url=f"http://127.0.0.1:{app_port}", timeout=30, cookies=through.cookies,
                                  headers={"X-LabelCrew-Gateway": app_env["GATEWAY_SECRET"], "X-Original-URI": photo,
                                           "X-Original-Method": "GET"})
            decisions = []
            for _ in range(requests):
                started = time.perf_counter()
                answer = decide.get("/gateway/decide")
                decisions.append((time.perf_counter() - started) * 1000)
                if answer.status_code != 204:
                    raise SystemExit(f"the decision answered {answer.status_code}: {answer.headers}")
        finally:
            stop_process_group(web)
            subprocess.run([str(ROOT / "scripts" / "gateway"), "stop"], env=gateway_env, check=False,
                           capture_output=True)
            labelstudio.project_delete(project_id=batch.ls_project_id)
            shutil.rmtree(folder, ignore_errors=True)

    print(f"{requests} requests each, one contractor, photo {width}x{height} ({rows[1][3] / 1e6:.2f} MB)")
    print("| what | direct median | direct p95 | gateway median | gateway p95 | median ratio | p95 ratio | "
          "p95 overhead |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for what, d, g, _ in rows:
        print(f"| {what} | {statistics.median(d):.1f} ms | {p95(d):.1f} ms | {statistics.median(g):.1f} ms | "
              f"{p95(g):.1f} ms | {statistics.median(g) / statistics.median(d):.2f}x | {p95(g) / p95(d):.2f}x | "
              f"{p95(g) - p95(d):+.1f} ms |")
    print(f"| the decision alone (photo) | | | {statistics.median(decisions):.1f} ms | {p95(decisions):.1f} ms | | | |")
    d, g, size = rows[1][1], rows[1][2], rows[1][3]
    print(f"photo throughput direct / gateway: {size / statistics.median(d) / 1e3:.0f} MB/s / "
          f"{size / statistics.median(g) / 1e3:.0f} MB/s")
    print(f"gateway / direct (task API p95): {p95(rows[0][2]) / p95(rows[0][1]):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="10 requests each, a small photo")
    args = parser.parse_args()
    if args.smoke:
        run(requests=10, width=640, height=427, database="labelcrew_bench_gateway")
    else:
        run(requests=args.requests, width=5472, height=3648, database="labelcrew_bench_gateway")


if __name__ == "__main__":
    main()

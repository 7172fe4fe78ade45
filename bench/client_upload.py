"""Benchmark: a client's job the way the browser brings it in, against floors measured in the same run.

A gunicorn (as ./run demo starts it, 30 s request timeout) and a Celery worker of its own serve a fresh database.
Signed in as staff over HTTP, it posts the client's ZIP of photos and COCO file (demo/client_files.py, made from a
sample job) to the new-job page as one multipart request streamed from disk, as a browser sends it; the worker
checks the photos and makes the job; it then confirms the COCO category map on the mapping page, and the worker
imports every prediction. Each step is printed against its floor:
  upload  the request (multipart parsed to a temporary file, kept under var/)   vs  copying the ZIP's bytes once
  photos  the worker's job from the ZIP (unpack, read, hash, check, cut batches)  vs  unpack + hash + Pillow size
  import  the COCO file converted and written as each task's prediction          vs  pycocotools decode of each RLE
Full run on the 200 x 5472x3648 sample: python bench/client_upload.py --sample var/sample-full (make it with
./run demo --full or manage.py make_sample_job --out var/sample-full). It recreates labelcrew_bench_upload and
empties Redis db 7, and removes all it made. --smoke: 3 photos of 640x427 on a throwaway database, Redis db 13.
"""
import argparse
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402
from _procs import celery_worker_start, stop_process_group  # noqa: E402 - bench/, the script's own folder

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/labelcrew_bench_upload"
BROKER_URL = "redis://127.0.0.1:6379/7"
STAFF, PASSWORD = "bench-staff@example.com", "bench-upload-password-42"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=REPO_ROOT / "var" / "sample-full",
                        help="a sample job's folder (default var/sample-full: 200 x 5472x3648)")
    parser.add_argument("--port", type=int, default=8123, help="gunicorn's port (default 8123)")
    parser.add_argument("--database-url", default=DATABASE_URL, help="a database this benchmark may drop")
    parser.add_argument("--broker-url", default=BROKER_URL, help="a Redis db this benchmark may empty")
    parser.add_argument("--smoke", action="store_true", help="smallest run: 3 small photos, a throwaway database")
    return parser.parse_args()


def _floors(photos: Path, coco: Path, scratch: Path) -> dict[str, float]:
    """Seconds of the plainest work each step cannot avoid."""
    import json

    import numpy as np
    from PIL import Image
    from pycocotools import mask as coco_mask

    started = time.perf_counter()
    shutil.copyfile(photos, scratch / "copy.zip")
    copy = time.perf_counter() - started
    (scratch / "copy.zip").unlink()
    started = time.perf_counter()
    with zipfile.ZipFile(photos) as archive:
        for info in archive.infolist():
            data = archive.read(info)
            hashlib.sha256(data).hexdigest()
            with Image.open(io.BytesIO(data)) as image:
                image.size  # noqa: B018 - the header read is the work
            (scratch / Path(info.filename).name).write_bytes(data)
    unpack = time.perf_counter() - started
    started = time.perf_counter()
    for annotation in json.loads(coco.read_text())["annotations"]:
        segmentation = annotation["segmentation"]
        np.count_nonzero(coco_mask.decode({"size": segmentation["size"], "counts": segmentation["counts"].encode()}))
    return {"upload": copy, "photos": unpack, "import": time.perf_counter() - started}


def _form_token(client: httpx.Client, url: str) -> tuple[str, str]:
    page = client.get(url)
    page.raise_for_status()
    return TOKEN.search(page.text).group(1), page.text


def _wait(what: str, done: object, seconds: float) -> float:
    started = time.perf_counter()
    while not done():
        if time.perf_counter() - started > seconds:
            raise SystemExit(f"{what}: not done within {seconds:.0f} s")
        time.sleep(0.2)
    return time.perf_counter() - started


def report(args: argparse.Namespace) -> None:
    import _smoke  # bench/, the script's own folder
    import redis

    _smoke.database_recreate(args.database_url)
    redis.Redis.from_url(args.broker_url).flushdb()
    _smoke.django_migrated(args.database_url, broker_url=args.broker_url)
    from django.core.management import call_command

    from annotations.models import ImportKind, ImportRun, ImportState, Job
    from demo.client_files import client_files_write

    var = REPO_ROOT / "var"
    scratch = Path(tempfile.mkdtemp(prefix="bench-upload-", dir=var))
    (scratch / "staff-password").write_text(PASSWORD)
    # Operations: the console's job pages, without the second factor payroll and admin need.
    call_command("ensure_staff_user", "--email", STAFF, "--password-file", str(scratch / "staff-password"),
                 "--role", "operations")
    env = {**os.environ, "DATABASE_URL": args.database_url, "CELERY_BROKER_URL": args.broker_url,
           "REDIS_URL": args.broker_url}  # and the settings module this process runs with
    processes: list[subprocess.Popen] = []
    try:
        photos, coco = client_files_write(manifest_path=args.sample / "manifest.json", out=scratch / "client")
        floors = _floors(photos, coco, scratch)
        with open(scratch / "gunicorn.log", "wb") as log:
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{args.port}", "--workers",
                 "2"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        processes.append(celery_worker_start(queues="default,labelstudio", concurrency=2, env=env,
                                             log=scratch / "worker.log", cwd=REPO_ROOT, name="bench-upload"))
        web = f"http://127.0.0.1:{args.port}"
        patience = 120 if args.smoke else 1800
        _wait("gunicorn", lambda: _answers(f"{web}/healthz"), 60)
        with httpx.Client(base_url=web, timeout=600) as client:
            token, _ = _form_token(client, "/accounts/login/")
            signed_in = client.post("/accounts/login/", data={"login": STAFF, "password": PASSWORD,
                                                              "csrfmiddlewaretoken": token})
            if signed_in.status_code != 302 or "/accounts/" in signed_in.headers["location"]:
                raise SystemExit(f"staff sign-in failed: {signed_in.status_code} {signed_in.headers.get('location')}")
            token, _ = _form_token(client, "/console/jobs/new/")
            fields = {"csrfmiddlewaretoken": token, "name": "Client upload bench", "client": "Bench",
                      "instructions": "Paint every defect.", "source_kind": "zip", "preannotations_format": "coco",
                      "classes": "\n".join(f"{c.key} | {c.label} | {c.colour}" for c in _classes()),
                      "batch_size": "10", "gold_rate": "0", "quality_threshold": "0.5", "hourly_rate": "2.00",
                      "weekly_cap_hours": "20"}
            started = time.perf_counter()
            with photos.open("rb") as zipped, coco.open("rb") as predictions:
                posted = client.post("/console/jobs/new/", data=fields, files={
                    "photos_zip": (photos.name, zipped, "application/zip"),
                    "preannotations": (coco.name, predictions, "application/json")})
            upload = time.perf_counter() - started
            if posted.status_code != 302:
                raise SystemExit(f"the new-job page answered {posted.status_code}, not a redirect: {posted.text[:300]}")
            run = ImportRun.objects.get(kind=ImportKind.PHOTOS)
            made = _wait("the job from the ZIP", lambda: ImportRun.objects.get(pk=run.pk).state in (
                ImportState.DONE, ImportState.FAILED), patience)
            run.refresh_from_db()
            if run.state != ImportState.DONE:
                raise SystemExit(f"the job was refused: {run.error}")
            job = Job.objects.get(pk=run.job_id)
            token, page = _form_token(client, f"/console/jobs/{job.pk}/import/confirm/")
            mapping = dict(re.findall(  # each category as the page preselects it
                r'<select name="(category_\d+)".*?<option value="([^"]+)" selected>', page, re.S))
            form = {"csrfmiddlewaretoken": token, "kind": "predictions",
                    "token": re.search(r'name="token" value="([0-9a-f]{32})"', page).group(1), **mapping}
            started = time.perf_counter()
            confirmed = client.post(f"/console/jobs/{job.pk}/import/confirm/", data=form)
            if confirmed.status_code != 302:
                raise SystemExit(f"the category map was refused: {confirmed.status_code} {confirmed.text[:300]}")
            follow = ImportRun.objects.get(job=job, kind=ImportKind.PREDICTIONS)
            _wait("the COCO import", lambda: ImportRun.objects.get(pk=follow.pk).state in (
                ImportState.DONE, ImportState.FAILED), patience)
            imported = time.perf_counter() - started
            follow.refresh_from_db()
            if follow.state != ImportState.DONE:
                raise SystemExit(f"the COCO import was refused: {follow.error}")
        tasks = job.tasks.count()
        with_prediction = job.tasks.exclude(prediction={}).exclude(prediction__isnull=True).count()
        size = photos.stat().st_size
        print(f"client job: {tasks} photos, ZIP {size / 1e6:.1f} MB, COCO {coco.stat().st_size / 1e6:.1f} MB, "
              f"{len(mapping)} categories mapped, {with_prediction} tasks with the client's prediction")
        print(f"{'step':<8} {'seconds':>8} {'floor s':>8} {'ratio':>6}")
        for step, seconds in (("upload", upload), ("photos", made), ("import", imported)):
            print(f"{step:<8} {seconds:8.2f} {floors[step]:8.2f} {seconds / max(floors[step], 1e-3):5.1f}x")
        print(f"upload request: {upload:.1f} s of gunicorn's 30 s timeout "
              f"({size / 1e6 / max(upload, 1e-3):.0f} MB/s); the rest runs in the worker")
        print(f"load average at the end {os.getloadavg()[0]:.2f}, on {os.cpu_count()} CPUs")
    finally:
        for process in processes:
            stop_process_group(process)
        shutil.rmtree(scratch, ignore_errors=True)
        from annotations.services import client_import

        for run in ImportRun.objects.all():  # the photos unpacked, and each upload's own folder
            shutil.rmtree(var / client_import.PHOTOS_DIR / f"run-{run.pk}", ignore_errors=True)
            if run.upload_path:
                shutil.rmtree((var / run.upload_path).parent, ignore_errors=True)


def _classes() -> tuple:
    from annotations.defects import DEFECT_CLASSES

    return DEFECT_CLASSES


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


def main() -> None:
    args = _arguments()
    import _smoke  # bench/, the script's own folder

    if args.smoke:
        args.database_url, args.broker_url = _smoke.database_url("labelcrew_bench_upload"), _smoke.BROKER_URL
        with _smoke.sample_job(images=3, width=640, height=427) as sample, _smoke.dropped_after(
                args.database_url, args.broker_url):
            args.sample = sample
            report(args)
        return
    if not (args.sample / "manifest.json").is_file():
        raise SystemExit(f"{args.sample}/manifest.json does not exist: run ./run demo --full or pass --sample")
    with _smoke.dropped_after(args.database_url, args.broker_url):
        report(args)


if __name__ == "__main__":
    main()

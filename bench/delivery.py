"""Benchmark: a job of N accepted photos delivered through Celery workers, against the PNG-encode floor of its masks.

Run from the repository root: python bench/delivery.py [--photos 200] [--unique 20] [--concurrency 2]

It recreates its own PostgreSQL database (labelcrew_bench_delivery) and empties its own Redis db (6), writes a
sample job of --unique photos of 5472x3648 in a temp folder under var/ (the sample generator takes ~5 s a photo,
so past --unique the job's photos are further rows on the same files and masks: the delivery's work per photo is
the same), accepts every photo with its gold masks, starts `celery worker -Q default --concurrency 2` itself,
starts the delivery and waits for the ZIP; then the same with a second job whose photos have --overlap annotators
each (two paint the gold, one submits the pre-annotation) and their merged masks accepted (issue #15: overlap 3
against overlap 1 in the same run). Then, in this process, it encodes the same masks with Pillow alone (the
1-bit PNGs the delivery writes, every class of every photo: the floor) and, on a few photos, as 8-bit 0/255 PNGs
for the comparison of the two formats. Everything it made is removed at the end.

--smoke: 3 photos of 640x427, one photo per task, 2 worker processes, on labelcrew_bench_delivery_smoke and Redis
db 13 (emptied at the end).
"""
import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from _procs import celery_worker_start, stop_process_group  # bench/, the script's own folder

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/labelcrew_bench_delivery"
BROKER_URL = "redis://127.0.0.1:6379/6"
TARGET_SECONDS_FOR_200 = 60


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=200, help="photos in the job (default 200)")
    parser.add_argument("--unique", type=int, default=20, help="distinct photos generated (default 20)")
    parser.add_argument("--width", type=int, default=5472)
    parser.add_argument("--height", type=int, default=3648)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--overlap", type=int, default=3,
                        help="annotators per photo of the second job delivered, as merged masks (default 3; 1: none)")
    parser.add_argument("--database-url", default=DATABASE_URL, help="a database this benchmark may drop")
    parser.add_argument("--broker-url", default=BROKER_URL, help="a Redis db this benchmark may empty")
    parser.add_argument("--smoke", action="store_true", help="smallest run: 3 small photos, a throwaway database")
    return parser.parse_args()


def _setup(args: argparse.Namespace) -> None:
    import _smoke  # bench/, the script's own folder

    _smoke.database_recreate(args.database_url)
    import redis

    redis.Redis.from_url(args.broker_url).flushdb()
    _smoke.django_migrated(args.database_url, broker_url=args.broker_url)


def _accepted_job(sample: Path, photos: int, overlap: int = 1) -> int:
    """A job of `photos` photos from the sample (its files reused past the sample's size), each accepted with its
    gold masks; returns the job's id. With overlap > 1 each photo has that many annotators (the last one submits the
    model's pre-annotation, the others the gold masks) and a merged mask accepted for it."""
    from django.utils import timezone

    from annotations.models import Annotation, Batch, BatchState, BatchTask, ReviewState, Task
    from annotations.services import jobs
    from workforce.models import Contractor, User

    job, _ = jobs.job_create(name=f"Delivery bench x{overlap}", client="Bench", instructions="Paint every defect.",
                             specs=jobs.specs_from_manifest(sample / "manifest.json"), image_source=str(sample),
                             actor=None, annotators_per_photo=overlap)
    unique = list(job.tasks.order_by("id"))
    Task.objects.bulk_create([
        Task(job=job, key=f"{source.key}-copy{i}", image_path=source.image_path, image_sha256=uuid.uuid4().hex * 2,
             width=source.width, height=source.height, prediction=source.prediction, gold_result=source.gold_result)
        for i, source in ((i, unique[i % len(unique)]) for i in range(photos - len(unique)))])
    jobs.batches_cut(job=job)
    crew = [Contractor.objects.create(user=User.objects.create_user(f"bench{overlap}-{i}@example.com"))
            for i in range(5)]
    now = timezone.now()
    rows = []
    per_copy = -(-job.tasks.count() // job.batch_size)  # batches of one copy of the photos
    for n, batch in enumerate(Batch.objects.filter(job=job).order_by("number")):
        copy = n // per_copy
        holder = crew[(n + copy) % len(crew)] if overlap == 1 else crew[copy % len(crew)]
        Batch.objects.filter(pk=batch.pk).update(assigned_to=holder, state=BatchState.DONE)
        for bt in BatchTask.objects.filter(batch=batch, is_gold=False).select_related("task"):
            result = bt.task.prediction["result"] if overlap > 1 and copy == overlap - 1 else bt.task.gold_result
            rows.append(Annotation(ls_annotation_id=len(rows) + 1 + overlap * 1_000_000, batch_task=bt,
                                   contractor=holder, result=result, review_state=ReviewState.ACCEPTED,
                                   ls_created_at=now))
    Annotation.objects.bulk_create(rows)
    return job.pk


def _merged(job_id: int) -> float:
    """Each photo's agreement and merged mask computed and the merged mask accepted, in this process; seconds."""
    from annotations.models import Task
    from annotations.services.agreement import photo_agreement_record, photo_merged_accept
    from workforce.models import User
    from workforce.services.staff import staff_role_grant

    staff = User.objects.create_user("bench-merge-staff@example.com", is_staff=True)
    staff_role_grant(user=staff, role="reviewer")
    started = time.perf_counter()
    for task in Task.objects.filter(job_id=job_id).order_by("id"):
        photo_agreement_record(task_id=task.pk)
        photo_merged_accept(task=task, reviewer=staff)
    return time.perf_counter() - started


def _start_worker(args: argparse.Namespace, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": args.database_url, "CELERY_BROKER_URL": args.broker_url,
           "REDIS_URL": args.broker_url}
    return celery_worker_start(queues="default", concurrency=args.concurrency, env=env, log=log, cwd=REPO_ROOT,
                               name="bench-delivery")


def _deliver(job_id: int) -> tuple[float, object]:
    """Seconds from starting the delivery to its ZIP being done, and the delivery."""
    from annotations.models import Delivery, DeliveryState, Job
    from annotations.services.delivery import delivery_start
    from workforce.models import User
    from workforce.services.staff import staff_role_grant

    staff, _ = User.objects.get_or_create(email="bench-staff@example.com", defaults={"is_staff": True})
    staff_role_grant(user=staff, role="operations")
    started = time.perf_counter()
    delivery = delivery_start(job=Job.objects.get(pk=job_id), actor=staff)
    while delivery.state in (DeliveryState.QUEUED, DeliveryState.RUNNING):
        time.sleep(0.2)
        delivery = Delivery.objects.get(pk=delivery.pk)
    return time.perf_counter() - started, delivery


def _encode(mask: np.ndarray, *, eight_bit: bool) -> tuple[float, int]:
    from PIL import Image

    started = time.perf_counter()
    image = Image.fromarray(mask.view(np.uint8) * np.uint8(255) if eight_bit else mask)
    out = io.BytesIO()
    image.save(out, "PNG")
    return time.perf_counter() - started, out.tell()


def _floor(job_id: int) -> tuple[list[float], dict[str, tuple[float, int, int]]]:
    """Per generated photo, seconds Pillow takes to encode its classes' 1-bit PNGs (every class, as delivered); and
    per format (1-bit, 8-bit, both with Pillow) on the first photos' non-empty masks: (seconds, bytes, masks)."""
    from annotations.models import Job
    from annotations.services.gold import masks_of_task

    job = Job.objects.get(pk=job_id)
    per_photo, formats = [], {"1-bit": [0.0, 0, 0], "8-bit 0/255": [0.0, 0, 0]}
    # The generated photos only: the job's further photos are their copies, with the same masks.
    for n, task in enumerate(job.tasks.exclude(key__contains="-copy").order_by("id")):
        masks = masks_of_task(task.gold_result, task)
        spent = 0.0
        for defect in job.label_classes:
            mask = masks.get(defect["label"], np.zeros((task.height, task.width), bool))
            seconds, size = _encode(mask, eight_bit=False)
            spent += seconds
            if n < 5 and mask.any():
                for name, eight_bit in (("1-bit", False), ("8-bit 0/255", True)):
                    seconds, size = _encode(mask, eight_bit=eight_bit)
                    formats[name][0] += seconds
                    formats[name][1] += size
                    formats[name][2] += 1
        per_photo.append(spent)
    return per_photo, {name: tuple(v) for name, v in formats.items()}


def report(args: argparse.Namespace) -> None:
    from demo.sample_job import generate_sample_job

    var = Path(os.environ.get("LABELCREW_VAR_DIR", REPO_ROOT / "var"))
    var.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-delivery-", dir=var))
    # The whole run (photos, the workers' files, the ZIP) lives in this folder, VAR_DIR of this process and the worker.
    os.environ["LABELCREW_VAR_DIR"] = str(folder)
    process = None
    try:
        started = time.perf_counter()
        generate_sample_job(out=folder / "sample", images=min(args.unique, args.photos), width=args.width,
                            height=args.height, seed=7)
        print(f"sample of {min(args.unique, args.photos)} photos of {args.width}x{args.height} generated in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        _setup(args)
        from django.conf import settings

        job_id = _accepted_job(folder / "sample", args.photos)
        overlap_job = _accepted_job(folder / "sample", args.photos, args.overlap) if args.overlap > 1 else None
        merging = _merged(overlap_job) if overlap_job else 0.0
        load_before = os.getloadavg()[0]
        process = _start_worker(args, var / "bench-delivery-worker.log")  # kept: the log outlives the run
        wall, delivery = _deliver(job_id)
        overlap_wall, overlap_delivery = _deliver(overlap_job) if overlap_job else (0.0, None)
        stop_process_group(process)
        for made in (delivery, overlap_delivery):
            if made is not None and made.state != "done":
                raise SystemExit(f"the delivery {made.state}: {made.error}")
        assert (settings.VAR_DIR / delivery.zip_path).is_file()
        if overlap_delivery is not None:
            assert overlap_delivery.report["agreement"]["merged"] == overlap_delivery.photos_total
        floor, formats = _floor(job_id)
    finally:
        if process is not None:
            stop_process_group(process)
        shutil.rmtree(folder, ignore_errors=True)

    photos = delivery.photos_total
    per_photo = wall / photos
    floor_per_photo = statistics.fmean(floor)
    print()
    print(f"| measure | {photos} photos of {args.width}x{args.height} |")
    print("| --- | --- |")
    print(f"| delivery through Celery, {args.concurrency} worker processes, start to ZIP | {wall:.1f} s |")
    print(f"| per photo (wall / photos) | {per_photo * 1000:.0f} ms |")
    print(f"| PNG-encode floor per photo (Pillow, 1-bit, every class, one process, {len(floor)} photos) | "
          f"{floor_per_photo * 1000:.0f} ms |")
    print(f"| ZIP | {delivery.zip_size / 1e6:.1f} MB |")
    if overlap_delivery is not None:
        print(f"| overlap {args.overlap}: agreement + merged mask of every photo, one process | {merging:.1f} s |")
        print(f"| overlap {args.overlap}: delivery of the merged masks, start to ZIP | {overlap_wall:.1f} s |")
    for name, (seconds, size, count) in formats.items():
        if count:
            print(f"| Pillow {name} PNG of a non-empty mask, mean of {count} | {seconds / count * 1000:.0f} ms, "
                  f"{size / count / 1024:.0f} kB |")
    print()
    print(f"delivery per photo / PNG-encode floor per photo: {per_photo / floor_per_photo:.2f}x "
          f"(against the floor shared by {args.concurrency} processes: "
          f"{per_photo / (floor_per_photo / args.concurrency):.2f}x)")
    if overlap_delivery is not None:
        print(f"delivery with overlap {args.overlap} / overlap 1: {overlap_wall / wall:.2f}x")
    if photos == 200 and args.width * args.height >= 5472 * 3648:
        met = "met" if wall < TARGET_SECONDS_FOR_200 else "not met"
        print(f"target: 200 photos under {TARGET_SECONDS_FOR_200} s: {met}")
    print(f"load average at the start {load_before:.2f}, at the end {os.getloadavg()[0]:.2f}, on {os.cpu_count()} CPUs")


def main() -> None:
    args = _arguments()
    import _smoke  # bench/, the script's own folder

    if args.smoke:
        args.database_url, args.broker_url = _smoke.database_url("labelcrew_bench_delivery"), _smoke.BROKER_URL
        args.photos, args.unique, args.width, args.height = 3, 3, 640, 427
        os.environ["DELIVERY_PHOTOS_PER_TASK"] = "1"  # the fan-out over tasks is exercised even at 3 photos
    with _smoke.dropped_after(args.database_url, args.broker_url):
        report(args)


if __name__ == "__main__":
    main()

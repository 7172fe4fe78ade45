"""Benchmark: a job's annotations scored end to end through Celery workers, against the pure core run serially.

Run from the repository root: python bench/scoring_celery.py [--sample DIR] [--annotations N] [--concurrency 2]

It recreates its own PostgreSQL database (labelcrew_bench_scoring) and empties its own Redis db (7),
makes a job from the sample (var/sample-full, else var/sample, else it generates var/sample-bench),
writes N annotations on gold tasks (half the task's pre-annotation unchanged, half the gold answer),
starts `celery worker -Q scoring --concurrency 2` itself, enqueues one score_annotation per annotation
and waits for all. Then, in this process, it scores the same annotations serially with the pure numpy
core (decode, score_masks, rubber stamp, overlay: the same work without Django, Redis or PostgreSQL)
and prints both, with the worker processes' peak RSS (VmHWM).

--smoke: 4 annotations on 2 photos of 640x427 (a sample job in a temp folder under var/), one worker process,
on a database of its own (labelcrew_bench_scoring_smoke, dropped at the end) and Redis db 13 (emptied at the end).
"""

import argparse
import functools
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from _procs import celery_worker_start, stop_process_group  # bench/, the script's own folder

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/labelcrew_bench_scoring"
BROKER_URL = "redis://127.0.0.1:6379/7"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=None, help="sample job directory (holds manifest.json)")
    parser.add_argument("--annotations", type=int, default=200, help="annotations to score (default 200)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--database-url", default=DATABASE_URL, help="a database this benchmark may drop")
    parser.add_argument("--broker-url", default=BROKER_URL, help="a Redis db this benchmark may empty")
    parser.add_argument("--smoke", action="store_true",
                        help="smallest run: 4 annotations, 2 small photos, 1 worker, a throwaway database, Redis db 13")
    return parser.parse_args()


def _sample_dir(given: Path | None) -> Path:
    if given is not None:
        return given
    var = REPO_ROOT / "var"
    for name in ("sample-full", "sample", "sample-bench"):
        if (var / name / "manifest.json").is_file():
            return var / name
    out = var / "sample-bench"
    print(f"no sample job found: generating 20 photos in {out}", flush=True)
    subprocess.run([sys.executable, "manage.py", "make_sample_job", "--images", "20", "--out", str(out)],
                   cwd=REPO_ROOT, check=True)
    return out


def _recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _setup(args: argparse.Namespace) -> None:
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["CELERY_BROKER_URL"] = args.broker_url
    os.environ.pop("CELERY_RESULT_BACKEND", None)
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    _recreate_database(args.database_url)
    import django

    django.setup()
    import redis
    from django.core.management import call_command

    redis.Redis.from_url(args.broker_url).flushdb()
    call_command("migrate", verbosity=0)


def _make_annotations(sample: Path, count: int) -> list[int]:
    """N annotations on gold tasks, spread over tasks and ten contractors, half of them the task's
    pre-annotation submitted unchanged and half exactly right; returns their ids."""
    from django.utils import timezone

    from annotations.models import Annotation, Batch, BatchTask, ReviewState
    from annotations.services import jobs
    from workforce.models import Contractor, User

    job, _ = jobs.job_create(name="Scoring bench", client="Bench", instructions="Paint every defect.",
                             specs=jobs.specs_from_manifest(sample / "manifest.json"), image_source=str(sample),
                             actor=None)
    tasks = list(job.tasks.order_by("id"))
    contractors = [Contractor.objects.create(user=User.objects.create_user(f"bench{i}@example.com"))
                   for i in range(10)]
    ids = []
    for i in range(count):
        task = tasks[i % len(tasks)]
        round_ = i // len(tasks)
        batch, _ = Batch.objects.get_or_create(job=job, number=round_ + 1)
        bt = BatchTask.objects.create(batch=batch, task=task, is_gold=True)
        annotation = Annotation.objects.create(
            ls_annotation_id=uuid.uuid4().int % 2_000_000_000, batch_task=bt, contractor=contractors[i % 10],
            result=task.prediction["result"] if i % 2 == 0 else task.gold_result, review_state=ReviewState.SCORING,
            ls_created_at=timezone.now(),
            lead_time=120.0)
        ids.append(annotation.pk)
    return ids


def _start_worker(args: argparse.Namespace, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": args.database_url, "CELERY_BROKER_URL": args.broker_url}
    return celery_worker_start(queues="scoring", concurrency=args.concurrency, env=env, log=log, cwd=REPO_ROOT,
                               name="bench")


def _vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _reference(ids: list[int]) -> list[float]:
    """Seconds per annotation of the same work done serially here with the pure core."""
    from django.conf import settings
    from PIL import Image

    from annotations.models import Annotation
    from annotations.quality.labelstudio_json import masks_from_results
    from annotations.quality.metrics import round_report, score_masks
    from annotations.quality.overlay import render_overlay
    from annotations.quality.rubber_stamp import detect_rubber_stamp

    rows = list(Annotation.objects.filter(pk__in=ids).select_related("batch_task__task").order_by("id"))
    gold_of = {row.batch_task.task.pk: row.batch_task.task.gold_result for row in rows}
    # The same cache policy as the workers' (annotations.services.scoring._gold_masks).
    gold_masks = functools.lru_cache(maxsize=settings.QUALITY_GOLD_CACHE_SIZE)(
        lambda task_id: masks_from_results(gold_of[task_id])[0])
    seconds = []
    for annotation in rows:
        task = annotation.batch_task.task
        started = time.perf_counter()
        gold = gold_masks(task.pk)
        candidate = masks_from_results(annotation.result)[0]
        round_report(score_masks(gold, candidate)["classes"])
        prediction = masks_from_results(task.prediction["result"])[0]
        detect_rubber_stamp(candidate=candidate, prediction=prediction, gold=gold)
        with Image.open(settings.VAR_DIR / task.image_path) as photo:
            render_overlay(photo=photo, gold=gold, candidate=candidate,
                           max_side=settings.QUALITY_OVERLAY_MAX_SIDE)
        seconds.append(time.perf_counter() - started)
    return seconds


@dataclass(frozen=True)
class CeleryRun:
    """What one run of the job through real workers measured."""

    ids: list[int]
    wall: float  # seconds from the first enqueue to the last result
    durations_ms: list[int]  # QualityScore.duration_ms of each annotation
    worker_peaks_mb: list[float]  # VmHWM of each worker child
    parent_peak_mb: float
    states: dict[str, int]
    flagged: int
    retried: int
    load_before: float


def run_job(args: argparse.Namespace, sample: Path) -> CeleryRun:
    """Recreate the database, write the annotations, score them through `args.concurrency` worker
    processes started here (and stopped, also on error) and read back their scores."""
    _setup(args)
    from django.conf import settings

    from annotations.models import QualityScore, Task
    from annotations.tasks import score_annotation

    ids = _make_annotations(sample, args.annotations)
    task = Task.objects.order_by("id").first()
    print(f"sample {sample}: {Task.objects.count()} photos of {task.width}x{task.height}; {len(ids)} annotations, "
          f"{args.concurrency} worker processes", flush=True)
    load_before = os.getloadavg()[0]
    log = REPO_ROOT / "var" / "bench-scoring-celery-worker.log"
    process = _start_worker(args, log)
    try:
        started = time.perf_counter()
        results = [score_annotation.delay(pk) for pk in ids]
        for result in results:
            result.get(timeout=3600)
        wall = time.perf_counter() - started
        peaks = [_vm_hwm_mb(pid) for pid in _children(process.pid)]
        parent_peak = _vm_hwm_mb(process.pid)
    finally:
        stop_process_group(process)

    scores = list(QualityScore.objects.filter(annotation_id__in=ids))
    for score in scores:  # the overlays are evidence for people, not benchmark output
        if score.overlay_path:
            (settings.VAR_DIR / score.overlay_path).unlink(missing_ok=True)
    return CeleryRun(
        ids=ids, wall=wall, durations_ms=[s.duration_ms for s in scores], worker_peaks_mb=peaks,
        parent_peak_mb=parent_peak, states={state: sum(s.state == state for s in scores)
                                            for state in {s.state for s in scores}},
        flagged=sum(s.rubber_stamp for s in scores), retried=sum(s.attempts > 1 for s in scores),
        load_before=load_before)


def main() -> None:
    args = _arguments()
    if not args.smoke:
        report(args, _sample_dir(args.sample))
        return
    import _smoke  # bench/, the script's own folder

    args.database_url, args.broker_url = _smoke.database_url("labelcrew_bench_scoring"), _smoke.BROKER_URL
    args.annotations, args.concurrency = 4, 1
    with _smoke.sample_job(images=2, width=640, height=427) as sample:
        try:
            report(args, sample)
        finally:
            import redis

            _smoke.database_drop(args.database_url)
            redis.Redis.from_url(args.broker_url).flushdb()


def report(args: argparse.Namespace, sample: Path) -> None:
    """Run the job through Celery, then the serial reference, and print the table."""
    run = run_job(args, sample)
    ids, wall, durations, peaks = run.ids, run.wall, run.durations_ms, run.worker_peaks_mb
    reference = _reference(ids)
    serial = sum(reference)
    print()
    print(f"| measure | Celery, {args.concurrency} workers | serial in-process (pure core) |")
    print("| --- | --- | --- |")
    print(f"| wall time for {len(ids)} annotations | {wall:.1f} s | {serial:.1f} s |")
    print(f"| throughput | {len(ids) / wall:.2f} annotations/s | {len(ids) / serial:.2f} annotations/s |")
    print(f"| per annotation, median | {statistics.median(durations):.0f} ms (duration_ms) | "
          f"{statistics.median(reference) * 1000:.0f} ms |")
    print(f"| per annotation, p95 | {_percentile(durations, 0.95):.0f} ms | "
          f"{_percentile(reference, 0.95) * 1000:.0f} ms |")
    print(f"| peak RSS | worker children {', '.join(f'{p:.0f}' for p in peaks)} MB "
          f"(parent {run.parent_peak_mb:.0f} MB) | - |")
    print()
    print(f"scores: {run.states}; rubber stamps flagged: {run.flagged}; retried: {run.retried}")
    print(f"speed-up of Celery over serial: {serial / wall:.2f}x (ideal {args.concurrency}x); "
          f"Celery wall / serial = {wall / serial:.2f}")
    # Other work on the machine takes CPUs from the workers: a load above the CPU count voids the ratio.
    print(f"load average at the start {run.load_before:.2f}, at the end {os.getloadavg()[0]:.2f}, "
          f"on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()

"""Benchmark: importing a client's COCO pre-annotations (compressed RLE) into a job, against only decoding the
same RLEs with pycocotools.

The COCO file is made from the sample job's own predictions (one compressed RLE per photo and painted class).
Run against a migrated database with Celery eager (CELERY_BROKER_URL unset: the queued import runs in-process),
on a sample job under var/, e.g. after `./run demo --full` (200 photos of 5472x3648):
    DATABASE_URL=... CELERY_BROKER_URL= python bench/import_preannotations.py --manifest var/sample-full/manifest.json
It makes a job there and leaves it. Prints the import (convert, check, re-encode as Label Studio brush results,
write every Task.prediction), the same import again, and each one's ratio to the decode-only floor.
--smoke (no --manifest): 3 photos of 640x427 in a temp folder under var/, on a database of its own
(labelcrew_bench_import_smoke) made, migrated and dropped by the run.
"""
import argparse
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

from pycocotools import mask as coco_mask

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, default=Path("var/sample-full/manifest.json"),
                        help="manifest.json of a sample job under var/ (default: the demo's 200 photos)")
    parser.add_argument("--smoke", action="store_true",
                        help="smallest run: 3 small photos of its own, on a throwaway database")
    args = parser.parse_args()
    if args.smoke:
        from _smoke import django_migrated, sample_job, throwaway_database  # bench/, the script's own folder

        with throwaway_database("labelcrew_bench_import") as url, sample_job(images=3, width=640,
                                                                             height=427) as sample:
            django_migrated(url)
            run(sample / "manifest.json")
        return
    if not args.manifest.is_file():
        parser.error(f"{args.manifest} does not exist: run ./run demo --full, pass --manifest, or use --smoke")
    import django

    django.setup()
    run(args.manifest)


def run(manifest_path: Path) -> None:
    from annotations.models import ImportFormat
    from annotations.services import client_import, jobs
    from demo.client_files import coco_from_sample

    document, category_map, rles = coco_from_sample(manifest_path)
    job, _ = jobs.job_create(name=f"Bench import {time.time():.0f}", client="bench", instructions="bench",
                             specs=jobs.specs_from_manifest(manifest_path), image_source=str(manifest_path),
                             actor=None)
    tasks = list(job.tasks.order_by("key"))
    content = json.dumps(document).encode()
    upload = client_import.import_upload_path(job=job, token=client_import.import_upload_store(
        job=job, name="client-coco.json", chunks=[content]))

    start = time.perf_counter()
    for rle in rles:
        coco_mask.decode(rle)
    floor = time.perf_counter() - start

    timings = []
    for name in ("COCO import (Celery eager)", "COCO import again (nothing new)"):
        start = time.perf_counter()
        run_ = client_import.preannotations_import(job=job, upload_path=upload, fmt=ImportFormat.COCO,
                                                   category_map=category_map, actor=None)
        run_.refresh_from_db()
        timings.append((name, time.perf_counter() - start))
        if run_.state != "done":
            raise SystemExit(f"the import did not finish: {run_.state} {run_.error}")

    print(f"{len(tasks)} photos of {tasks[0].width}x{tasks[0].height}, {len(rles)} COCO RLEs, "
          f"file {len(content) / 1e6:.1f} MB")
    print(f"{'pycocotools decode of every RLE once (floor)':<48} {floor:7.2f} s")
    for name, seconds in timings:
        print(f"{name:<48} {seconds:7.2f} s  {seconds / floor:6.1f}x floor")
    print(f"import / decode floor: {timings[0][1] / floor:.1f}x")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    shutil.rmtree(upload.parent.parent)  # var/imports/job-<id>/, of this run only


if __name__ == "__main__":
    main()

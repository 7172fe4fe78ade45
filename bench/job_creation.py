"""Benchmark: creating and publishing a job of 20 MP photos, against reading the photos once.

Run against a migrated database and a running Label Studio, e.g. after `./run demo --full`
(or `python manage.py make_sample_job --images 200 --width 5472 --height 3648 --out var/sample-full`):
    DATABASE_URL=... python bench/job_creation.py --manifest var/sample-full/manifest.json
Prints the time of each step and its ratio to the I/O floor (hashing every photo once).
"""
import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    import django

    django.setup()
    from annotations import labelstudio
    from annotations.services import jobs, publishing, sync

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--batch-size", type=int, default=10)
    args = parser.parse_args()

    specs = jobs.specs_from_manifest(args.manifest)
    start = time.perf_counter()
    for spec in specs:
        hashlib.sha256(spec.path.read_bytes()).hexdigest()
    floor = time.perf_counter() - start

    steps: list[tuple[str, float]] = []
    start = time.perf_counter()
    job, added = jobs.job_create(name=f"Bench {time.time():.0f}", client="bench", instructions="bench",
                                 specs=specs, image_source=str(args.manifest), actor=None,
                                 batch_size=args.batch_size)
    steps.append((f"job_create ({added} photos checked and stored)", time.perf_counter() - start))
    start = time.perf_counter()
    batches = jobs.batches_cut(job=job)
    steps.append((f"batches_cut ({len(batches)} batches)", time.perf_counter() - start))
    start = time.perf_counter()
    for batch in batches:
        publishing.batch_publish(batch_id=batch.pk)
    steps.append((f"publish to Label Studio ({len(batches)} projects)", time.perf_counter() - start))
    start = time.perf_counter()
    _, added_again = jobs.job_create(name=job.name, client="bench", instructions="bench", specs=specs,
                                         image_source=str(args.manifest), actor=None)
    steps.append((f"job_create again (added {added_again})", time.perf_counter() - start))
    start = time.perf_counter()
    synced = sync.sync_poll(batch_ids=[b.pk for b in batches])
    steps.append((f"sync_poll over {len(batches)} projects ({synced} annotations)", time.perf_counter() - start))

    print(f"photos: {len(specs)}; I/O floor (sha256 of every file once): {floor:.2f} s")
    for name, seconds in steps:
        print(f"{name:<60} {seconds:8.2f} s   {seconds / floor:6.1f}x floor")
    for batch in batches:
        batch.refresh_from_db()
        labelstudio.project_delete(project_id=batch.ls_project_id)


if __name__ == "__main__":
    main()

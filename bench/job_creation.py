"""Benchmark: creating and publishing a job of 20 MP photos, against reading the photos once.

Run against a migrated database and a running Label Studio, e.g. after `./run demo --full`
(or `python manage.py make_sample_job --images 200 --width 5472 --height 3648 --out var/sample-full`):
    DATABASE_URL=... python bench/job_creation.py --manifest var/sample-full/manifest.json
Prints the time of each step and its ratio to the I/O floor (hashing every photo once).
--smoke (no --manifest): 4 photos of 640x427 in a temp folder under var/, batches of 2, on a database of its own
(labelcrew_bench_jobs_smoke) made, migrated and dropped by the run. It publishes to the Label Studio that the
environment configures (./run test's, say) and deletes the projects; with none reachable it says so and skips the
two Label Studio steps.
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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, help="manifest.json of a sample job under var/")
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--smoke", action="store_true",
                        help="smallest run: 4 small photos of its own in batches of 2, on a throwaway database")
    args = parser.parse_args()
    if args.smoke:
        from _smoke import django_migrated, sample_job, throwaway_database  # bench/, the script's own folder

        with throwaway_database("labelcrew_bench_jobs") as url, sample_job(images=4, width=640, height=427) as sample:
            django_migrated(url)
            run(sample / "manifest.json", batch_size=2, studio=_studio_reachable())
        return
    if args.manifest is None:
        parser.error("--manifest is required (or --smoke)")
    import django

    django.setup()
    run(args.manifest, batch_size=args.batch_size)


def _studio_reachable() -> bool:
    from annotations import labelstudio

    try:
        labelstudio.server_version()
    except labelstudio.LabelStudioUnavailable as exc:
        print(f"note: {exc} The two Label Studio steps are skipped.")
        return False
    return True


def run(manifest: Path, *, batch_size: int, studio: bool = True) -> None:
    """Time each step on the photos of `manifest`; without `studio`, the steps that need Label Studio are skipped."""
    from annotations import labelstudio
    from annotations.services import jobs, publishing, sync

    specs = jobs.specs_from_manifest(manifest)
    start = time.perf_counter()
    for spec in specs:
        hashlib.sha256(spec.path.read_bytes()).hexdigest()
    floor = time.perf_counter() - start

    steps: list[tuple[str, float]] = []
    start = time.perf_counter()
    job, added = jobs.job_create(name=f"Bench {time.time():.0f}", client="bench", instructions="bench",
                                 specs=specs, image_source=str(manifest), actor=None,
                                 batch_size=batch_size)
    steps.append((f"job_create ({added} photos checked and stored)", time.perf_counter() - start))
    start = time.perf_counter()
    batches = jobs.batches_cut(job=job)
    steps.append((f"batches_cut ({len(batches)} batches)", time.perf_counter() - start))
    if studio:
        start = time.perf_counter()
        for batch in batches:
            publishing.batch_publish(batch_id=batch.pk)
        steps.append((f"publish to Label Studio ({len(batches)} projects)", time.perf_counter() - start))
    start = time.perf_counter()
    _, added_again = jobs.job_create(name=job.name, client="bench", instructions="bench", specs=specs,
                                         image_source=str(manifest), actor=None)
    steps.append((f"job_create again (added {added_again})", time.perf_counter() - start))
    if studio:
        start = time.perf_counter()
        synced = sync.sync_poll(batch_ids=[b.pk for b in batches])
        steps.append((f"sync_poll over {len(batches)} projects ({synced} annotations)", time.perf_counter() - start))

    print(f"photos: {len(specs)}; I/O floor (sha256 of every file once): {floor:.2f} s")
    for name, seconds in steps:
        print(f"{name:<60} {seconds:8.2f} s   {seconds / floor:6.1f}x floor")
    if not studio:
        print(f"{'publish to Label Studio, sync_poll':<60} skipped: no Label Studio")
        return
    for batch in batches:
        batch.refresh_from_db()
        labelstudio.project_delete(project_id=batch.ls_project_id)


if __name__ == "__main__":
    main()

"""manage.py job_progress_rebuild: recompute every job's stored progress counts (the job list's and page's repair)."""
import time

from django.core.management.base import BaseCommand

from annotations.services.job_progress import job_progress_rebuild


class Command(BaseCommand):
    help = ("Recompute every job's stored progress counts (tasks, gold, batches, published, annotated, handed in, "
            "reviewed, accepted, scored) from its rows and print how many rows were missing or wrong. The services "
            "keep the rows current; run this after writing tasks, batches or annotations around them.")

    def handle(self, *args: object, **options: object) -> None:
        started = time.perf_counter()
        jobs, written = job_progress_rebuild()
        self.stdout.write(f"Job progress rebuilt in {time.perf_counter() - started:.1f} s: {jobs:,} jobs "
                          f"recomputed, {written:,} rows written (missing or wrong).")

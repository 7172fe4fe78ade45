"""manage.py make_sample_job: write the deterministic synthetic screen-inspection job to a directory."""
import os
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.sample_job import FULL_HEIGHT, FULL_WIDTH, SampleJobError, generate_sample_job


class Command(BaseCommand):
    help = (
        "Write a synthetic smartphone-screen defect job: JPEG photos, gold masks and Label Studio results, "
        "imperfect pre-annotations and a manifest. The same arguments always give the same bytes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--images", type=int, default=200, help="number of photos (default 200)")
        parser.add_argument("--width", type=int, default=FULL_WIDTH, help=f"photo width (default {FULL_WIDTH})")
        parser.add_argument("--height", type=int, default=FULL_HEIGHT, help=f"photo height (default {FULL_HEIGHT})")
        parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
        parser.add_argument(
            "--out", type=Path, default=None, help="output directory, default VAR_DIR/sample; replaces a job there"
        )
        parser.add_argument(
            "--workers", type=int, default=os.cpu_count() or 1, help="parallel processes (default: one per CPU)"
        )

    def handle(self, *args: object, **options: object) -> None:
        out = options["out"] or Path(settings.VAR_DIR) / "sample"
        started = time.perf_counter()
        try:
            summary = generate_sample_job(
                out=out,
                images=options["images"],
                width=options["width"],
                height=options["height"],
                seed=options["seed"],
                workers=options["workers"],
            )
        except SampleJobError as exc:
            raise CommandError(str(exc)) from exc
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"Wrote {summary.images} images with {summary.defects} defects in {seconds:.1f} s to {summary.out}"
        )

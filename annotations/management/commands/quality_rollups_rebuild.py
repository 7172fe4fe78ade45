"""manage.py quality_rollups_rebuild: recompute every contractor's stored quality rollup (the boards' repair)."""
import time

from django.core.management.base import BaseCommand, CommandParser

from annotations.services.quality_rollups import REBUILD_CHUNK, quality_rollups_rebuild


class Command(BaseCommand):
    help = ("Recompute every contractor's stored quality rollup (rolling score, per-class means, rubber stamps) "
            "from their scores, in chunks, and print how many rows were missing or wrong. The scoring services "
            "keep the rows current; run this after writing scores around them (bulk loads, hand edits).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chunk", type=int, default=REBUILD_CHUNK,
                            help=f"contractors per transaction (default {REBUILD_CHUNK})")

    def handle(self, *args: object, chunk: int, **options: object) -> None:
        started = time.perf_counter()
        contractors, written = quality_rollups_rebuild(chunk=max(chunk, 1))
        self.stdout.write(f"Quality rollups rebuilt in {time.perf_counter() - started:.1f} s: {contractors:,} "
                          f"contractors recomputed, {written:,} rows written (missing or wrong).")

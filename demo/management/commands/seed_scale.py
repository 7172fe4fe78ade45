"""manage.py seed_scale: the console's measuring data set (issue #16), in bulk, into an empty database."""
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.errors import DomainError
from demo.scale import scale_seed


class Command(BaseCommand):
    help = ("Fill an EMPTY, migrated database with a consistent data set at the field's scale: by default 1,000 "
            "active contractors in 40 countries with four pay weeks of time entries and timesheets and a pay run, "
            "3 jobs of which one has 10,000 tasks in 1,000 batches, 30,000 annotations and 5,000 quality scores. "
            "No Label Studio is needed (its ids are synthetic). Refuses a database that holds anything.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--contractors", type=int, default=1000)
        parser.add_argument("--tasks", type=int, default=10_000, help="photos of the big job (default 10,000)")
        parser.add_argument("--annotations", type=int, default=30_000)
        parser.add_argument("--scores", type=int, default=5000, help="quality scores on gold photos (default 5,000)")
        parser.add_argument("--seed", type=int, default=16)

    def handle(self, *args: object, **options: int) -> None:
        started = time.perf_counter()
        try:
            made = scale_seed(contractors=options["contractors"], tasks=options["tasks"],
                              annotations=options["annotations"], scores=options["scores"], seed=options["seed"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"Seeded in {time.perf_counter() - started:.1f} s: {made.contractors:,} contractors, {made.jobs} jobs, "
            f"{made.tasks:,} tasks in {made.batches:,} batches, {made.rounds:,} qualification rounds, "
            f"{made.annotations:,} annotations, {made.scores:,} "
            f"quality scores, {made.time_entries:,} time entries in {made.timesheets:,} timesheets, "
            f"{made.statements:,} statements paid by one pay run. Staff user: scale-staff@labelcrew.local "
            "(set a password with manage.py ensure_staff_user).")

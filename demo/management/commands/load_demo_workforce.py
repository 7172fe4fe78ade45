"""manage.py load_demo_workforce: demo contractors from many countries with a pay week of hours and evidence."""
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.errors import DomainError
from demo.workforce import STAFF_EMAIL, demo_workforce_load
from payroll.selectors.weeks import week_parse


class Command(BaseCommand):
    help = (
        "Make active demo contractors (demo-contractor-N@labelcrew.local, the crew load_demo_job also uses) across "
        "many countries and log a realistic pay week for each: some near or at the weekly cap, a few flagged, one "
        "split at Monday. The same seed gives the same data; running it again adds nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--contractors", type=int, default=50, help="demo contractors (default 50)")
        parser.add_argument("--week", required=True, help="ISO pay week, e.g. 2026-W48")
        parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
        parser.add_argument("--staff-email", default=STAFF_EMAIL, help="the staff user who approves and assigns")

    def handle(self, *args: object, **options: Any) -> None:
        try:
            week_start = week_parse(options["week"], field="--week")
            summary = demo_workforce_load(contractors=options["contractors"], week_start=week_start,
                                          seed=options["seed"], staff_email=options["staff_email"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(summary.line())

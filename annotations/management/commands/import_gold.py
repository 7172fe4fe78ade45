"""manage.py import_gold: new gold for a job's photos from a Label Studio JSON export or a ZIP of PNG masks."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotations.models import Job
from annotations.services.gold_masks import NAMING, gold_import_file
from common.errors import DomainError


class Command(BaseCommand):
    help = (
        "Import gold into a job from a Label Studio JSON export or a ZIP of PNG masks (one per task and class, "
        f"named {NAMING}). All or nothing: bad input changes nothing and exits 1. What was scored on the old "
        "gold is re-scored by the workers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--job", type=int, required=True, help="the job's id (on its console page)")
        parser.add_argument("path", type=Path, help="a .json export or a .zip of PNG masks")

    def handle(self, *args: object, job: int, path: Path, **options: object) -> None:
        found = Job.objects.filter(pk=job).first()
        if found is None:
            raise CommandError(f"no job with id {job}.")
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror or exc}.") from None
        try:
            updated = gold_import_file(job=found, content=content, name=path.name)
        except DomainError as exc:
            raise CommandError(f"gold import refused, nothing changed: {exc.message}") from None
        self.stdout.write(f"Gold imported into {found}: {updated} photo(s) got a new gold version.")

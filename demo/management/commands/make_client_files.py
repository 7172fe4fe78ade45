"""manage.py make_client_files: a sample job's photos as a ZIP and its predictions as COCO, as a client sends them."""
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.client_files import client_files_write


class Command(BaseCommand):
    help = ("Write a sample job's photos as client-photos.zip and its pre-annotations as client-coco.json (COCO "
            "instance segmentation, compressed RLE): the files a client sends, for the console's new-job page.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sample", type=Path, default=None,
                            help="the sample job's folder (default VAR_DIR/sample)")
        parser.add_argument("--out", type=Path, default=None, help="output folder (default VAR_DIR/client)")

    def handle(self, *args: object, **options: object) -> None:
        var = Path(settings.VAR_DIR)
        manifest = (options["sample"] or var / "sample") / "manifest.json"
        if not manifest.is_file():
            raise CommandError(f"{manifest} does not exist: make the sample job first (manage.py make_sample_job).")
        photos, coco = client_files_write(manifest_path=manifest, out=options["out"] or var / "client")
        self.stdout.write(f"Wrote {photos} ({photos.stat().st_size:,} bytes) and {coco} "
                          f"({coco.stat().st_size:,} bytes)")

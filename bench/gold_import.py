"""Benchmark: importing a job's gold from a ZIP of PNG masks, against the Label Studio JSON import of the
same gold and against only decoding the PNGs.

Run against a migrated database (it makes a job there and leaves it), on a sample job under var/, e.g.
    python manage.py make_sample_job --images 12 --width 5472 --height 3648 --out var/sample-bench
    DATABASE_URL=... python bench/gold_import.py --manifest var/sample-bench/manifest.json
Each import first sets every task's gold to "no defect", so both imports write a version per task.
--smoke (no --manifest): 3 photos of 640x427 in a temp folder under var/, on a database of its own
(labelcrew_bench_gold_smoke) made, migrated and dropped by the run.
"""
import argparse
import io
import json
import os
import resource
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, help="manifest.json of a sample job under var/")
    parser.add_argument("--smoke", action="store_true",
                        help="smallest run: 3 small photos of its own, on a throwaway database")
    args = parser.parse_args()
    if args.smoke:
        from _smoke import django_migrated, sample_job, throwaway_database  # bench/, the script's own folder

        with throwaway_database("labelcrew_bench_gold") as url, sample_job(images=3, width=640, height=427) as sample:
            django_migrated(url)
            run(sample / "manifest.json")
        return
    if args.manifest is None:
        parser.error("--manifest is required (or --smoke)")
    import django

    django.setup()
    run(args.manifest)


def run(manifest_path: Path) -> None:
    from annotations.models import GoldSource
    from annotations.services import jobs
    from annotations.services.gold import gold_import, gold_set
    from annotations.services.gold_masks import gold_import_masks
    from annotations.services.publishing import image_url

    root = manifest_path.parent
    manifest = json.loads(manifest_path.read_text())

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for task in manifest["tasks"]:
            for rel in task["gold_masks"].values():
                archive.write(root / rel, f"gold/{Path(rel).name}")
    masks_zip = buf.getvalue()
    pngs = [root / rel for task in manifest["tasks"] for rel in task["gold_masks"].values()]

    job, _ = jobs.job_create(name=f"Bench gold {time.time():.0f}", client="bench", instructions="bench",
                             specs=jobs.specs_from_manifest(manifest_path), image_source=str(manifest_path),
                             actor=None)
    tasks = list(job.tasks.order_by("key"))
    export = json.dumps([{"data": {"image": image_url(t.image_path)},
                          "annotations": [{"result": json.loads((root / f"gold/{t.key}.json").read_text())}]}
                         for t in tasks])

    def reset() -> None:
        for task in tasks:
            gold_set(task=task, result=[], source=GoldSource.IMPORT)

    start = time.perf_counter()
    for path in pngs:
        np.asarray(Image.open(path)) > 0  # noqa: B015 - the decode is what is timed
    floor = time.perf_counter() - start

    reset()
    start = time.perf_counter()
    json_new = gold_import(job=job, document=export)
    json_time = time.perf_counter() - start

    reset()
    start = time.perf_counter()
    png_new = gold_import_masks(job=job, archive=masks_zip)
    png_time = time.perf_counter() - start

    start = time.perf_counter()
    again = gold_import_masks(job=job, archive=masks_zip)
    again_time = time.perf_counter() - start

    print(f"{len(tasks)} photos of {tasks[0].width}x{tasks[0].height}, {len(pngs)} PNGs, "
          f"ZIP {len(masks_zip) / 1e6:.1f} MB")
    print(f"{'decode every PNG once (floor)':<52} {floor:7.2f} s")
    rows = [(f"Label Studio JSON import ({json_new} new versions)", json_time),
            (f"PNG ZIP import ({png_new} new versions)", png_time),
            (f"PNG ZIP import again ({again} new versions)", again_time)]
    for name, seconds in rows:
        print(f"{name:<52} {seconds:7.2f} s  {seconds / floor:5.1f}x floor  {seconds / json_time:5.2f}x JSON import")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()

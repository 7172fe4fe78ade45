"""Benchmark of mask scoring (issue #7's table): RLE codecs, IoU vs pycocotools, full score, memory, Celery job.

Run from the repository root: python bench/scoring.py [--sample DIR] [--repeat N] [--sdk-repeat N] [--celery]
With --sample DIR holding the manifest.json of `manage.py make_sample_job --out DIR`, one of its
5472x3648 tasks is used (gold result list vs prediction, and its photo); otherwise a realistic pair
and a photo are synthesized. Measured side by side in one run: rle_to_mask and mask_to_rle against
label_studio_sdk.converter.brush and the Rust package label-studio-brush-rle-rs (requirements-dev.txt),
our IoU against pycocotools', score_masks on one core, and one annotation scored the way a worker does
it (packed masks, score, rubber-stamp check, overlay from the JPEG) in a fresh process with its peak RSS.

--celery adds the job end to end through Celery (bench/scoring_celery.py's run, ~3 min for 200
annotations: it drops and recreates --database-url and empties --broker-url) with the worker
processes' peak RSS, which is what the 500 MB target is about; without it that row reports the
single-process peak and says the worker was not measured. The run ends with the targets' table.

--smoke: a synthesized 1368x912 pair and photo, one run of each step, no Celery job (that is
bench/scoring_celery.py --smoke), to check the script still runs.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from label_studio_sdk.converter.brush import decode_rle, mask2rle

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from annotations.quality.classes import DEFECT_CLASSES  # noqa: E402
from annotations.quality.labelstudio_json import (  # noqa: E402
    BRUSH_FROM_NAME,
    IMAGE_TO_NAME,
    masks_from_results,
    packed_masks_from_results,
    results_from_document,
)
from annotations.quality.metrics import iou, score_masks  # noqa: E402
from annotations.quality.overlay import render_overlay  # noqa: E402
from annotations.quality.rle import mask_to_rle, rle_to_mask  # noqa: E402
from annotations.quality.rubber_stamp import detect_rubber_stamp  # noqa: E402

WIDTH, HEIGHT = 5472, 3648
LABELS = [d.label for d in DEFECT_CLASSES]  # what a job of the sample's classes reports
OVERLAY_MAX_SIDE = 2048  # settings.QUALITY_OVERLAY_MAX_SIDE
# The CLI's main, then its peak RSS from VmHWM: ru_maxrss of a child also counts the parent's
# pages from before the exec, which here are far larger than the child's.
CLI_WITH_PEAK = (
    "import sys\n"
    "from annotations.quality.__main__ import main\n"
    "code = main(sys.argv[1:])\n"
    "sys.stdout.flush()\n"
    "print(next(line for line in open('/proc/self/status') if line.startswith('VmHWM')), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


# --- synthetic pair -----------------------------------------------------------------------------


def _draw(canvas: np.ndarray, kind: str, params: dict, dy: int, dx: int, grow: int) -> None:
    """Paint one defect (shifted by dy, dx; brush `grow` px thicker or thinner) into a uint8 canvas."""
    if kind in ("scratch", "crack"):
        points = params["points"] + np.array([dx, dy])
        thickness = max(1, params["width"] + 2 * grow)
        cv2.polylines(canvas, [points.astype(np.int32)], False, 1, thickness)
    elif kind in ("pit", "blemish", "discoloration"):
        axes = (max(1, params["axes"][0] + grow), max(1, params["axes"][1] + grow))
        cv2.ellipse(canvas, (params["x"] + dx, params["y"] + dy), axes, params["angle"], 0.0, 360.0, 1, -1)
    else:  # missing surface: an irregular polygon
        cv2.fillPoly(canvas, [(params["points"] + np.array([dx, dy])).astype(np.int32)], 1)


def _random_defect(rng: np.random.Generator, kind: str, width: int = WIDTH, height: int = HEIGHT) -> dict:
    """Distances are those of a 5472 px wide photo, scaled to `width`."""
    scale = width / WIDTH

    def px(value: int) -> int:
        return max(1, int(value * scale))

    x, y = int(rng.integers(px(150), width - px(150))), int(rng.integers(px(150), height - px(150)))
    if kind in ("scratch", "crack"):
        steps = 2 if kind == "scratch" else int(rng.integers(5, 12))
        step = (900.0 if kind == "scratch" else 120.0) * scale
        angles = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.6 if kind == "crack" else 0.02, steps))
        points = np.cumsum(np.column_stack((np.cos(angles), np.sin(angles))) * step, axis=0) + np.array([x, y])
        points = np.clip(points, 0, (width - 1, height - 1))
        return {"points": points, "width": int(rng.integers(1, 7))}
    if kind in ("pit", "blemish", "discoloration"):
        size = {"pit": (3, 25), "blemish": (20, 120), "discoloration": (150, 500)}[kind]
        return {"x": x, "y": y, "axes": tuple(int(a) for a in rng.integers(px(size[0]), px(size[1]), size=2)),
                "angle": float(rng.uniform(0, 180))}
    angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
    radii = rng.uniform(40 * scale, 200 * scale, 9)
    return {"points": np.column_stack((x + radii * np.cos(angles), y + radii * np.sin(angles)))}


def _result(mask: np.ndarray, label: str, rid: str) -> dict:
    return {
        "id": rid, "type": "brushlabels", "from_name": BRUSH_FROM_NAME, "to_name": IMAGE_TO_NAME,
        "original_width": mask.shape[1], "original_height": mask.shape[0], "image_rotation": 0,
        "value": {"format": "rle", "rle": mask_to_rle(mask), "brushlabels": [label]},
    }


def synthesize(seed: int = 0, defects: int = 25, width: int = WIDTH, height: int = HEIGHT
               ) -> tuple[list[dict], list[dict]]:
    """(gold results, candidate results): one brush result per defect, as annotators draw them.

    The candidate redraws each defect up to 2 px off and 1 px thicker or thinner, misses one,
    splits one scratch in two and invents one pit.
    """
    rng = np.random.default_rng(seed)
    kinds = [DEFECT_CLASSES[i % len(DEFECT_CLASSES)] for i in range(defects)]
    gold, cand = [], []
    canvas = np.zeros((height, width), np.uint8)
    for n, defect in enumerate(kinds):
        params = _random_defect(rng, defect.key, width, height)
        canvas[:] = 0
        _draw(canvas, defect.key, params, 0, 0, 0)
        gold.append(_result(canvas.view(bool), defect.label, f"g{n}"))
        if n == 1:  # missed
            continue
        canvas[:] = 0
        dy, dx = (int(v) for v in rng.integers(-2, 3, size=2))
        _draw(canvas, defect.key, params, dy, dx, int(rng.integers(-1, 2)))
        if n == 0:  # scratch drawn as two strokes with a gap
            cv2.circle(canvas, tuple(int(v) for v in params["points"].mean(axis=0)), 12, 0, -1)
        cand.append(_result(canvas.view(bool), defect.label, f"c{n}"))
    canvas[:] = 0
    cv2.circle(canvas, (width // 2, height // 2), 9, 1, -1)
    cand.append(_result(canvas.view(bool), DEFECT_CLASSES[1].label, "c-extra"))
    return gold, cand


# --- sample job ---------------------------------------------------------------------------------


def from_sample(directory: Path) -> tuple[list[dict], list[dict], Path, Path, Path]:
    """(gold results, prediction results, their files, the photo) of the first 5472x3648 task of a sample job."""
    manifest = json.loads((directory / "manifest.json").read_text())
    first = None
    for task in manifest["tasks"]:
        gold_path, cand_path = directory / task["gold_result"], directory / task["prediction"]
        gold = results_from_document(json.loads(gold_path.read_text()))
        cand = results_from_document(json.loads(cand_path.read_text()))
        sizes = {(r.get("original_width"), r.get("original_height")) for r in gold if r.get("type") == "brushlabels"}
        if sizes == {(WIDTH, HEIGHT)}:
            return gold, cand, gold_path, cand_path, directory / task["image"]
        first = first or (gold, cand, gold_path, cand_path, directory / task["image"])
    if first is None:
        raise SystemExit(f"{directory / 'manifest.json'} lists no task")
    print(f"note: no {WIDTH}x{HEIGHT} task in the sample; using the first task")
    return first


# --- timing helpers -----------------------------------------------------------------------------


def median_time(fn: Callable[[], object], repeat: int, clock: Callable[[], float] = time.perf_counter) -> float:
    times = []
    for _ in range(repeat):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.1f} ms"


def ratio(other: float | None, ours: float) -> str:
    return "-" if other is None else f"{other / ours:.1f}x"


def _rust_codec() -> tuple[Callable, Callable] | None:
    """(decode_rle(rle, print_params), encode_rle(flat, word_size, rle_sizes)) of label-studio-brush-rle-rs."""
    try:
        import label_studio_brush_rle_rs as rs
    except ImportError:
        return None
    return rs.decode_rle, rs.encode_rle


def synthetic_photo(path: Path, width: int = WIDTH, height: int = HEIGHT) -> Path:
    """A 5472x3648 JPEG of smooth gradients (a photo's size and decode cost, not its looks)."""
    ys, xs = np.mgrid[0:height, 0:width]
    rgb = np.dstack([xs * 255 // width, ys * 255 // height, (xs + ys) % 256]).astype(np.uint8)
    cv2.imwrite(str(path), rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def score_like_a_worker(gold_results: list[dict], cand_results: list[dict], photo: Path) -> dict:
    """What annotations.services.scoring._measure does for one annotation, without the database: packed
    masks, score_masks, the rubber-stamp rule (the candidate as its own pre-annotation: the full check)
    and the overlay JPEG from the photo."""
    from PIL import Image

    gold, _, _ = packed_masks_from_results(gold_results)
    candidate, _, _ = packed_masks_from_results(cand_results)
    report = score_masks(gold, candidate, labels=LABELS)
    with Image.open(photo) as image:
        render_overlay(photo=image, gold=gold, candidate=candidate, max_side=OVERLAY_MAX_SIDE)
    detect_rubber_stamp(candidate=candidate, prediction=candidate, gold=gold, labels=LABELS)
    return report


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def peak_child(gold_file: Path, cand_file: Path, photo: Path) -> None:
    """Run in a fresh process: print the RSS after imports and the peak (VmHWM) after one worker-like score."""
    gold = results_from_document(json.loads(gold_file.read_text()))
    cand = results_from_document(json.loads(cand_file.read_text()))
    bare = _status_mb("VmRSS")
    score_like_a_worker(gold, cand, photo)
    print(json.dumps({"bare_mb": bare, "peak_mb": _status_mb("VmHWM")}))


def peak_of_one_score(gold_file: Path, cand_file: Path, photo: Path) -> dict:
    child = subprocess.run(
        [sys.executable, __file__, "--peak-child", str(gold_file), str(cand_file), str(photo)],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False,
    )
    if child.returncode != 0:
        raise SystemExit(f"the peak-memory child failed: {child.stderr.strip()}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def celery_job(args: argparse.Namespace, sample: Path | None):
    """bench/scoring_celery.py's run of the job through `args.concurrency` real workers."""
    import scoring_celery  # bench/, this script's folder

    options = argparse.Namespace(annotations=args.annotations, concurrency=args.concurrency,
                                 database_url=args.database_url, broker_url=args.broker_url)
    return scoring_celery.run_job(options, scoring_celery._sample_dir(sample))


def print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths,
                                                                                                   strict=True))))


def main() -> None:
    import scoring_celery  # bench/, this script's folder: its defaults

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=Path, help="directory of a sample job (manifest.json)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each of our steps (median reported)")
    parser.add_argument("--sdk-repeat", type=int, default=3, help="runs of each SDK / Rust / pycocotools step")
    parser.add_argument("--celery", action="store_true", help="also score a job end to end through Celery")
    parser.add_argument("--annotations", type=int, default=200, help="annotations of the Celery job (default 200)")
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes (default 2)")
    parser.add_argument("--database-url", default=scoring_celery.DATABASE_URL,
                        help="a database the Celery job may drop")
    parser.add_argument("--broker-url", default=scoring_celery.BROKER_URL, help="a Redis db the Celery job may empty")
    parser.add_argument("--smoke", action="store_true",
                        help="smallest run: a synthesized 1368x912 pair, one run of each step, no Celery job")
    parser.add_argument("--peak-child", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smoke:
        if args.celery:
            parser.error("--smoke runs no Celery job: bench/scoring_celery.py --smoke is that one's")
        args.sample, args.repeat, args.sdk_repeat = None, 1, 1
    width, height = (WIDTH // 4, HEIGHT // 4) if args.smoke else (WIDTH, HEIGHT)
    # The target is one core per worker; OpenCV would otherwise spread some calls over all cores.
    cv2.setNumThreads(1)
    if args.peak_child:
        peak_child(*args.peak_child)
        return

    workdir = tempfile.TemporaryDirectory()
    if args.sample and (args.sample / "manifest.json").exists():
        gold_results, cand_results, gold_file, cand_file, photo = from_sample(args.sample)
        source = f"sample job {args.sample} ({gold_file.name} vs {cand_file.name})"
    else:
        if args.sample:
            print(f"note: {args.sample / 'manifest.json'} not found; synthesizing a pair")
        gold_results, cand_results = synthesize(width=width, height=height)
        gold_file, cand_file = Path(workdir.name) / "gold.json", Path(workdir.name) / "candidate.json"
        gold_file.write_text(json.dumps(gold_results))
        cand_file.write_text(json.dumps({"result": cand_results}))
        photo = synthetic_photo(Path(workdir.name) / "photo.jpg", width, height)
        source = "synthetic pair"

    gold_masks, height, width = masks_from_results(gold_results)
    cand_masks, _, _ = masks_from_results(cand_results)
    brushes = [r for r in gold_results if r.get("type") == "brushlabels"]
    rles = [r["value"]["rle"] for r in brushes]
    print(f"{source}: {width}x{height}, gold {len(brushes)} brush results in {len(gold_masks)} classes, "
          f"{sum(int(m.sum()) for m in gold_masks.values())} defect px; candidate "
          f"{sum(1 for r in cand_results if r.get('type') == 'brushlabels')} results", flush=True)

    def sdk_mask(rle: list[int]) -> np.ndarray:
        return decode_rle(rle).reshape(height, width, 4)[:, :, 3] > 0

    rust = _rust_codec()
    for rle in rles[:2]:
        ours_mask = rle_to_mask(rle, height, width)
        assert np.array_equal(ours_mask, sdk_mask(rle)), "rle_to_mask differs from the SDK"
        if rust:
            assert np.array_equal(ours_mask, rust[0](rle, False).reshape(height, width, 4)[:, :, 3] > 0)

    def rust_mask(rle: list[int]) -> np.ndarray:
        return rust[0](rle, False).reshape(height, width, 4)[:, :, 3] > 0

    dec_ours = median_time(lambda: [rle_to_mask(r, height, width) for r in rles], args.repeat)
    dec_sdk = median_time(lambda: [sdk_mask(r) for r in rles], args.sdk_repeat)
    dec_rust = median_time(lambda: [rust_mask(r) for r in rles], args.sdk_repeat) if rust else None

    # The case: one 20 MP mask holding every defect (gold's union as one RLE).
    union = np.logical_or.reduce(list(gold_masks.values()))
    union_u8 = union.astype(np.uint8) * 255
    union_rle = mask_to_rle(union)
    assert np.array_equal(rle_to_mask(union_rle, height, width), sdk_mask(union_rle))
    udec_ours = median_time(lambda: rle_to_mask(union_rle, height, width), args.repeat)
    udec_sdk = median_time(lambda: sdk_mask(union_rle), args.sdk_repeat)
    udec_rust = median_time(lambda: rust_mask(union_rle), args.sdk_repeat) if rust else None
    assert mask_to_rle(union) == mask2rle(union_u8), "mask_to_rle differs from the SDK"
    enc_ours = median_time(lambda: mask_to_rle(union), args.repeat)
    enc_sdk = median_time(lambda: mask2rle(union_u8), args.sdk_repeat)
    enc_rust = None
    if rust:
        assert list(rust[1](np.repeat(union_u8.ravel(), 4), 8, [3, 4, 8, 16])) == mask_to_rle(union)
        enc_rust = median_time(lambda: rust[1](np.repeat(union_u8.ravel(), 4), 8, [3, 4, 8, 16]), args.sdk_repeat)

    cand_union = np.logical_or.reduce(list(cand_masks.values()))
    iou_ours = iou(union, cand_union)
    t_iou_ours = median_time(lambda: iou(union, cand_union), args.repeat)
    try:
        from pycocotools import mask as mask_utils
    except ImportError:
        mask_utils = None
    iou_coco = t_iou_coco = None
    if mask_utils:
        def coco() -> float:
            encoded = mask_utils.encode(np.asfortranarray(np.stack([union, cand_union], axis=2).view(np.uint8)))
            return float(mask_utils.iou([encoded[1]], [encoded[0]], [0])[0, 0])

        iou_coco = coco()
        t_iou_coco = median_time(coco, args.sdk_repeat)

    t_score = median_time(lambda: score_masks(gold_masks, cand_masks), args.repeat)
    cpu_score = median_time(lambda: score_masks(gold_masks, cand_masks), args.repeat, time.process_time)
    tracemalloc.start()
    report = score_masks(gold_masks, cand_masks)
    _, score_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    cpu_worker = median_time(lambda: score_like_a_worker(gold_results, cand_results, photo), args.repeat,
                             time.process_time)
    peak = peak_of_one_score(gold_file, cand_file, photo)

    start = time.perf_counter()
    cli = subprocess.run(
        [sys.executable, "-c", CLI_WITH_PEAK, "score", str(gold_file), str(cand_file)],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False,
    )
    t_cli = time.perf_counter() - start
    if cli.returncode != 0:
        raise SystemExit(f"CLI failed: {cli.stderr.strip()}")
    cli_rss = int(cli.stderr.split()[-2]) / 1024

    job = celery_job(args, args.sample) if args.celery else None

    rust_note = "" if rust else "  (label-studio-brush-rle-rs: not installed)"
    print(f"\nnumpy {np.__version__}, OpenCV {cv2.__version__}; medians of {args.repeat} (ours) / "
          f"{args.sdk_repeat} (others) runs{rust_note}\n")
    print_table([
        ("step", "ours", "SDK", "SDK/ours", "Rust rs", "rs/ours"),
        ("rle_to_mask of the union (1 RLE)", ms(udec_ours), ms(udec_sdk), ratio(udec_sdk, udec_ours),
         ms(udec_rust) if rust else "not installed", ratio(udec_rust, udec_ours)),
        (f"rle_to_mask x {len(rles)} results", ms(dec_ours), ms(dec_sdk), ratio(dec_sdk, dec_ours),
         ms(dec_rust) if rust else "not installed", ratio(dec_rust, dec_ours)),
        ("mask_to_rle of the union", ms(enc_ours), ms(enc_sdk), ratio(enc_sdk, enc_ours),
         ms(enc_rust) if rust else "not installed", ratio(enc_rust, enc_ours)),
    ])
    coco_text = "not installed" if iou_coco is None else f"{iou_coco:.6f} in {ms(t_iou_coco)}"
    print(f"\nIoU class-agnostic: ours {iou_ours:.6f} in {ms(t_iou_ours)}; pycocotools {coco_text}")
    overall = report["overall"]
    print(f"score_masks (6 classes, BF1 tol 2, instances): {ms(t_score)} wall, {ms(cpu_score)} CPU; "
          f"tracemalloc peak {score_peak / 2**20:.1f} MiB; overall IoU {overall['iou']:.4f}, "
          f"macro IoU {overall['macro_iou']:.4f}, macro BF1 {overall['macro_boundary_f1']:.4f}")
    print(f"one annotation as a worker scores it (decode to packed masks, score, rubber stamp, overlay from "
          f"the JPEG): {ms(cpu_worker)} CPU; in a fresh process {peak['bare_mb']:.0f} MiB after imports, "
          f"peak {peak['peak_mb']:.0f} MiB")
    print(f"CLI end to end (read 2 JSON files, decode, score, print): {ms(t_cli)}, peak RSS {cli_rss:.0f} MiB")
    print(f"this process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if job is not None:
        serial = len(job.ids) * cpu_worker
        print(f"\nCelery job: {len(job.ids)} annotations through {args.concurrency} workers in {job.wall:.1f} s "
              f"({len(job.ids) / job.wall:.2f}/s; median duration_ms {statistics.median(job.durations_ms):.0f}); "
              f"{len(job.ids)} x the worker-like score above = {serial:.1f} s, so {serial / job.wall:.2f}x "
              f"(ideal {args.concurrency}x); scores {job.states}, rubber stamps {job.flagged}, retried {job.retried}")
        print(f"worker children peak RSS (VmHWM) {', '.join(f'{p:.0f}' for p in job.worker_peaks_mb)} MiB, "
              f"parent {job.parent_peak_mb:.0f} MiB; load average {job.load_before:.2f} at the start, "
              f"{os.getloadavg()[0]:.2f} at the end on {os.cpu_count()} CPUs")

    def met(ok: bool | None) -> str:
        return "not measured" if ok is None else ("yes" if ok else "NO")

    worker_peak = max(job.worker_peaks_mb) if job is not None else None
    print("\n| target | measured | met? |")
    print("| --- | --- | --- |")
    # Judged on the union mask (the "20 MP mask"); the per-result figures are printed beside them.
    print(f"| rle_to_mask >= 15x faster than the SDK's decode | {ratio(udec_sdk, udec_ours)} on the union mask "
          f"({ms(udec_ours)} vs {ms(udec_sdk)}); {ratio(dec_sdk, dec_ours)} over the {len(rles)} single-defect "
          f"results | {met(udec_sdk / udec_ours >= 15)} |")
    print("| rle_to_mask <= 0.5x the Rust package's decode time | "
          + (f"{udec_ours / udec_rust:.2f}x on the union mask ({ms(udec_ours)} vs {ms(udec_rust)}); "
             f"{dec_ours / dec_rust:.2f}x over the {len(rles)} results | {met(udec_ours <= 0.5 * udec_rust)} |"
             if rust else "label-studio-brush-rle-rs not installed | not measured |"))
    print(f"| mask_to_rle >= 10x faster than the SDK's mask2rle | {ratio(enc_sdk, enc_ours)} "
          f"({ms(enc_ours)} vs {ms(enc_sdk)}) | {met(enc_sdk / enc_ours >= 10)} |")
    print(f"| one full 20 MP score (6 classes, BF1, instances) < 1 s on one core | score_masks {ms(cpu_score)} "
          f"CPU; with decode, rubber stamp and overlay {ms(cpu_worker)} | {met(cpu_score < 1)} |")
    print("| scoring worker peak RSS < 500 MB | "
          + (f"Celery worker children {', '.join(f'{p:.0f}' for p in job.worker_peaks_mb)} MiB "
             f"| {met(worker_peak < 500)} |" if job is not None else
             f"not run (add --celery); one score in a bare process peaks at {peak['peak_mb']:.0f} MiB | "
             "not measured |"))
    workdir.cleanup()


if __name__ == "__main__":
    main()

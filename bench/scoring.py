"""Benchmark of mask scoring on one 20 MP annotation: RLE codecs, IoU vs pycocotools, full score, memory.

Run from the repository root: python bench/scoring.py [--sample DIR] [--repeat N] [--sdk-repeat N]
With --sample DIR holding the manifest.json of `manage.py make_sample_job --out DIR`, one of its
5472x3648 tasks is used (gold result list vs prediction); otherwise a realistic pair is synthesized.
"""

import argparse
import json
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

from annotations.defects import BRUSH_FROM_NAME, DEFECT_CLASSES, IMAGE_TO_NAME  # noqa: E402
from annotations.quality.labelstudio_json import masks_from_results, results_from_document  # noqa: E402
from annotations.quality.metrics import iou, score_masks  # noqa: E402
from annotations.quality.rle import mask_to_rle, rle_to_mask  # noqa: E402

WIDTH, HEIGHT = 5472, 3648
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


def _random_defect(rng: np.random.Generator, kind: str) -> dict:
    x, y = int(rng.integers(150, WIDTH - 150)), int(rng.integers(150, HEIGHT - 150))
    if kind in ("scratch", "crack"):
        steps = 2 if kind == "scratch" else int(rng.integers(5, 12))
        step = 900.0 if kind == "scratch" else 120.0
        angles = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.6 if kind == "crack" else 0.02, steps))
        points = np.cumsum(np.column_stack((np.cos(angles), np.sin(angles))) * step, axis=0) + np.array([x, y])
        points = np.clip(points, 0, (WIDTH - 1, HEIGHT - 1))
        return {"points": points, "width": int(rng.integers(1, 7))}
    if kind in ("pit", "blemish", "discoloration"):
        size = {"pit": (3, 25), "blemish": (20, 120), "discoloration": (150, 500)}[kind]
        return {"x": x, "y": y, "axes": tuple(int(a) for a in rng.integers(*size, size=2)),
                "angle": float(rng.uniform(0, 180))}
    angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
    radii = rng.uniform(40, 200, 9)
    return {"points": np.column_stack((x + radii * np.cos(angles), y + radii * np.sin(angles)))}


def _result(mask: np.ndarray, label: str, rid: str) -> dict:
    return {
        "id": rid, "type": "brushlabels", "from_name": BRUSH_FROM_NAME, "to_name": IMAGE_TO_NAME,
        "original_width": WIDTH, "original_height": HEIGHT, "image_rotation": 0,
        "value": {"format": "rle", "rle": mask_to_rle(mask), "brushlabels": [label]},
    }


def synthesize(seed: int = 0, defects: int = 25) -> tuple[list[dict], list[dict]]:
    """(gold results, candidate results): one brush result per defect, as annotators draw them.

    The candidate redraws each defect up to 2 px off and 1 px thicker or thinner, misses one,
    splits one scratch in two and invents one pit.
    """
    rng = np.random.default_rng(seed)
    kinds = [DEFECT_CLASSES[i % len(DEFECT_CLASSES)] for i in range(defects)]
    gold, cand = [], []
    canvas = np.zeros((HEIGHT, WIDTH), np.uint8)
    for n, defect in enumerate(kinds):
        params = _random_defect(rng, defect.key)
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
    cv2.circle(canvas, (WIDTH // 2, HEIGHT // 2), 9, 1, -1)
    cand.append(_result(canvas.view(bool), DEFECT_CLASSES[1].label, "c-extra"))
    return gold, cand


# --- sample job ---------------------------------------------------------------------------------


def from_sample(directory: Path) -> tuple[list[dict], list[dict], Path, Path]:
    """(gold results, prediction results, their files) of the first 5472x3648 task of a sample job."""
    manifest = json.loads((directory / "manifest.json").read_text())
    first = None
    for task in manifest["tasks"]:
        gold_path, cand_path = directory / task["gold_result"], directory / task["prediction"]
        gold = results_from_document(json.loads(gold_path.read_text()))
        cand = results_from_document(json.loads(cand_path.read_text()))
        sizes = {(r.get("original_width"), r.get("original_height")) for r in gold if r.get("type") == "brushlabels"}
        if sizes == {(WIDTH, HEIGHT)}:
            return gold, cand, gold_path, cand_path
        first = first or (gold, cand, gold_path, cand_path)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=Path, help="directory of a sample job (manifest.json)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each of our steps (median reported)")
    parser.add_argument("--sdk-repeat", type=int, default=3, help="runs of each SDK / Rust / pycocotools step")
    args = parser.parse_args()
    # The target is one core per worker; OpenCV would otherwise spread some calls over all cores.
    cv2.setNumThreads(1)

    workdir = tempfile.TemporaryDirectory()
    if args.sample and (args.sample / "manifest.json").exists():
        gold_results, cand_results, gold_file, cand_file = from_sample(args.sample)
        source = f"sample job {args.sample} ({gold_file.name} vs {cand_file.name})"
    else:
        if args.sample:
            print(f"note: {args.sample / 'manifest.json'} not found; synthesizing a pair")
        gold_results, cand_results = synthesize()
        gold_file, cand_file = Path(workdir.name) / "gold.json", Path(workdir.name) / "candidate.json"
        gold_file.write_text(json.dumps(gold_results))
        cand_file.write_text(json.dumps({"result": cand_results}))
        source = "synthetic pair"

    gold_masks, height, width = masks_from_results(gold_results)
    cand_masks, _, _ = masks_from_results(cand_results)
    brushes = [r for r in gold_results if r.get("type") == "brushlabels"]
    rles = [r["value"]["rle"] for r in brushes]
    print(f"{source}: {width}x{height}, gold {len(brushes)} brush results in {len(gold_masks)} classes, "
          f"{sum(int(m.sum()) for m in gold_masks.values())} defect px; candidate "
          f"{sum(1 for r in cand_results if r.get('type') == 'brushlabels')} results")

    def sdk_mask(rle: list[int]) -> np.ndarray:
        return decode_rle(rle).reshape(height, width, 4)[:, :, 3] > 0

    rust = _rust_codec()
    for rle in rles[:2]:
        ours_mask = rle_to_mask(rle, height, width)
        assert np.array_equal(ours_mask, sdk_mask(rle)), "rle_to_mask differs from the SDK"
        if rust:
            assert np.array_equal(ours_mask, rust[0](rle, False).reshape(height, width, 4)[:, :, 3] > 0)

    dec_ours = median_time(lambda: [rle_to_mask(r, height, width) for r in rles], args.repeat)
    dec_sdk = median_time(lambda: [sdk_mask(r) for r in rles], args.sdk_repeat)
    dec_rust = None
    if rust:
        dec_rust = median_time(
            lambda: [rust[0](r, False).reshape(height, width, 4)[:, :, 3] > 0 for r in rles], args.sdk_repeat
        )

    union = np.logical_or.reduce(list(gold_masks.values()))
    union_u8 = union.astype(np.uint8) * 255
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

    start = time.perf_counter()
    cli = subprocess.run(
        [sys.executable, "-c", CLI_WITH_PEAK, "score", str(gold_file), str(cand_file)],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False,
    )
    t_cli = time.perf_counter() - start
    if cli.returncode != 0:
        raise SystemExit(f"CLI failed: {cli.stderr.strip()}")
    cli_rss = int(cli.stderr.split()[-2]) / 1024

    rust_note = "" if rust else "  (label-studio-brush-rle-rs: not installed)"
    print(f"\nnumpy {np.__version__}, OpenCV {cv2.__version__}; medians of {args.repeat} (ours) / "
          f"{args.sdk_repeat} (others) runs{rust_note}\n")
    rows = [
        ("step", "ours", "SDK", "SDK/ours", "Rust rs", "rs/ours"),
        (f"decode {len(rles)} results", ms(dec_ours), ms(dec_sdk), ratio(dec_sdk, dec_ours),
         ms(dec_rust) if rust else "not installed", ratio(dec_rust, dec_ours)),
        ("encode union mask", ms(enc_ours), ms(enc_sdk), ratio(enc_sdk, enc_ours),
         ms(enc_rust) if rust else "not installed", ratio(enc_rust, enc_ours)),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths,
                                                                                                   strict=True))))
    coco_text = "not installed" if iou_coco is None else f"{iou_coco:.6f} in {ms(t_iou_coco)}"
    print(f"\nIoU class-agnostic: ours {iou_ours:.6f} in {ms(t_iou_ours)}; pycocotools {coco_text}")
    overall = report["overall"]
    print(f"score_masks (6 classes, BF1 tol 2, instances): {ms(t_score)} wall, {ms(cpu_score)} CPU; "
          f"tracemalloc peak {score_peak / 2**20:.1f} MiB; overall IoU {overall['iou']:.4f}, "
          f"macro IoU {overall['macro_iou']:.4f}, macro BF1 {overall['macro_boundary_f1']:.4f}")
    print(f"CLI end to end (read 2 JSON files, decode, score, print): {ms(t_cli)}, peak RSS {cli_rss:.0f} MiB")
    print(f"this process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    workdir.cleanup()


if __name__ == "__main__":
    main()

"""Benchmark of render_overlay on a 5472x3648 photo against a naive full-size colouring, on one core.

Run from the repository root: python bench/overlay.py [--sample DIR] [--repeat N] [--out FILE] [--smoke]
With DIR/manifest.json (a sample job of `manage.py make_sample_job`, default var/sample), its first
task's photo and masks (gold vs prediction) are used, enlarged to 5472x3648 when smaller; otherwise
a photo and a gold / candidate pair are synthesized. The overlay is saved to --out.
--smoke: a synthesized 1368x912 photo shrunk to 512 px, one run of each, the overlay saved in a temp folder.
"""

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from annotations.defects import DEFECT_CLASSES  # noqa: E402
from annotations.quality.labelstudio_json import masks_from_results, results_from_document  # noqa: E402
from annotations.quality.overlay import ALPHA, output_size, overlay_legend, render_overlay  # noqa: E402

WIDTH, HEIGHT = 5472, 3648
MAX_SIDE = 2048

Masks = dict[str, np.ndarray]


def from_sample(directory: Path) -> tuple[np.ndarray, Masks, Masks, str]:
    """(RGB photo, gold, prediction) of the sample job's first task, enlarged to WIDTH x HEIGHT."""
    task = json.loads((directory / "manifest.json").read_text())["tasks"][0]
    photo = np.asarray(Image.open(directory / task["image"]).convert("RGB"))
    sides = []
    for key in ("gold_result", "prediction"):
        masks, _, _ = masks_from_results(results_from_document(json.loads((directory / task[key]).read_text())))
        sides.append(masks)
    note = f"sample job {directory} task {task['key']} ({photo.shape[1]}x{photo.shape[0]})"
    if photo.shape[:2] != (HEIGHT, WIDTH):
        note += f" enlarged to {WIDTH}x{HEIGHT}"
        photo = cv2.resize(photo, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)
        sides = [{label: cv2.resize(m.view(np.uint8), (WIDTH, HEIGHT), interpolation=cv2.INTER_NEAREST).view(bool)
                  for label, m in side.items()} for side in sides]
    return photo, sides[0], sides[1], note


def synthesize(seed: int = 0, width: int = WIDTH, height: int = HEIGHT) -> tuple[np.ndarray, Masks, Masks, str]:
    """A dim, textured screen photo; gold defects and a candidate that is off, misses and invents some.
    Distances are those of a 5472 px wide photo, scaled to `width`."""
    rng = np.random.default_rng(seed)

    def px(value: int) -> int:
        return int(value * width / WIDTH)

    # A diagonal glare band over a dark panel, plus faint sensor noise.
    yy, xx = np.mgrid[0:height:16, 0:width:16].astype(np.float32)
    glare = 60 * np.exp(-(((xx - yy * 1.5 - px(1000)) / px(900)) ** 2))
    small = np.dstack([25 + glare, 28 + glare, 35 + glare]) + rng.normal(0, 2, (*glare.shape, 3))
    photo = cv2.resize(small.clip(0, 255).astype(np.uint8), (width, height), interpolation=cv2.INTER_CUBIC)
    gold = {d.label: np.zeros((height, width), np.uint8) for d in DEFECT_CLASSES}
    cand = {d.label: np.zeros((height, width), np.uint8) for d in DEFECT_CLASSES}
    for n in range(24):
        label = DEFECT_CLASSES[n % len(DEFECT_CLASSES)].label
        x, y = int(rng.integers(px(200), width - px(1200))), int(rng.integers(px(200), height - px(1200)))
        if label in ("Scratch", "Crack"):
            end = (x + int(rng.integers(px(200), px(1000))), y + int(rng.integers(px(-150), px(1000))))
            thickness = int(rng.integers(1, 4))
            cv2.line(gold[label], (x, y), end, 1, thickness)
            if n % 5:
                cv2.line(cand[label], (x + 1, y), (end[0] + 1, end[1]), 1, thickness)
        else:
            radius = int(rng.integers(max(px(8), 1), px(160)))
            cv2.circle(gold[label], (x, y), radius, 1, -1)
            if n % 5 == 0:
                other = DEFECT_CLASSES[(n + 1) % len(DEFECT_CLASSES)].label  # wrong class
                cv2.circle(cand[other], (x, y), radius, 1, -1)
            elif n % 7:
                cv2.circle(cand[label], (x + 3, y + 2), radius + 2, 1, -1)
        if n % 4 == 0:  # invented
            cv2.circle(cand[label], (x + px(400), y + px(300)), px(30), 1, -1)
    return photo, {k: v.view(bool) for k, v in gold.items()}, {k: v.view(bool) for k, v in cand.items()}, \
        "synthetic photo and masks"


def naive_overlay(*, photo: np.ndarray, gold: Masks, candidate: Masks, max_side: int = MAX_SIDE) -> bytes:
    """The obvious implementation: colour class-agnostic masks on a full-size float image, then shrink."""
    any_gold = np.logical_or.reduce(list(gold.values()))
    any_cand = np.logical_or.reduce(list(candidate.values()))
    out = photo.astype(np.float32)
    colours = dict(overlay_legend())
    for where, caption in ((any_gold & any_cand, "Correct"), (any_cand & ~any_gold, "False positive"),
                           (any_gold & ~any_cand, "Missed")):
        colour = next(c for text, c in colours.items() if text.startswith(caption))
        out[where] = out[where] * (1 - ALPHA) + np.array(colour, np.float32) * ALPHA
    image = Image.fromarray(out.astype(np.uint8)).resize(output_size(photo.shape[1], photo.shape[0], max_side),
                                                         Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_mib(fn: Callable[[], object]) -> float:
    """Peak of Python/numpy allocations during fn (Pillow's and OpenCV's own buffers are not traced)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=Path, default=REPO_ROOT / "var" / "sample",
                        help="directory of a sample job (manifest.json); synthesized when absent")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each variant (median reported)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "overlay-example.jpg",
                        help="where to save our overlay")
    parser.add_argument("--smoke", action="store_true",
                        help="smallest run: synthesized 1368x912 photo, 512 px output, one run, saved in a temp folder")
    args = parser.parse_args()
    workdir = tempfile.TemporaryDirectory() if args.smoke else None
    if workdir:
        args.repeat, args.out = 1, Path(workdir.name) / "overlay-example.jpg"
    width, height, max_side = (WIDTH // 4, HEIGHT // 4, 512) if args.smoke else (WIDTH, HEIGHT, MAX_SIDE)
    # The target is one core per worker; OpenCV would otherwise spread resizes over all cores.
    cv2.setNumThreads(1)

    if not args.smoke and (args.sample / "manifest.json").exists():
        photo, gold, cand, source = from_sample(args.sample)
    else:
        photo, gold, cand, source = synthesize(width=width, height=height)
    pil_photo = Image.fromarray(photo)
    print(f"{source}: gold {sum(int(m.sum()) for m in gold.values())} px in {len(gold)} classes, "
          f"candidate {sum(int(m.sum()) for m in cand.values())} px; output longest side {max_side}")

    def ours() -> bytes:
        return render_overlay(photo=photo, gold=gold, candidate=cand, max_side=max_side)

    def ours_pil() -> bytes:
        return render_overlay(photo=pil_photo, gold=gold, candidate=cand, max_side=max_side)

    def naive() -> bytes:
        return naive_overlay(photo=photo, gold=gold, candidate=cand, max_side=max_side)

    args.out.write_bytes(ours())
    t_ours, t_pil, t_naive = (median_time(fn, args.repeat) for fn in (ours, ours_pil, naive))
    m_ours, m_naive = peak_mib(ours), peak_mib(naive)

    rng = np.random.default_rng(1)
    dense_gold = {d.label: rng.random((height, width)) < 0.3 for d in DEFECT_CLASSES}
    dense_cand = {d.label: rng.random((height, width)) < 0.3 for d in DEFECT_CLASSES}
    t_dense = median_time(lambda: render_overlay(photo=photo, gold=dense_gold, candidate=dense_cand,
                                                 max_side=max_side), args.repeat)

    print(f"\nnumpy {np.__version__}, OpenCV {cv2.__version__} (1 thread), Pillow {Image.__version__}; "
          f"medians of {args.repeat} runs, incl. JPEG encode\n")
    print(f"render_overlay, numpy photo:   {t_ours * 1e3:7.1f} ms   peak traced {m_ours:6.1f} MiB")
    print(f"render_overlay, PIL photo:     {t_pil * 1e3:7.1f} ms")
    print(f"naive (full-size float, LANCZOS): {t_naive * 1e3:5.1f} ms   peak traced {m_naive:6.1f} MiB")
    print(f"naive / ours: {t_naive / t_ours:.1f}x time, {m_naive / m_ours:.1f}x memory")
    print(f"worst case, 12 masks of 30% noise: {t_dense * 1e3:.1f} ms")
    print(f"\nsaved {args.out} ({args.out.stat().st_size // 1024} KiB)")
    if workdir:
        workdir.cleanup()


if __name__ == "__main__":
    main()

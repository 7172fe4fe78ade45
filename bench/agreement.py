"""Benchmark: agreement and merged mask of 3 annotators of one 5472x3648 photo (6 classes) on one core, against the
time to decode the three annotations' Label Studio brush masks (the floor: the masks must be decoded anyway).

Run from the repository root: python bench/agreement.py [--sample DIR] [--repeat N] [--smoke]
The three annotators are a photo's gold answer, the model's pre-annotation, and the gold answer moved 3 px right
(a careful annotator whose strokes sit a little off), each encoded as a Label Studio brush result, from the sample
job at DIR (default var/sample-full: ./run demo --full or manage.py make_sample_job --out var/sample-full).
Target (issue #15): agreement + merge under 1 s.
--smoke: a 640x427 sample of its own in a temp folder under var/, one repeat.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from annotations.defects import DEFECT_CLASSES  # noqa: E402
from annotations.quality.agreement import merge_masks, photo_agreement  # noqa: E402
from annotations.quality.labelstudio_json import brush_result, masks_from_results  # noqa: E402

TARGET_SECONDS = 1.0


def annotators(sample: Path) -> tuple[list[list[dict]], tuple[int, int]]:
    """The three annotators' brush results of the sample's first photo with defects of 3 or more classes."""
    tasks = json.loads((sample / "manifest.json").read_text())["tasks"]
    for task in tasks:
        gold = json.loads((sample / task["gold_result"]).read_text())
        if len(gold) >= 3 or task is tasks[-1]:
            break
    prediction = json.loads((sample / task["prediction"]).read_text())["result"]
    masks, height, width = masks_from_results(gold)
    moved = [brush_result(np.roll(mask, 3, axis=1), label=label, rid=f"moved-{n}")
             for n, (label, mask) in enumerate(masks.items())]
    return [gold, prediction, moved], (height, width)


def _best(repeat: int, work: object) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=REPO_ROOT / "var" / "sample-full")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="a small sample of its own, one repeat")
    args = parser.parse_args()
    if args.smoke:
        from _smoke import sample_job  # bench/, the script's own folder

        with sample_job(images=2, width=640, height=427) as sample:
            run(sample, 1)
        return
    if not (args.sample / "manifest.json").is_file():
        raise SystemExit(f"{args.sample}/manifest.json does not exist: run ./run demo --full or pass --sample")
    run(args.sample, args.repeat)


def run(sample: Path, repeat: int) -> None:
    results, shape = annotators(sample)
    label_to_key = {c.label: c.key for c in DEFECT_CLASSES}
    keys = [c.key for c in DEFECT_CLASSES]

    def decode() -> list[dict[str, np.ndarray]]:
        return [{label_to_key[label]: mask for label, mask in masks_from_results(r)[0].items()} for r in results]

    floor, decoded = _best(repeat, decode)
    agreeing, agreement = _best(repeat, lambda: photo_agreement(decoded, keys))
    merging, merged = _best(repeat, lambda: merge_masks(decoded, keys, ranking=[0, 2, 1], shape=shape))
    painted = {k: int(np.count_nonzero(m)) for k, m in merged.items() if m.any()}
    print(f"photo {shape[1]}x{shape[0]}, 3 annotators, {len(keys)} classes; merged pixels per class: {painted}")
    print("agreement per class (mean IoU of the 3 pairs): " + ", ".join(
        f"{k} {c.iou:.3f}" for k, c in agreement.classes.items() if c.iou is not None))
    print(f"{'step (best of ' + str(repeat) + ', one core)':<40} {'seconds':>8} {'/ decode':>9}")
    for name, seconds in (("decode the 3 annotations (floor)", floor), ("agreement", agreeing),
                          ("merged mask", merging), ("agreement + merged mask", agreeing + merging)):
        print(f"{name:<40} {seconds:8.3f} {seconds / floor:8.2f}x")
    if shape == (3648, 5472):
        met = "met" if agreeing + merging < TARGET_SECONDS else "not met"
        print(f"target: agreement + merge under {TARGET_SECONDS:.0f} s: {met}")


if __name__ == "__main__":
    main()

"""Benchmark of annotations.quality.rle against label_studio_sdk's brush RLE on a realistic defect mask.

Run from the repository root: python bench/rle.py [--rounds N] [--smoke]
--smoke: a quarter-side mask (1368x912) and one round, to check the script still runs.
"""

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from label_studio_sdk.converter.brush import decode_rle, mask2rle

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from annotations.quality.rle import mask_to_rle, rle_to_mask

WIDTH, HEIGHT = 5472, 3648


def _segment(mask: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], radius: float) -> None:
    """Paint a thick line segment (a scratch or crack) into mask, in place."""
    (y0, x0), (y1, x1) = p0, p1
    top, bottom = int(max(min(y0, y1) - radius, 0)), int(min(max(y0, y1) + radius + 1, mask.shape[0]))
    left, right = int(max(min(x0, x1) - radius, 0)), int(min(max(x0, x1) + radius + 1, mask.shape[1]))
    if top >= bottom or left >= right:  # a crack that wandered off the photo
        return
    yy, xx = np.mgrid[top:bottom, left:right].astype(np.float32)
    dy, dx = y1 - y0, x1 - x0
    t = np.clip(((yy - y0) * dy + (xx - x0) * dx) / max(dy * dy + dx * dx, 1e-9), 0, 1)
    dist2 = (yy - (y0 + t * dy)) ** 2 + (xx - (x0 + t * dx)) ** 2
    mask[top:bottom, left:right] |= dist2 <= radius * radius


def realistic_mask(seed: int = 0, defects: int = 25, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """Bool mask with `defects` scratches, cracks (polylines) and pits/blemishes (discs)."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((height, width), dtype=bool)
    for i in range(defects):
        y, x = rng.uniform(0, height), rng.uniform(0, width)
        if i % 3 == 0:  # disc: pit or blemish
            _segment(mask, (y, x), (y, x), rng.uniform(4, 90))
        elif i % 3 == 1:  # straight scratch, 1-6 px wide
            angle, length = rng.uniform(0, np.pi), rng.uniform(200, 2500)
            end = (y + length * np.sin(angle), x + length * np.cos(angle))
            _segment(mask, (y, x), end, rng.uniform(0.5, 3))
        else:  # crack: a wandering polyline
            for _ in range(rng.integers(4, 12)):
                angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(20, 200)
                end = (y + length * np.sin(angle), x + length * np.cos(angle))
                _segment(mask, (y, x), end, rng.uniform(0.7, 2.5))
                y, x = end
    return mask


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(ours: Callable[[], object], sdk: Callable[[], object], rounds: int, inner: int) -> tuple[float, float]:
    """Median seconds of each; the two alternate so both see the same machine load."""
    ours_times, sdk_times = [], []
    ours()  # warm caches and lazy tables before timing
    for _ in range(rounds):
        ours_times.extend(timed(ours) for _ in range(inner))
        sdk_times.append(timed(sdk))
    return statistics.median(ours_times), statistics.median(sdk_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="SDK runs per function (ours runs 5x as often)")
    parser.add_argument("--smoke", action="store_true", help="smallest run: a 1368x912 mask, one round")
    args = parser.parse_args()
    height, width, inner = (HEIGHT // 4, WIDTH // 4, 1) if args.smoke else (HEIGHT, WIDTH, 5)
    rounds = 1 if args.smoke else args.rounds

    mask = realistic_mask(height=height, width=width)
    mask_u8 = mask.astype(np.uint8) * 255
    rle = mask_to_rle(mask)
    sdk_rle = mask2rle(mask_u8)
    assert rle == sdk_rle, "mask_to_rle differs from the SDK's mask2rle"
    sdk_mask = decode_rle(sdk_rle).reshape(height, width, 4)[:, :, 3] > 0
    assert np.array_equal(rle_to_mask(rle, height, width), sdk_mask), "rle_to_mask differs from the SDK"
    assert np.array_equal(sdk_mask, mask), "round trip lost pixels"
    runs = int(np.count_nonzero(mask.ravel()[1:] != mask.ravel()[:-1])) + 1
    print(
        f"mask {width}x{height} with 25 defects: {int(mask.sum())} defect pixels, {runs} runs, "
        f"RLE of {len(rle)} bytes (numpy {np.__version__})"
    )

    ours_dec, sdk_dec = compare(
        lambda: rle_to_mask(rle, height, width),
        lambda: decode_rle(rle).reshape(height, width, 4)[:, :, 3] > 0,
        rounds,
        inner,
    )
    ours_enc, sdk_enc = compare(lambda: mask_to_rle(mask), lambda: mask2rle(mask_u8), rounds, inner)

    print(f"{'':28} {'ours':>9} {'SDK':>9} {'speed-up':>9}")
    print(f"{'decode (rle_to_mask)':28} {ours_dec * 1e3:7.1f}ms {sdk_dec * 1e3:7.1f}ms {sdk_dec / ours_dec:8.1f}x")
    print(f"{'encode (mask_to_rle)':28} {ours_enc * 1e3:7.1f}ms {sdk_enc * 1e3:7.1f}ms {sdk_enc / ours_enc:8.1f}x")


if __name__ == "__main__":
    main()

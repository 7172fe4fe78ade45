"""A mean with its 95 % confidence interval by the percentile bootstrap over clusters (pure numpy).

Scores on gold come per photo, and several people may be scored on one photo: resampling photos (clusters),
not single scores, keeps one hard photo from looking like many independent measurements.
"""
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000
SEED = 13  # fixed: the same scores always give the same interval


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int  # scores
    clusters: int  # photos


def bootstrap_mean(clusters: Sequence[Sequence[float]], *, level: float = 0.95, resamples: int = RESAMPLES,
                   seed: int = SEED) -> Interval | None:
    """Mean of all values and its percentile-bootstrap interval, resampling whole clusters with replacement;
    None without a value. One cluster gives an interval of zero width (there is nothing to resample)."""
    groups = [np.asarray(c, float) for c in clusters if len(c)]
    if not groups:
        return None
    sums = np.array([g.sum() for g in groups])
    sizes = np.array([g.size for g in groups])
    mean = float(sums.sum() / sizes.sum())
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, len(groups), size=(resamples, len(groups)))
    means = sums[drawn].sum(axis=1) / sizes[drawn].sum(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Interval(mean=mean, low=float(low), high=float(high), n=int(sizes.sum()), clusters=len(groups))

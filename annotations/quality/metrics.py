"""Agreement of a candidate's defect masks with gold masks: pixel, boundary and per-instance scores.

Conventions
-----------
* Masks are bool H x W arrays, one per class label; a label missing from a dict is an empty mask.
* A metric whose denominator is zero is None: precision when the candidate has no pixel of the
  class, recall when gold has none. IoU, Dice and boundary F1 are None when both masks are empty
  and 0 when only one is; classes empty in both are left out of the macro means.
* Boundary: the mask minus its 3x3 erosion (8-neighbourhood). Pixels outside the image count as
  background, so mask pixels on the image edge are boundary pixels. A boundary pixel matches when
  the other mask has a boundary pixel within Euclidean distance <= tolerance. Boundary precision is
  matched candidate boundary px / candidate boundary px, recall the same for gold, BF1 their
  harmonic mean.
* Instances are 8-connected components. Gold and candidate instances are matched one-to-one,
  greedily by IoU (highest first, ties by raster order) among pairs with IoU >= iou_match. A gold
  defect drawn as two pieces therefore matches at most one piece (the other is spurious), and two
  gold defects drawn as one blob match at most one of them (the other is missed).

Speed
-----
Masks are 20 MP but defects cover a tiny part of them, so every mask is read in full once, to a
16 x 16-cell occupancy grid. Occupied cells are grouped into regions, each padded by
tolerance + 2 px; regions are far enough apart that no boundary match (<= tolerance) and no
8-connected component crosses two of them, so every metric is a sum over the regions and all the
morphology, boundary matching and labelling run on small crops only.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypedDict

import cv2
import numpy as np

CELL = 16
_KERNEL_3X3 = np.ones((3, 3), np.uint8)


class InstanceItem(TypedDict):
    bbox: list[int]  # [x, y, width, height] in image pixels
    area: int


class InstanceScore(TypedDict):
    gold: int
    candidate: int
    matched: int
    precision: float | None
    recall: float | None
    f1: float | None
    missed: list[InstanceItem]
    spurious: list[InstanceItem]


class ClassScore(TypedDict):
    iou: float | None
    dice: float | None
    precision: float | None
    recall: float | None
    boundary_f1: float | None
    gold_pixels: int
    candidate_pixels: int
    instances: InstanceScore


class OverallScore(TypedDict):
    iou: float | None
    macro_iou: float | None
    macro_dice: float | None
    macro_boundary_f1: float | None


class Report(TypedDict):
    classes: dict[str, ClassScore]
    overall: OverallScore


# --- regions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Region:
    rows: slice
    cols: slice
    # Pixels of this region within the box, when the box also overlaps another region.
    keep: np.ndarray | None


def _coarse(mask: np.ndarray) -> np.ndarray:
    """Bool grid with one cell per CELL x CELL block: does the block hold any set pixel?"""
    height, width = mask.shape
    grid_h, grid_w = -(-height // CELL), -(-width // CELL)
    rows = np.empty((grid_h, width), dtype=bool)
    full = height // CELL
    rows[:full] = mask[: full * CELL].reshape(full, CELL, width).any(axis=1)
    if full < grid_h:
        rows[full] = mask[full * CELL :].any(axis=0)
    grid = np.empty((grid_h, grid_w), dtype=bool)
    full = width // CELL
    grid[:, :full] = rows[:, : full * CELL].reshape(grid_h, full, CELL).any(axis=2)
    if full < grid_w:
        grid[:, full] = rows[:, full * CELL :].any(axis=1)
    return grid


def _regions(occupied: np.ndarray, shape: tuple[int, int], margin: float) -> list[_Region]:
    """Boxes covering every occupied cell, each pixel in exactly one, with >= margin px of clearance.

    Occupied cells are grown by enough cells to cover `margin` and grouped into 8-connected groups;
    distinct groups are separated by at least one free cell, so set pixels of two regions are more
    than 2 * margin apart, and each box extends >= margin beyond its pixels (or to the image edge).
    """
    if not occupied.any():
        return []
    pad = min(math.ceil(margin / CELL), max(occupied.shape))
    grown = occupied.view(np.uint8)
    if pad:
        grown = cv2.dilate(grown, np.ones((2 * pad + 1, 2 * pad + 1), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8, ltype=cv2.CV_32S)
    regions = []
    for k in range(1, count):
        x, y, w, h = (int(v) for v in stats[k, :4])
        rows = slice(y * CELL, min((y + h) * CELL, shape[0]))
        cols = slice(x * CELL, min((x + w) * CELL, shape[1]))
        cells = labels[y : y + h, x : x + w]
        keep = None
        if np.any((cells != k) & (cells != 0)):
            # The box of an L- or U-shaped group can contain another group: mask that one out.
            own = np.repeat(np.repeat(cells == k, CELL, axis=0), CELL, axis=1)
            keep = own[: rows.stop - rows.start, : cols.stop - cols.start]
        regions.append(_Region(rows, cols, keep))
    return regions


def _crop(mask: np.ndarray | None, region: _Region) -> np.ndarray:
    """The region's pixels of `mask` as a contiguous uint8 0/1 array (what OpenCV takes)."""
    shape = (region.rows.stop - region.rows.start, region.cols.stop - region.cols.start)
    if mask is None:
        return np.zeros(shape, np.uint8)
    if region.keep is not None:
        return (mask[region.rows, region.cols] & region.keep).view(np.uint8)
    return np.ascontiguousarray(mask[region.rows, region.cols]).view(np.uint8)


# --- per-region work ----------------------------------------------------------------------------


def _boundary_u8(mask: np.ndarray) -> np.ndarray:
    # Erosion's default border counts the outside as foreground; the convention here is background.
    return mask ^ cv2.erode(mask, _KERNEL_3X3, borderType=cv2.BORDER_CONSTANT, borderValue=0)


@dataclass(frozen=True)
class _BoundaryMatch:
    """Counts boundary pixels with a pixel of the other boundary within `tolerance` (Euclidean)."""

    tolerance: float
    # Beyond this radius, probing every offset of the disk costs more than a distance transform.
    max_probe_radius = 16

    @cached_property
    def disk(self) -> tuple[np.ndarray, np.ndarray]:
        """(dy, dx) of the integer offsets within the tolerance, nearest first."""
        radius = math.floor(self.tolerance + 1e-9)
        dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
        d2 = (dy * dy + dx * dx).ravel()
        # Integer squared distances make the test exact; the slack absorbs tolerance**2 rounding.
        order = np.argsort(d2, kind="stable")
        order = order[d2[order] <= self.tolerance * self.tolerance + 1e-9]
        return dy.ravel()[order], dx.ravel()[order]

    def matched(self, own: np.ndarray, other: np.ndarray) -> int:
        """How many pixels of boundary `own` (uint8 0/1) match a pixel of boundary `other`."""
        if self.tolerance > self.max_probe_radius:
            # Exact Euclidean distance to the nearest zero pixel (an `other` boundary pixel) in
            # float32: pixel distances are square roots of integers, over 1e-4 apart up to
            # ~1000 px, so the slack only absorbs rounding of a distance equal to the tolerance.
            dist = cv2.distanceTransform(1 - other, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
            return int(np.count_nonzero(dist[own.view(bool)] <= self.tolerance + 1e-4))
        # Boundaries are thin, so probing each boundary pixel's few offsets is much cheaper than a
        # distance transform of the whole, mostly empty region. Pixels drop out once matched and
        # the nearest offsets come first, so aligned boundaries cost about one probe per pixel.
        dy_all, dx_all = self.disk
        radius = math.floor(self.tolerance + 1e-9)
        # The zero border keeps probes from pixels on the image edge inside the array.
        padded = np.pad(other.view(bool), radius)
        ys, xs = np.nonzero(own)
        ys += radius
        xs += radius
        for dy, dx in zip(dy_all.tolist(), dx_all.tolist(), strict=True):
            miss = ~padded[ys + dy, xs + dx]
            ys, xs = ys[miss], xs[miss]
            if not ys.size:
                break
        return int(np.count_nonzero(own)) - ys.size


def _components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(label image, stats rows [x, y, w, h, area] of labels 1..n) of the 8-connected components."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8, ltype=cv2.CV_32S)
    return labels, stats[1:]


def _greedy_pairs(gold_labels: np.ndarray, gold_areas: np.ndarray, cand_labels: np.ndarray,
                  cand_areas: np.ndarray, both: np.ndarray, iou_match: float) -> list[tuple[int, int]]:
    """One-to-one (gold, candidate) instance index pairs, highest IoU first, IoU >= iou_match.

    `both` is the bool mask of pixels set in gold and candidate.
    """
    n_cand = cand_areas.size
    codes = (gold_labels[both].astype(np.int64) - 1) * n_cand + (cand_labels[both] - 1)
    pairs, inter = np.unique(codes, return_counts=True)
    gi, ci = np.divmod(pairs, n_cand)
    iou = inter / (gold_areas[gi] + cand_areas[ci] - inter)
    ok = iou >= iou_match
    gi, ci, iou = gi[ok], ci[ok], iou[ok]
    used_gold: set[int] = set()
    used_cand: set[int] = set()
    matches = []
    for k in np.lexsort((ci, gi, -iou)):
        g, c = int(gi[k]), int(ci[k])
        if g not in used_gold and c not in used_cand:
            used_gold.add(g)
            used_cand.add(c)
            matches.append((g, c))
    return matches


def _items(stats: np.ndarray, indices: list[int], region: _Region) -> list[InstanceItem]:
    return [
        {
            "bbox": [
                int(stats[i, 0]) + region.cols.start,
                int(stats[i, 1]) + region.rows.start,
                int(stats[i, 2]),
                int(stats[i, 3]),
            ],
            "area": int(stats[i, 4]),
        }
        for i in indices
    ]


@dataclass
class _Tally:
    """Counts of one class summed over regions; every metric is a ratio of them."""

    tp: int = 0
    gold: int = 0
    candidate: int = 0
    gold_boundary: int = 0
    candidate_boundary: int = 0
    gold_boundary_matched: int = 0
    candidate_boundary_matched: int = 0
    gold_instances: int = 0
    candidate_instances: int = 0
    missed: list[InstanceItem] = field(default_factory=list)
    spurious: list[InstanceItem] = field(default_factory=list)

    def add_region(self, gold: np.ndarray, cand: np.ndarray, region: _Region, *,
                   boundary_match: _BoundaryMatch | None, iou_match: float | None) -> None:
        """Add one region's crops (uint8 0/1); None `boundary_match` / `iou_match` skips that work."""
        n_gold, n_cand = int(np.count_nonzero(gold)), int(np.count_nonzero(cand))
        self.gold += n_gold
        self.candidate += n_cand
        if n_gold and n_cand:
            self.tp += int(np.count_nonzero(gold & cand))
        if boundary_match is not None:
            gold_edge = _boundary_u8(gold) if n_gold else None
            cand_edge = _boundary_u8(cand) if n_cand else None
            if gold_edge is not None:
                self.gold_boundary += int(np.count_nonzero(gold_edge))
            if cand_edge is not None:
                self.candidate_boundary += int(np.count_nonzero(cand_edge))
            if gold_edge is not None and cand_edge is not None:
                self.gold_boundary_matched += boundary_match.matched(gold_edge, cand_edge)
                self.candidate_boundary_matched += boundary_match.matched(cand_edge, gold_edge)
        if iou_match is not None:
            self._add_instances(gold, cand, n_gold, n_cand, region, iou_match)

    def _add_instances(self, gold: np.ndarray, cand: np.ndarray, n_gold: int, n_cand: int, region: _Region,
                       iou_match: float) -> None:
        gold_labels, gold_stats = _components(gold) if n_gold else (None, np.zeros((0, 5), np.int32))
        cand_labels, cand_stats = _components(cand) if n_cand else (None, np.zeros((0, 5), np.int32))
        matches = []
        if gold_labels is not None and cand_labels is not None:
            matches = _greedy_pairs(gold_labels, gold_stats[:, 4].astype(np.int64), cand_labels,
                                    cand_stats[:, 4].astype(np.int64), (gold & cand).view(bool), iou_match)
        matched_gold = {g for g, _ in matches}
        matched_cand = {c for _, c in matches}
        self.gold_instances += len(gold_stats)
        self.candidate_instances += len(cand_stats)
        self.missed += _items(gold_stats, [i for i in range(len(gold_stats)) if i not in matched_gold], region)
        self.spurious += _items(cand_stats, [i for i in range(len(cand_stats)) if i not in matched_cand], region)


# --- assembling scores --------------------------------------------------------------------------


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def _harmonic(p: float | None, r: float | None) -> float | None:
    """F1 of precision p and recall r: None if both undefined, 0 if only one side has anything."""
    if p is None and r is None:
        return None
    if p is None or r is None or p + r == 0:
        return 0.0
    return 2 * p * r / (p + r)


def _instance_score(t: _Tally) -> InstanceScore:
    matched = t.gold_instances - len(t.missed)
    precision = _ratio(matched, t.candidate_instances)
    recall = _ratio(matched, t.gold_instances)

    def order(item: InstanceItem) -> tuple[int, int]:
        return item["bbox"][1], item["bbox"][0]

    return {
        "gold": t.gold_instances,
        "candidate": t.candidate_instances,
        "matched": matched,
        "precision": precision,
        "recall": recall,
        "f1": _harmonic(precision, recall),
        "missed": sorted(t.missed, key=order),
        "spurious": sorted(t.spurious, key=order),
    }


def _class_score(t: _Tally) -> ClassScore:
    return {
        "iou": _ratio(t.tp, t.gold + t.candidate - t.tp),
        "dice": _ratio(2 * t.tp, t.gold + t.candidate),
        "precision": _ratio(t.tp, t.candidate),
        "recall": _ratio(t.tp, t.gold),
        "boundary_f1": _harmonic(
            _ratio(t.candidate_boundary_matched, t.candidate_boundary),
            _ratio(t.gold_boundary_matched, t.gold_boundary),
        ),
        "gold_pixels": t.gold,
        "candidate_pixels": t.candidate,
        "instances": _instance_score(t),
    }


def _check_params(tolerance: float | None, iou_match: float | None) -> None:
    if tolerance is not None and not (math.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"tolerance must be a finite number of pixels >= 0, got {tolerance!r}")
    if iou_match is not None and not 0 < iou_match <= 1:
        raise ValueError(f"iou_match must be in (0, 1], got {iou_match!r}")


def _as_bool(mask: np.ndarray | None, what: str, shape: tuple[int, int] | None) -> np.ndarray | None:
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"{what} must be a 2-D mask, got shape {mask.shape}")
    if shape is not None and mask.shape != shape:
        raise ValueError(f"{what} is {mask.shape[1]}x{mask.shape[0]} but the other masks are {shape[1]}x{shape[0]}")
    return mask if mask.dtype == bool else mask != 0


def _tally(gold: np.ndarray | None, cand: np.ndarray | None, coarse: np.ndarray | None, *,
           tolerance: float | None, iou_match: float | None) -> _Tally:
    """Counts of one class; `coarse` is the OR of both masks' occupancy grids (None if both empty)."""
    tally = _Tally()
    if coarse is None:
        return tally
    shape = (gold if gold is not None else cand).shape
    boundary_match = None if tolerance is None else _BoundaryMatch(tolerance)
    for region in _regions(coarse, shape, (tolerance or 0) + 2):
        tally.add_region(_crop(gold, region), _crop(cand, region), region, boundary_match=boundary_match,
                         iou_match=iou_match)
    return tally


def _pair(gold: np.ndarray, candidate: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gold = _as_bool(gold, "gold", None)
    candidate = _as_bool(candidate, "candidate", gold.shape)
    return gold, candidate, _coarse(gold) | _coarse(candidate)


# --- public API ---------------------------------------------------------------------------------


def boundary(mask: np.ndarray) -> np.ndarray:
    """Bool boundary of a mask: its pixels with a background 8-neighbour (outside = background)."""
    mask = _as_bool(mask, "mask", None)
    return _boundary_u8(np.ascontiguousarray(mask).view(np.uint8)).view(bool)


def iou(gold: np.ndarray, candidate: np.ndarray) -> float | None:
    """Pixel IoU of two masks; None when both are empty."""
    t = _tally(*_pair(gold, candidate), tolerance=None, iou_match=None)
    return _ratio(t.tp, t.gold + t.candidate - t.tp)


def boundary_f1(gold: np.ndarray, candidate: np.ndarray, *, tolerance: float = 2.0) -> float | None:
    """Boundary F1 of two masks at `tolerance` px; None when both are empty, 0 when one is."""
    _check_params(tolerance, None)
    t = _tally(*_pair(gold, candidate), tolerance=tolerance, iou_match=None)
    return _harmonic(_ratio(t.candidate_boundary_matched, t.candidate_boundary),
                     _ratio(t.gold_boundary_matched, t.gold_boundary))


class Overlap(TypedDict):
    """How two annotators' masks of one class agree: pixels and 8-connected instances (each side's defects)."""

    iou: float | None
    dice: float | None
    instance_f1: float | None
    pixels: tuple[int, int, int]  # the first's, the second's, both's
    instances: tuple[int, int, int]  # the first's, the second's, matched one to one (IoU >= iou_match)


def overlaps(masks: Sequence[np.ndarray | None], *, iou_match: float = 0.5) -> dict[tuple[int, int], Overlap]:
    """Overlap of every pair (i, j), i < j, of one class's masks (None: an empty mask), each mask read in full
    only once (to its occupancy grid); the pairs' work runs on the crops around their pixels."""
    _check_params(None, iou_match)
    shape = next((np.shape(m) for m in masks if m is not None), None)
    bools = [_as_bool(m, f"mask {i}", shape) for i, m in enumerate(masks)]
    grids = [None if m is None else _coarse(m) for m in bools]
    found: dict[tuple[int, int], Overlap] = {}
    for i in range(len(bools)):
        for j in range(i + 1, len(bools)):
            present = [g for g in (grids[i], grids[j]) if g is not None]
            coarse = (present[0] | present[1]) if len(present) == 2 else (present[0] if present else None)
            t = _tally(bools[i], bools[j], coarse, tolerance=None, iou_match=iou_match)
            instances = _instance_score(t)
            found[(i, j)] = {"iou": _ratio(t.tp, t.gold + t.candidate - t.tp),
                             "dice": _ratio(2 * t.tp, t.gold + t.candidate), "instance_f1": instances["f1"],
                             "pixels": (t.gold, t.candidate, t.tp),
                             "instances": (t.gold_instances, t.candidate_instances, instances["matched"])}
    return found


def occupied_regions(masks: Sequence[np.ndarray | None]) -> list[tuple[slice, slice, np.ndarray | None]]:
    """(rows, cols, keep) boxes that together hold every set pixel of the masks (same shape), each pixel in one
    box; `keep`, when not None, is the part of the box that is its own (the box also overlaps another)."""
    present = [_as_bool(m, "mask", None) for m in masks if m is not None]
    if not present:
        return []
    coarse = _coarse(present[0])
    for mask in present[1:]:
        coarse |= _coarse(mask)
    return [(r.rows, r.cols, r.keep) for r in _regions(coarse, present[0].shape, 0)]


def match_instances(gold: np.ndarray, candidate: np.ndarray, *, iou_match: float = 0.5) -> InstanceScore:
    """Greedy one-to-one matching of the two masks' 8-connected components by IoU >= iou_match."""
    _check_params(None, iou_match)
    return _instance_score(_tally(*_pair(gold, candidate), tolerance=None, iou_match=iou_match))


def score_class(gold: np.ndarray, candidate: np.ndarray, *, tolerance: float = 2.0,
                iou_match: float = 0.5) -> ClassScore:
    """All scores of one class from its gold and candidate bool masks (same shape)."""
    _check_params(tolerance, iou_match)
    return _class_score(_tally(*_pair(gold, candidate), tolerance=tolerance, iou_match=iou_match))


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _overall_iou(gold: list[tuple[np.ndarray, np.ndarray]], cand: list[tuple[np.ndarray, np.ndarray]],
                 coarse: np.ndarray | None, shape: tuple[int, int] | None) -> float | None:
    """Class-agnostic IoU: any gold defect pixel against any candidate defect pixel.

    `gold` and `cand` are (mask, occupancy grid) pairs; `coarse` is the OR of all grids.
    """
    if coarse is None or shape is None:
        return None
    inter = union = 0
    for region in _regions(coarse, shape, 0):
        cells = (slice(region.rows.start // CELL, -(-region.rows.stop // CELL)),
                 slice(region.cols.start // CELL, -(-region.cols.stop // CELL)))
        anys = []
        for side in (gold, cand):
            acc = np.zeros((region.rows.stop - region.rows.start, region.cols.stop - region.cols.start), np.uint8)
            for mask, grid in side:
                if grid[cells].any():  # most classes have nothing in a given region
                    acc |= _crop(mask, region)
            anys.append(acc)
        inter += int(np.count_nonzero(anys[0] & anys[1]))
        union += int(np.count_nonzero(anys[0] | anys[1]))
    return _ratio(inter, union)


def _common_shape(gold: Mapping[str, np.ndarray], candidate: Mapping[str, np.ndarray]) -> tuple[int, int] | None:
    """The one shape of all masks (read without converting them), or ValueError naming the first odd one."""
    shape: tuple[int, int] | None = None
    for side, masks in (("gold", gold), ("candidate", candidate)):
        for label, mask in masks.items():
            what, this = f"{side} mask {label!r}", np.shape(mask)
            if len(this) != 2:
                raise ValueError(f"{what} must be a 2-D mask, got shape {this}")
            if shape is not None and this != shape:
                raise ValueError(f"{what} is {this[1]}x{this[0]} but the other masks are {shape[1]}x{shape[0]}")
            shape = this
    return shape


class _Union:
    """The union of one side's masks, written only where they have pixels: np.zeros pages never
    written cost no memory, so a 20 MP union of small defects stays small."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.mask = np.zeros(shape, bool)
        self.grid: np.ndarray | None = None

    def add(self, mask: np.ndarray, grid: np.ndarray) -> None:
        self.grid = grid.copy() if self.grid is None else self.grid | grid
        for region in _regions(grid, mask.shape, 0):
            part = self.mask[region.rows, region.cols]
            np.logical_or(part, mask[region.rows, region.cols], out=part)


def score_masks(gold: Mapping[str, np.ndarray], candidate: Mapping[str, np.ndarray], *,
                labels: Sequence[str] = (), tolerance: float = 2.0, iou_match: float = 0.5) -> Report:
    """Per-class and overall scores of a candidate annotation against gold.

    Classes reported: `labels` (the job's classes, in their order; empty ones included), then any other
    label present in either dict. All masks must share one shape. Masks are converted one class at a
    time (a PackedMask is unpacked only then), so a report never holds every class's masks at once.
    """
    _check_params(tolerance, iou_match)
    labels = list(dict.fromkeys(labels))
    labels += [label for label in dict.fromkeys([*gold, *candidate]) if label not in labels]
    shape = _common_shape(gold, candidate)
    unions = {"gold": _Union(shape), "candidate": _Union(shape)} if shape is not None else {}

    classes: dict[str, ClassScore] = {}
    for label in labels:
        masks, grids = {}, {}
        for side, given in (("gold", gold), ("candidate", candidate)):
            if label in given:
                masks[side] = _as_bool(given[label], f"{side} mask {label!r}", shape)
                grids[side] = _coarse(masks[side])
        present = list(grids.values())
        coarse = present[0] | present[1] if len(present) == 2 else (present[0] if present else None)
        tally = _tally(masks.get("gold"), masks.get("candidate"), coarse, tolerance=tolerance, iou_match=iou_match)
        classes[label] = _class_score(tally)
        for side, mask in masks.items():
            unions[side].add(mask, grids[side])
        del masks

    scored = [s for s in classes.values() if s["gold_pixels"] or s["candidate_pixels"]]
    sides = [(u.mask, u.grid) for u in unions.values() if u.grid is not None]
    all_coarse = np.logical_or.reduce([grid for _, grid in sides]) if sides else None
    overall: OverallScore = {
        "iou": _overall_iou(
            [(u.mask, u.grid) for side, u in unions.items() if side == "gold" and u.grid is not None],
            [(u.mask, u.grid) for side, u in unions.items() if side == "candidate" and u.grid is not None],
            all_coarse,
            shape,
        ),
        "macro_iou": _mean([s["iou"] for s in scored]),
        "macro_dice": _mean([s["dice"] for s in scored]),
        "macro_boundary_f1": _mean([s["boundary_f1"] for s in scored]),
    }
    return {"classes": classes, "overall": overall}


def round_report(value: object, ndigits: int = 6) -> object:
    """A copy of a report (or any JSON-like value) with every float rounded, as the CLI prints it."""
    if isinstance(value, float):
        return round(value, ndigits)
    if isinstance(value, dict):
        return {k: round_report(v, ndigits) for k, v in value.items()}
    if isinstance(value, list):
        return [round_report(v, ndigits) for v in value]
    return value

"""Bool masks kept bit-packed: a 20 MP mask is 21.9 MB as bool but its defects' crops a few kB packed.

A PackedMask is a union of pieces, each the bit-packed crop of a mask's bounding box. It stands in
for the bool H x W array anywhere one is read: ``np.asarray(packed)`` unpacks it (only the pieces'
rows are ever written, so the untouched rest of the array costs no memory), ``rows(y0, y1)``
unpacks a strip and ``count()`` counts its pixels, neither allocating the full size. The scoring
functions convert one class at a time, so one annotation's six classes are never all full-size at once.
"""

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

Box = tuple[int, int, int, int]  # (top, left, bottom, right), half-open


@dataclass(frozen=True)
class _Piece:
    top: int
    left: int
    height: int
    width: int
    bits: np.ndarray  # np.packbits of the height x width crop, row-major

    def unpack_rows(self, r0: int, r1: int) -> np.ndarray:
        """Bool rows r0:r1 (of the crop) of the piece, unpacking only their bytes."""
        start, stop = r0 * self.width, r1 * self.width
        first = start // 8
        flat = np.unpackbits(self.bits[first:-(-stop // 8)], count=stop - first * 8)[start - first * 8:]
        return flat.view(bool).reshape(r1 - r0, self.width)


def _bounding_box(mask: np.ndarray) -> Box | None:
    """(top, left, bottom, right) around the set pixels of a C-contiguous bool mask, None when it has none."""
    width = mask.shape[1]
    flat = mask.reshape(-1).view(np.uint8)
    # First and last set pixel found through 8-byte words: np.argmax on the 20 MP mask (and its reversed
    # view) took ~18 ms a call, a third of the whole decode-and-pack.
    words = flat[: flat.size // 8 * 8].view(np.uint64)
    found = np.flatnonzero(words)
    tail = np.flatnonzero(flat[words.size * 8:]) + words.size * 8
    if not found.size and not tail.size:
        return None
    first = int(found[0]) * 8 if found.size else int(tail[0])
    last = int(tail[-1]) if tail.size else int(found[-1]) * 8 + 7
    first += int(np.flatnonzero(flat[first:first + 8])[0])
    last -= 7 - int(np.flatnonzero(flat[last - 7:last + 1])[-1]) if last >= 7 else 0
    top, bottom = first // width, last // width + 1
    cols = np.flatnonzero(mask[top:bottom].any(axis=0))
    return top, int(cols[0]), bottom, int(cols[-1]) + 1


class PackedMask:
    """A bool mask of `shape`, stored as bit-packed pieces; see the module docstring."""

    __slots__ = ("_pieces", "shape")

    def __init__(self, shape: tuple[int, int], pieces: Iterable[_Piece] = ()) -> None:
        self.shape = (int(shape[0]), int(shape[1]))
        self._pieces = tuple(pieces)

    @classmethod
    def of(cls, mask: np.ndarray) -> "PackedMask":
        """The packed form of a bool (or 0/1) 2-D array."""
        mask = np.asarray(mask)
        if mask.ndim != 2:
            raise ValueError(f"a mask must be 2-D, got shape {mask.shape}")
        if mask.dtype != bool:
            mask = mask != 0
        box = _bounding_box(np.ascontiguousarray(mask))
        if box is None:
            return cls(mask.shape)
        top, left, bottom, right = box
        crop = mask[top:bottom, left:right]
        return cls(mask.shape, [_Piece(top, left, bottom - top, right - left, np.packbits(crop, axis=None))])

    def union(self, other: "PackedMask") -> "PackedMask":
        """The union of two masks of one shape (their pieces together: nothing is unpacked)."""
        if other.shape != self.shape:
            raise ValueError(f"cannot unite masks of shapes {self.shape} and {other.shape}")
        return PackedMask(self.shape, self._pieces + other._pieces)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(bool)

    @property
    def ndim(self) -> int:
        return 2

    def box(self) -> Box | None:
        """(top, left, bottom, right) around the pixels' pieces, None when the mask is empty."""
        if not self._pieces:
            return None
        return (min(p.top for p in self._pieces), min(p.left for p in self._pieces),
                max(p.top + p.height for p in self._pieces), max(p.left + p.width for p in self._pieces))

    def count(self) -> int:
        """Number of set pixels."""
        if len(self._pieces) == 1:
            return int(np.bitwise_count(self._pieces[0].bits).sum(dtype=np.int64))
        return int(np.count_nonzero(self.unpack()))

    def any(self) -> bool:
        return self.count() > 0

    def rows(self, y0: int, y1: int) -> np.ndarray:
        """Bool rows y0:y1 of the mask, full width."""
        out = np.zeros((y1 - y0, self.shape[1]), bool)
        for p in self._pieces:
            r0, r1 = max(y0, p.top), min(y1, p.top + p.height)
            if r0 < r1:
                part = out[r0 - y0:r1 - y0, p.left:p.left + p.width]
                np.logical_or(part, p.unpack_rows(r0 - p.top, r1 - p.top), out=part)
        return out

    def any_rows(self, y0: int, y1: int) -> bool:
        """Might rows y0:y1 hold a pixel? False only when no piece reaches them (cheap, no unpacking)."""
        return any(max(y0, p.top) < min(y1, p.top + p.height) for p in self._pieces)

    def unpack(self, box: Box | None = None) -> np.ndarray:
        """The bool mask, or its part inside `box` (which must hold every piece)."""
        top0, left0, bottom, right = box or (0, 0, *self.shape)
        out = np.zeros((bottom - top0, right - left0), bool)
        for p in self._pieces:
            if p.top < top0 or p.left < left0 or p.top + p.height > bottom or p.left + p.width > right:
                raise ValueError(f"box {box} does not hold the mask's piece at ({p.top}, {p.left})")
            part = out[p.top - top0:p.top - top0 + p.height, p.left - left0:p.left - left0 + p.width]
            np.logical_or(part, p.unpack_rows(0, p.height), out=part)
        return out

    def crop(self, box: Box) -> "PackedMask":
        """The same pixels as a mask of the box's size (the box must hold every piece)."""
        top0, left0, bottom, right = box
        for p in self._pieces:
            if p.top < top0 or p.left < left0 or p.top + p.height > bottom or p.left + p.width > right:
                raise ValueError(f"box {box} does not hold the mask's piece at ({p.top}, {p.left})")
        return PackedMask((bottom - top0, right - left0),
                          [_Piece(p.top - top0, p.left - left0, p.height, p.width, p.bits) for p in self._pieces])

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        mask = self.unpack()
        return mask if dtype is None else mask.astype(dtype)

    def __repr__(self) -> str:
        return f"PackedMask(shape={self.shape}, pieces={len(self._pieces)})"


def union_box(boxes: Iterable[Box | None]) -> Box | None:
    """The box around all the given boxes (None ones ignored); None when there is none."""
    found = [b for b in boxes if b is not None]
    if not found:
        return None
    return (min(b[0] for b in found), min(b[1] for b in found), max(b[2] for b in found), max(b[3] for b in found))

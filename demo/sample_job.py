"""Deterministic synthetic screen-inspection job: phone photos, gold defect masks and imperfect pre-annotations."""
import hashlib
import io
import json
import math
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image, ImageDraw, ImageFilter

from annotations.defects import DEFECT_CLASSES, labeling_config
from annotations.quality.labelstudio_json import brush_result, result_id

FORMAT = "labelcrew-sample-job/1"
MODEL_VERSION = "sample-defect-model-v1"
FULL_WIDTH, FULL_HEIGHT = 5472, 3648
MIN_SIDE, MAX_SIDE = 64, 20000
JPEG_QUALITY = 90

_CLASS_KEYS = tuple(c.key for c in DEFECT_CLASSES)
_LABELS = {c.key: c.label for c in DEFECT_CLASSES}
# Relative frequency of each class once it is present in an image, and how many instances of the
# large classes one screen can plausibly carry.
_WEIGHTS = {"scratch": 5.0, "pit": 5.0, "blemish": 2.5, "missing_surface": 0.8, "crack": 0.7, "discoloration": 0.4}
_CAPS = {"blemish": 8, "missing_surface": 5, "crack": 4, "discoloration": 3}
# The pretend model's error profile: chance of missing an instance, and of calling it a neighbour.
_MISS = {"scratch": 0.3, "pit": 0.12, "blemish": 0.12, "missing_surface": 0.05, "crack": 0.08, "discoloration": 0.03}
_CONFUSION = {"pit": ("blemish", 0.2), "blemish": ("pit", 0.1), "scratch": ("crack", 0.06), "crack": ("scratch", 0.06)}
_TINTS = ((26.0, 6.0, 34.0), (30.0, 22.0, -3.0), (-4.0, 22.0, 16.0), (32.0, 12.0, 0.0))


class SampleJobError(ValueError):
    """Arguments or an output directory the sample job cannot be generated with."""


@dataclass(frozen=True)
class SampleJobSummary:
    out: Path
    images: int
    defects: int


@dataclass(frozen=True)
class _RoundRect:
    cx: float
    cy: float
    hw: float  # half width
    hh: float  # half height
    r: float  # corner radius

    def sdf(self, xs: np.ndarray, ys: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Signed distance to the outline (negative inside) on the grid of pixel centres ys x xs."""
        qx = np.abs(xs - self.cx) - (self.hw - self.r)
        qy = np.abs(ys - self.cy) - (self.hh - self.r)
        d = np.maximum(qx[None, :], qy[:, None], out=out)
        # Only beside a corner (both offsets positive) is the nearest point on the arc; elsewhere
        # the larger offset is the distance, which spares a full-frame hypot.
        rows, cols = np.flatnonzero(qy > 0), np.flatnonzero(qx > 0)
        if rows.size and cols.size:
            d[np.ix_(rows, cols)] = np.hypot(qx[cols][None, :], qy[rows][:, None])
        d -= self.r
        return d

    def sdf_at(self, x: float, y: float) -> float:
        return float(self.sdf(np.array([x]), np.array([y]))[0, 0])


@dataclass(frozen=True)
class _Band:
    """A soft straight glare band: a Gaussian profile across the line glare . (x, y) = offset."""

    offset: float
    width: float
    strength: float


@dataclass(frozen=True)
class _Scene:
    width: int
    height: int
    unit: float  # pixels here per pixel of a full-size photo
    size: float  # the phone's short side, the yardstick of defect sizes
    body: _RoundRect
    rim: float  # width of the metal frame around the front glass
    bezel: float  # black border between the glass edge and the display
    top: tuple[int, int]  # unit vector from the phone's centre towards its camera end
    camera: str  # "hole" or "notch"
    glare: tuple[float, float]  # unit normal of the (parallel) glare bands
    bands: tuple[_Band, ...]
    table: tuple[float, float, float]

    def in_glass(self, x: float, y: float) -> bool:
        return self.body.sdf_at(x, y) < -self.rim


@dataclass
class _Instance:
    cls: str
    x0: int
    y0: int
    mask: np.ndarray  # bool, the box at (x0, y0)
    glass: np.ndarray | None = None  # soft shapes: which box pixels lie on the front glass
    field: np.ndarray | None = None  # soft shapes: the mask is field > threshold (on glass)
    threshold: float = 0.0


@dataclass
class _Paint:
    """How an instance changes the photo: planes += alpha * delta inside the instance's box."""

    alpha: np.ndarray  # float32, > 0 exactly on the instance's mask
    delta: np.ndarray  # float32, (3, 1, 1) or (3, h, w)


_Drawn = tuple[_Instance, _Paint]


def generate_sample_job(
    *, out: Path | str, images: int, width: int, height: int, seed: int, workers: int = 1
) -> SampleJobSummary:
    """Write the sample job to `out`, replacing an earlier sample job there; never half-written.

    The job is generated in a temporary sibling directory that replaces `out` only when complete.
    A non-empty `out` that is not a sample job is refused, as are out-of-range arguments.
    """
    check_arguments(images=images, width=width, height=height, seed=seed, workers=workers)
    out = Path(out)
    _check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        staging.chmod(0o755)
        defects = _write_job(staging, images=images, width=width, height=height, seed=seed, workers=workers)
        _swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return SampleJobSummary(out=out, images=images, defects=defects)


def check_arguments(*, images: int, width: int, height: int, seed: int, workers: int) -> None:
    """Raise SampleJobError with one readable line for the first argument out of range."""
    if images < 1:
        raise SampleJobError(f"images must be at least 1, got {images}")
    for name, side in (("width", width), ("height", height)):
        if not MIN_SIDE <= side <= MAX_SIDE:
            raise SampleJobError(f"{name} must be between {MIN_SIDE} and {MAX_SIDE} pixels, got {side}")
    if seed < 0:
        raise SampleJobError(f"seed must be zero or positive, got {seed}")
    if workers < 1:
        raise SampleJobError(f"workers must be at least 1, got {workers}")


def _check_out(out: Path) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise SampleJobError(f"{out} exists and is not a directory")
    if not any(out.iterdir()):
        return
    try:
        fmt = json.loads((out / "manifest.json").read_text()).get("format")
    except (OSError, ValueError, AttributeError):
        fmt = None
    if fmt != FORMAT:
        raise SampleJobError(f"{out} is not empty and holds no sample job manifest; refusing to write there")


def _swap_in(staging: Path, out: Path) -> None:
    if not out.exists():
        staging.rename(out)
        return
    old = out.with_name(f"{staging.name}.old")
    out.rename(old)
    staging.rename(out)
    shutil.rmtree(old)


def _write_job(root: Path, *, images: int, width: int, height: int, seed: int, workers: int) -> int:
    for sub in ("images", "gold", "predictions"):
        (root / sub).mkdir()
    make = partial(_make_task, root=root, seed=seed, width=width, height=height)
    indices = range(1, images + 1)
    workers = min(workers, images)
    if workers == 1:
        try:
            made = [make(i) for i in indices]
        finally:
            _BUFFERS.clear()
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            made = list(pool.map(make, indices))
    tasks = [task for task, _ in made]
    files = sorted((f for _, task_files in made for f in task_files), key=lambda f: f["path"])
    manifest = {
        "format": FORMAT,
        "seed": seed,
        "width": width,
        "height": height,
        "classes": [{"key": c.key, "label": c.label, "colour": c.colour} for c in DEFECT_CLASSES],
        "label_config": labeling_config(),
        "tasks": tasks,
        "files": files,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, sort_keys=True, indent=1) + "\n")
    return sum(len(t["defects"]) for t in tasks)


def _make_task(index: int, *, root: Path, seed: int, width: int, height: int) -> tuple[dict, list[dict]]:
    """Render, label and write one screen; returns its manifest task and file entries."""
    key = f"screen_{index:04d}"
    # Separate streams so that tuning the model's errors never changes the photos, and vice versa.
    scene_rng, model_rng = np.random.default_rng([seed, index]).spawn(2)
    scene = _layout(scene_rng, width, height)
    planes, glass = _render_base(scene)
    _paint_camera(scene, planes)
    instances = []
    for cls in _choose_classes(scene_rng, index):
        instance, paint = _DRAW[cls](scene_rng, scene, planes)
        while not instance.mask.any():  # it fell between pixels or off the glass: place it again
            instance, paint = _DRAW[cls](scene_rng, scene, planes)
        _apply(planes, instance, paint)
        instances.append(instance)
    photo = _finish(scene_rng, scene, planes, glass)

    files: list[dict] = []

    def write(rel: str, data: bytes) -> str:
        (root / rel).write_bytes(data)
        files.append({"path": rel, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
        return rel

    image_rel = write(f"images/{key}.jpg", photo)
    gold_masks, gold_results = {}, []
    for cls in _CLASS_KEYS:
        mask = _union(scene, [i for i in instances if i.cls == cls])
        if mask.any():
            gold_masks[cls] = write(f"gold/{key}_{cls}.png", _png(mask))
            gold_results.append(brush_result(mask, label=_LABELS[cls], rid=result_id(key, "gold", cls)))
        else:
            gold_masks[cls] = write(f"gold/{key}_{cls}.png", _empty_png(width, height))
    gold_rel = write(f"gold/{key}.json", _compact_json(gold_results))

    predicted, score = _predict(model_rng, scene, instances)
    pred_results = []
    for cls in _CLASS_KEYS:
        mask = _union(scene, [i for i in predicted if i.cls == cls])
        if mask.any():
            pred_results.append(brush_result(mask, label=_LABELS[cls], rid=result_id(key, "prediction", cls)))
    prediction = {"model_version": MODEL_VERSION, "score": score, "result": pred_results}
    pred_rel = write(f"predictions/{key}.json", _compact_json(prediction))

    task = {
        "key": key,
        "image": image_rel,
        "image_sha256": files[0]["sha256"],
        "width": width,
        "height": height,
        "gold_masks": gold_masks,
        "gold_result": gold_rel,
        "prediction": pred_rel,
        "defects": [_describe(i) for i in instances],
    }
    return task, files


# --- scene ------------------------------------------------------------------------------------


def _layout(rng: np.random.Generator, width: int, height: int) -> _Scene:
    """Where the phone lies in the frame, how it is built and how the light falls on it."""
    landscape = width >= height
    frame_long, frame_short = max(width, height), min(width, height)
    body_long = frame_long * rng.uniform(0.80, 0.88)
    body_short = body_long / rng.uniform(2.0, 2.2)
    fit = min(1.0, frame_short * 0.86 / body_short)
    body_long, body_short = body_long * fit, body_short * fit
    hw, hh = (body_long / 2, body_short / 2) if landscape else (body_short / 2, body_long / 2)
    cx = width / 2 + rng.uniform(-0.3, 0.3) * (width / 2 - hw)
    cy = height / 2 + rng.uniform(-0.3, 0.3) * (height / 2 - hh)
    body = _RoundRect(cx, cy, hw, hh, body_short * rng.uniform(0.10, 0.14))
    sign = int(rng.choice([-1, 1]))
    top = (sign, 0) if landscape else (0, sign)

    bands = []
    angle = rng.uniform(0.45, 1.1) * rng.choice([-1, 1])
    nx, ny = math.cos(angle), math.sin(angle)
    centre = nx * cx + ny * cy
    reach = abs(nx) * hw + abs(ny) * hh
    offset = centre + rng.uniform(-0.5, 0.5) * reach
    for _ in range(int(rng.integers(1, 4))):
        # Parallel bands, like the panes of a window reflected in the glass.
        band_width = body_short * rng.uniform(0.03, 0.10)
        bands.append(_Band(offset, band_width, rng.uniform(18, 55)))
        offset += band_width * rng.uniform(2.5, 5.0) * rng.choice([-1, 1])
    table = (rng.uniform(70, 150),) * 3
    table = tuple(t * f for t, f in zip(table, (1.0, 1.0, rng.uniform(1.0, 1.08)), strict=True))
    return _Scene(
        width=width,
        height=height,
        unit=math.sqrt(width * height / (FULL_WIDTH * FULL_HEIGHT)),
        size=body_short,
        body=body,
        rim=max(1.5, body_short * rng.uniform(0.010, 0.016)),
        bezel=max(1.5, body_short * rng.uniform(0.014, 0.024)),
        top=top,
        camera="hole" if rng.random() < 0.6 else "notch",
        glare=(nx, ny),
        bands=tuple(bands),
        table=table,
    )


def _grid(
    scene: _Scene, x0: int = 0, y0: int = 0, x1: int | None = None, y1: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (xs, ys) of a box of the photo, float32."""
    x1 = scene.width if x1 is None else x1
    y1 = scene.height if y1 is None else y1
    return np.arange(x0, x1, dtype=np.float32) + 0.5, np.arange(y0, y1, dtype=np.float32) + 0.5


def _render_base(scene: _Scene) -> tuple[list[np.ndarray], np.ndarray]:
    """The table, metal frame, glass and dark display as float32 R, G, B planes, and glass coverage 0..1."""
    # Every pixel's colour is a function of its distance to the phone outline, so it is tabulated
    # once at 1/8 px steps and looked up: far cheaper than blending full-frame layers.
    steps = 8
    inner = scene.rim + scene.bezel + 2
    s = np.arange(math.ceil((inner + 2) * steps) + 1, dtype=np.float64) / steps - inner
    in_body = np.clip(0.5 - s, 0, 1)
    t = np.clip(-s / scene.rim, 0, 1)
    # A rounded metal edge: dark, with a bright reflection a third of the way in.
    frame = 38 + 120 * np.exp(-(((t - 0.35) / 0.16) ** 2)) + 25 * np.exp(-(((t - 0.85) / 0.1) ** 2))
    on_glass = np.clip(-(s + scene.rim) + 0.5, 0, 1)
    on_display = np.clip(-(s + scene.rim + scene.bezel) + 0.5, 0, 1)
    tables = []
    for table, metal, bezel, display in zip(scene.table, (1.0, 1.0, 1.05), (9, 9, 11), (15, 17, 23), strict=True):
        colour = table + (frame * metal - table) * in_body
        colour += (bezel - colour) * on_glass
        colour += (display - colour) * on_display
        tables.append(colour.astype(np.float32))
    tables.append(on_glass.astype(np.float32))

    shape = (scene.height, scene.width)
    distance = scene.body.sdf(*_grid(scene), out=_buffer("scratch", shape, np.float32))
    distance += inner
    distance *= steps
    np.clip(distance, 0, len(s) - 1, out=distance)
    index = _buffer("index", shape, np.intp)  # take() converts any other index type first
    np.copyto(index, distance, casting="unsafe")
    # mode="clip" only skips the bounds-checked copy numpy makes for out=; the indices are in range.
    *rgb, glass = (
        np.take(table, index, out=_buffer(name, shape, np.float32), mode="clip")
        for table, name in zip(tables, ("red", "green", "blue", "glass"), strict=True)
    )
    return rgb, glass


def _finish(rng: np.random.Generator, scene: _Scene, rgb: list[np.ndarray], glass: np.ndarray) -> bytes:
    """Add glass sheen and glare, vignetting and sensor noise; the photo as JPEG bytes."""
    xs, ys = _grid(scene)
    sheen = _sheen(rng, scene, ys, out=_buffer("sheen", glass.shape, np.float32))
    sheen *= glass

    vx = 1 - rng.uniform(0.12, 0.25) * ((xs - scene.width / 2) / (scene.width / 2)) ** 2
    vy = 1 - rng.uniform(0.12, 0.25) * ((ys - scene.height / 2) / (scene.height / 2)) ** 2
    vx *= 1 + rng.uniform(-0.08, 0.08) * (xs / scene.width - 0.5)
    channels = []
    noise, spread = _buffer("scratch", glass.shape, np.float32), glass
    for plane, tint in zip(rgb, (0.97, 1.0, 1.06), strict=True):
        np.multiply(sheen, tint, out=noise)
        plane += noise
        plane *= vy[:, None]
        plane *= vx[None, :]
        # Sensor noise grows with the signal (shot noise) on top of a read-noise floor.
        rng.random(dtype=np.float32, out=noise)
        noise -= 0.5
        np.multiply(plane, 0.08, out=spread)
        spread += 5
        noise *= spread
        plane += noise
        plane += 0.5
        np.clip(plane, 0, 255, out=plane)
        channels.append(Image.fromarray(plane.astype(np.uint8)))
    buf = io.BytesIO()
    Image.merge("RGB", channels).save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def _sheen(rng: np.random.Generator, scene: _Scene, ys: np.ndarray, *, out: np.ndarray) -> np.ndarray:
    """Light on the glass: a gentle gradient and the glare bands, all varying across the bands only.

    With d = nx * x + ny * y constant along the bands, row y equals one 1-D profile over
    x + (ny / nx) * y, so each row is a shifted copy of it (rounded to whole pixels, which the soft
    glare hides) instead of a dozen full-frame float operations.
    """
    nx, ny = scene.glare
    shifts = np.rint(ys * (ny / nx)).astype(np.int64)
    first = int(shifts.min())
    u = np.arange(first, int(shifts.max()) + scene.width, dtype=np.float64) + 0.5
    d = nx * u
    slope = rng.uniform(-10, 10) / max(scene.width, scene.height)
    profile = 6 + slope * (d - d.mean())
    for band in scene.bands:
        profile += band.strength * np.exp(-0.5 * ((d - band.offset) / band.width) ** 2)
    rows = sliding_window_view(profile.astype(np.float32), scene.width)
    return np.take(rows, shifts - first, axis=0, out=out, mode="clip")


def _buffer(name: str, shape: tuple[int, int], dtype: type) -> np.ndarray:
    """A named full-frame work array, reused from photo to photo; its contents are stale."""
    # Fresh 20 MP arrays cost more in page faults than the drawing itself, so a process keeps
    # its frame buffers while it renders photos of one size.
    buf = _BUFFERS.get(name)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = _BUFFERS[name] = np.empty(shape, dtype)
    return buf


_BUFFERS: dict[str, np.ndarray] = {}


def _paint_camera(scene: _Scene, planes: list[np.ndarray]) -> None:
    """The punch hole or notch at the phone's top end, and the earpiece slit."""
    body, (tx, ty) = scene.body, scene.top
    edge = (body.hw if tx else body.hh) - scene.rim - scene.bezel
    ccx, ccy = body.cx + tx * edge, body.cy + ty * edge
    lens = max(2.0, scene.size * 0.017)
    if scene.camera == "notch":
        # A bite out of the display, reaching from inside the bezel (not the frame) inwards.
        depth, span = scene.size * 0.05, scene.size * 0.18
        half = depth / 2 + scene.bezel * 0.9
        ncx, ncy = ccx - tx * depth / 2, ccy - ty * depth / 2
        notch = _RoundRect(ncx, ncy, *((half, span) if tx else (span, half)), r=min(half, span) * 0.6)
        _fill_shape(scene, planes, notch, (9, 9, 11))
        lens_at = (ccx - tx * depth * 0.45, ccy - ty * depth * 0.45)
        slit_at = (lens_at[0] - ty * span * 0.5, lens_at[1] + tx * span * 0.5)
    else:
        lens_at = (ccx - tx * lens * 2.5, ccy - ty * lens * 2.5)
        slit_at = (body.cx + tx * (edge + scene.bezel * 0.5), body.cy + ty * (edge + scene.bezel * 0.5))
    slit_long, slit_thin = scene.size * 0.06, max(0.8, scene.bezel * 0.15)
    slit = _RoundRect(*slit_at, *((slit_thin, slit_long) if tx else (slit_long, slit_thin)), r=slit_thin)
    _fill_shape(scene, planes, slit, (26, 26, 28))
    _fill_shape(scene, planes, _RoundRect(*lens_at, lens, lens, lens), (20, 21, 24))
    _fill_shape(scene, planes, _RoundRect(*lens_at, lens * 0.7, lens * 0.7, lens * 0.7), (6, 7, 14))
    glint = lens * 0.18
    glint_at = (lens_at[0] - lens * 0.25, lens_at[1] - lens * 0.25)
    _fill_shape(scene, planes, _RoundRect(*glint_at, glint, glint, glint), (70, 85, 120))


def _fill_shape(scene: _Scene, planes: list[np.ndarray], shape: _RoundRect, colour: tuple) -> None:
    """Blend a flat colour into a rounded rectangle, with anti-aliased edges."""
    left, top = shape.cx - shape.hw - 1, shape.cy - shape.hh - 1
    box = _clip_box(scene, left, top, shape.cx + shape.hw + 2, shape.cy + shape.hh + 2)
    if box is None:
        return
    x0, y0, x1, y1 = box
    alpha = np.clip(0.5 - shape.sdf(*_grid(scene, x0, y0, x1, y1)), 0, 1)
    for plane, value in zip(planes, colour, strict=True):
        region = plane[y0:y1, x0:x1]
        region += (value - region) * alpha


def _clip_box(scene: _Scene, x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int] | None:
    """The integer box [x0, x1) x [y0, y1) inside the photo, or None if nothing of it is."""
    bx0, by0 = max(0, math.floor(x0)), max(0, math.floor(y0))
    bx1, by1 = min(scene.width, math.ceil(x1)), min(scene.height, math.ceil(y1))
    return (bx0, by0, bx1, by1) if bx1 > bx0 and by1 > by0 else None


def _glass_point(rng: np.random.Generator, scene: _Scene) -> tuple[float, float]:
    body = scene.body
    while True:
        x = body.cx + rng.uniform(-1, 1) * body.hw
        y = body.cy + rng.uniform(-1, 1) * body.hh
        if scene.in_glass(x, y):
            return x, y


def _choose_classes(rng: np.random.Generator, index: int) -> list[str]:
    """Classes of an image's 10-40 instances: at least three classes, all six in the first image."""
    # Image 1 carries every class so that any job, even of one image, shows all of them.
    if index == 1:
        present = list(_CLASS_KEYS)
    else:
        present = [str(c) for c in rng.choice(_CLASS_KEYS, size=int(rng.integers(3, 7)), replace=False)]
    chosen = list(present)
    for _ in range(int(rng.integers(10, 41)) - len(chosen)):
        open_ = [c for c in present if chosen.count(c) < _CAPS.get(c, 1000)]
        if not open_:
            break
        weights = np.array([_WEIGHTS[c] for c in open_])
        chosen.append(str(rng.choice(open_, p=weights / weights.sum())))
    # Big soft regions first, so the sharp defects are painted on top of them.
    order = {"discoloration": 0, "blemish": 1}
    return sorted(chosen, key=lambda c: order.get(c, 2))


# --- defects ----------------------------------------------------------------------------------


def _apply(planes: list[np.ndarray], instance: _Instance, paint: _Paint) -> None:
    h, w = instance.mask.shape
    for plane, delta in zip(planes, paint.delta, strict=True):
        plane[instance.y0 : instance.y0 + h, instance.x0 : instance.x0 + w] += paint.alpha * delta


def _box_around(scene: _Scene, xs: list[float], ys: list[float], pad: float) -> tuple[int, int, int, int]:
    box = _clip_box(scene, min(xs) - pad, min(ys) - pad, max(xs) + pad + 1, max(ys) + pad + 1)
    assert box is not None, "defects are placed on the glass, inside the photo"
    return box


def _glass_in(scene: _Scene, box: tuple[int, int, int, int]) -> np.ndarray:
    return scene.body.sdf(*_grid(scene, *box)) < -scene.rim


def _smooth_noise(rng: np.random.Generator, h: int, w: int, bumps: float) -> np.ndarray:
    """Values of roughly 0..1 that vary smoothly, with about `bumps` hills across the longer side."""
    gh = max(2, round(bumps * h / max(h, w))) + 2
    gw = max(2, round(bumps * w / max(h, w))) + 2
    grid = rng.random((gh, gw), dtype=np.float32)
    return np.asarray(Image.fromarray(grid).resize((w, h), Image.Resampling.BICUBIC))


def _strokes(box: tuple[int, int, int, int], lines: list[list[tuple[float, float]]], width: int) -> np.ndarray:
    """Bool mask of polylines drawn `width` px wide in a box of the photo."""
    x0, y0, x1, y1 = box
    img = Image.new("L", (x1 - x0, y1 - y0))
    draw = ImageDraw.Draw(img)
    for line in lines:
        draw.line([(x - x0, y - y0) for x, y in line], fill=255, width=width, joint="curve")
    return np.asarray(img) > 0


def _hard(cls: str, box: tuple[int, int, int, int], glass: np.ndarray, alpha: np.ndarray, delta: np.ndarray) -> _Drawn:
    """A sharp-edged instance painted with `alpha` wherever that is positive on the glass."""
    alpha = alpha * glass
    mask = alpha > 0
    return _Instance(cls, box[0], box[1], mask), _Paint(alpha.astype(np.float32), delta)


def _soft(
    rng: np.random.Generator,
    scene: _Scene,
    cx: float,
    cy: float,
    radius: float,
    roughness: float,
    threshold: float,
    *,
    ramp: float,
) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray, np.ndarray]:
    """An irregular soft blob around (cx, cy): (box, field, glass, alpha).

    alpha rises from 0 where field = threshold to 1 at threshold + ramp, and is 0 off the glass.
    """
    rx, ry = radius * rng.uniform(0.8, 1.25), radius * rng.uniform(0.5, 1.0)
    angle = rng.uniform(0, math.pi)
    reach = max(rx, ry) * 1.15 + 2
    box = _box_around(scene, [cx], [cy], reach)
    xs, ys = _grid(scene, *box)
    dx, dy = (xs - cx)[None, :], (ys - cy)[:, None]
    cos, sin = math.cos(angle), math.sin(angle)
    field = 1 - ((dx * cos + dy * sin) / rx) ** 2 - ((dy * cos - dx * sin) / ry) ** 2
    field += roughness * (_smooth_noise(rng, *field.shape, bumps=5) - 0.5)
    glass = _glass_in(scene, box)
    alpha = np.clip((field - threshold) / ramp, 0, 1) * glass
    return box, field, glass, alpha


def _draw_scratch(rng: np.random.Generator, scene: _Scene, planes: list[np.ndarray]) -> _Drawn:
    """A thin, long, slightly curved light line."""
    length = scene.size * rng.uniform(0.08, 0.45)
    x, y = _glass_point(rng, scene)
    angle = rng.uniform(0, 2 * math.pi)
    ex, ey = x + length * math.cos(angle), y + length * math.sin(angle)
    bend = rng.uniform(-0.15, 0.15) * length
    mx, my = (x + ex) / 2 - bend * math.sin(angle), (y + ey) / 2 + bend * math.cos(angle)
    t = np.linspace(0, 1, 24)
    px = (1 - t) ** 2 * x + 2 * t * (1 - t) * mx + t**2 * ex
    py = (1 - t) ** 2 * y + 2 * t * (1 - t) * my + t**2 * ey
    width = max(1, round(int(rng.integers(1, 5)) * scene.unit))
    box = _box_around(scene, list(px), list(py), width + 1)
    mask = _strokes(box, [list(zip(px, py, strict=True))], width)
    fade = 0.35 + 0.65 * _smooth_noise(rng, *mask.shape, bumps=4)
    delta = np.array([1.0, 1.0, 1.05], np.float32)[:, None, None] * rng.uniform(45, 100)
    return _hard("scratch", box, _glass_in(scene, box), mask * fade, delta)


def _draw_pit(rng: np.random.Generator, scene: _Scene, planes: list[np.ndarray]) -> _Drawn:
    """A small round dot: light scattered at its rim makes it a bright ring with a dimmer core."""
    rx = max(1.5, rng.uniform(2.5, 11) * scene.unit)
    ry = rx * rng.uniform(0.75, 1.0)
    cx, cy = _glass_point(rng, scene)
    box = _box_around(scene, [cx], [cy], rx + 1)
    xs, ys = _grid(scene, *box)
    rr = ((xs - cx) / rx)[None, :] ** 2 + ((ys - cy) / ry)[:, None] ** 2
    alpha = np.where(rr <= 1, 0.5 + 0.5 * rr, 0)
    delta = np.full((3, 1, 1), rng.uniform(50, 110), np.float32)
    return _hard("pit", box, _glass_in(scene, box), alpha, delta)


def _draw_blemish(rng: np.random.Generator, scene: _Scene, planes: list[np.ndarray]) -> _Drawn:
    """A soft, irregular, milky smudge."""
    threshold = 0.3
    radius = max(2.5, scene.size * rng.uniform(0.015, 0.045))
    box, field, glass, alpha = _soft(rng, scene, *_glass_point(rng, scene), radius, 0.7, threshold, ramp=0.35)
    alpha *= 0.6 + 0.4 * _smooth_noise(rng, *alpha.shape, bumps=8)
    delta = np.array([1.0, 0.97, 0.92], np.float32)[:, None, None] * rng.uniform(18, 40)
    return _Instance("blemish", box[0], box[1], alpha > 0, glass, field, threshold), _Paint(alpha, delta)


def _draw_discoloration(rng: np.random.Generator, scene: _Scene, planes: list[np.ndarray]) -> _Drawn:
    """A large, very soft region with a colour cast."""
    threshold = 0.15
    radius = max(5.0, scene.size * rng.uniform(0.07, 0.18))
    box, field, glass, alpha = _soft(rng, scene, *_glass_point(rng, scene), radius, 0.8, threshold, ramp=0.6)
    tint = np.array(_TINTS[int(rng.integers(len(_TINTS)))], np.float32)[:, None, None] * rng.uniform(0.7, 1.2)
    return _Instance("discoloration", box[0], box[1], alpha > 0, glass, field, threshold), _Paint(alpha, tint)


def _draw_missing_surface(rng: np.random.Generator, scene: _Scene, planes: list[np.ndarray]) -> _Drawn:
    """A chip bitten out of the glass edge: a jagged bright patch of rough, broken glass."""
    body = scene.body
    side = int(rng.integers(4))
    horizontal = side < 2  # on the top or bottom edge
    half = (body.hw if horizontal else body.hh) - body.r
    along = rng.uniform(-1, 1) * half
    inset = (body.hh if horizontal else body.hw) - scene.rim
    normal = 1 if side % 2 else -1
    ex, ey = (body.cx + along, body.cy + normal * inset) if horizontal else (body.cx + normal * inset, body.cy + along)
    size = max(4.0, scene.size * rng.uniform(0.015, 0.04))
    # Conchoidal fracture: a wavy outline with small sharp jags on it.
    count = int(rng.integers(18, 30))
    angles = np.sort(rng.uniform(0, 2 * math.pi, count))
    lobes = np.linspace(0, 2 * math.pi, 5, endpoint=False)
    wave = np.interp(angles, lobes, rng.uniform(0.45, 1.0, lobes.size), period=2 * math.pi)
    radii = size * wave * rng.uniform(0.8, 1.1, count)
    px, py = ex + radii * np.cos(angles), ey + radii * np.sin(angles)
    box = _box_around(scene, list(px), list(py), 1)
    img = Image.new("L", (box[2] - box[0], box[3] - box[1]))
    ImageDraw.Draw(img).polygon([(x - box[0], y - box[1]) for x, y in zip(px, py, strict=True)], fill=255)
    mask = np.asarray(img) > 0
    x0, y0, x1, y1 = box
    # Broken glass scatters light: bright and grainy, replacing (not adding to) what was there.
    rough = rng.uniform(80, 140) * (0.65 + 0.7 * rng.random((y1 - y0, x1 - x0), dtype=np.float32))
    delta = np.stack([rough * tint - p[y0:y1, x0:x1] for p, tint in zip(planes, (1.0, 0.98, 0.95), strict=True)])
    return _hard("missing_surface", box, _glass_in(scene, box), mask.astype(np.float32), delta)


def _draw_crack(rng: np.random.Generator, scene: _Scene, planes: list[np.ndarray]) -> _Drawn:
    """Branching random-walk polylines from an impact point."""
    ox, oy = _glass_point(rng, scene)
    step = max(2.0, scene.size * 0.012)
    lines = []
    arms = int(rng.integers(2, 5))
    stack = [
        (ox, oy, rng.uniform(0, 2 * math.pi) + 2 * math.pi * k / arms, scene.size * rng.uniform(0.06, 0.25), 0)
        for k in range(arms)
    ]
    while stack:
        x, y, heading, left, depth = stack.pop()
        line = [(x, y)]
        while left > 0:
            heading += rng.normal(0, 0.25)
            x, y = x + step * math.cos(heading), y + step * math.sin(heading)
            line.append((x, y))
            left -= step
            if depth < 2 and rng.random() < 0.12:
                fork = heading + rng.choice([-1, 1]) * rng.uniform(0.4, 1.1)
                stack.append((x, y, fork, left * rng.uniform(0.3, 0.6), depth + 1))
        lines.append(line)
    width = max(1, round(int(rng.integers(1, 4)) * scene.unit))
    impact = max(1.5, 6 * scene.unit)
    xs = [p[0] for line in lines for p in line]
    ys = [p[1] for line in lines for p in line]
    box = _box_around(scene, xs, ys, width + impact + 1)
    gx, gy = _grid(scene, *box)
    mask = _strokes(box, lines, width) | ((gx - ox)[None, :] ** 2 + (gy - oy)[:, None] ** 2 <= impact**2)
    sparkle = 0.5 + 0.5 * _smooth_noise(rng, *mask.shape, bumps=12)
    delta = np.full((3, 1, 1), rng.uniform(60, 130), np.float32)
    return _hard("crack", box, _glass_in(scene, box), mask * sparkle, delta)


_DRAW = {
    "scratch": _draw_scratch,
    "pit": _draw_pit,
    "blemish": _draw_blemish,
    "missing_surface": _draw_missing_surface,
    "crack": _draw_crack,
    "discoloration": _draw_discoloration,
}


# --- pre-annotations --------------------------------------------------------------------------


def _predict(rng: np.random.Generator, scene: _Scene, gold: list[_Instance]) -> tuple[list[_Instance], float]:
    """What a decent but imperfect model would predict: (instances, mean confidence)."""
    step = max(1, round(scene.unit))
    predicted, confidences = [], []
    for inst in gold:
        miss = _MISS[inst.cls]
        if inst.cls == "scratch" and inst.mask.sum() < 2 * max(inst.mask.shape):
            miss *= 1.5  # hairline scratches are the easiest to overlook
        if rng.random() < miss:
            continue
        cls = inst.cls
        if cls in _CONFUSION and rng.random() < _CONFUSION[cls][1]:
            cls = _CONFUSION[cls][0]
        if inst.field is not None:
            # Soft regions have no true edge: the model draws it at its own, usually tighter, level.
            mask, grown = (inst.field > inst.threshold + rng.uniform(-0.1, 0.35)) & inst.glass, 0
        else:
            grown = int(rng.choice([-1, 0, 1], p=[0.15, 0.45, 0.4])) * step
            mask = _morph(inst.mask, grown)
            if not mask.any():
                mask, grown = inst.mask, 0
        if not mask.any():
            continue
        grown = max(grown, 0)
        dx, dy = (int(d) for d in rng.integers(-step, step + 1, size=2)) if rng.random() < 0.5 else (0, 0)
        predicted.append(_Instance(cls, inst.x0 - grown + dx, inst.y0 - grown + dy, mask))
        confidences.append(rng.uniform(0.6, 0.97))
    for _ in range(int(rng.integers(0, 3))):
        # False positives where the glare is brightest.
        cls = "blemish" if rng.random() < 0.65 else "discoloration"
        x, y = _on_band(rng, scene, scene.bands[int(rng.integers(len(scene.bands)))])
        radius = max(2.5, scene.size * rng.uniform(0.008, 0.025))
        box, _, _, alpha = _soft(rng, scene, x, y, radius, 0.7, 0.3, ramp=0.35)
        predicted.append(_Instance(cls, box[0], box[1], alpha > 0))
        confidences.append(rng.uniform(0.35, 0.65))
    return predicted, round(float(np.mean(confidences)), 4) if confidences else 0.0


def _morph(mask: np.ndarray, radius: int) -> np.ndarray:
    """The mask dilated (radius > 0, then padded by radius on every side) or eroded (radius < 0)."""
    if radius == 0:
        return mask
    pad = abs(radius)
    img = Image.fromarray(np.pad(mask, pad).astype(np.uint8) * 255)
    rank = ImageFilter.MaxFilter if radius > 0 else ImageFilter.MinFilter
    out = np.asarray(img.filter(rank(2 * pad + 1))) > 0
    return out if radius > 0 else out[pad:-pad, pad:-pad]


def _on_band(rng: np.random.Generator, scene: _Scene, band: _Band) -> tuple[float, float]:
    """A point on the glass along the band's bright centre line, or anywhere on the glass."""
    nx, ny = scene.glare
    reach = scene.body.hw + scene.body.hh + abs(band.offset)
    for _ in range(50):
        t = rng.uniform(-reach, reach)
        x, y = nx * band.offset - ny * t, ny * band.offset + nx * t
        if scene.in_glass(x, y):
            return x, y
    return _glass_point(rng, scene)


def _union(scene: _Scene, instances: list[_Instance]) -> np.ndarray:
    """Full-frame bool mask of instances, each clipped to the photo; valid until the next call."""
    out = _buffer("mask", (scene.height, scene.width), np.bool_)
    out.fill(False)
    for inst in instances:
        h, w = inst.mask.shape
        box = _clip_box(scene, inst.x0, inst.y0, inst.x0 + w, inst.y0 + h)
        if box is None:
            continue
        x0, y0, x1, y1 = box
        out[y0:y1, x0:x1] |= inst.mask[y0 - inst.y0 : y1 - inst.y0, x0 - inst.x0 : x1 - inst.x0]
    return out


# --- output -----------------------------------------------------------------------------------


def _describe(inst: _Instance) -> dict:
    rows, cols = np.flatnonzero(inst.mask.any(axis=1)), np.flatnonzero(inst.mask.any(axis=0))
    bbox = [inst.x0 + int(cols[0]), inst.y0 + int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)]
    return {"class": inst.cls, "bbox": bbox, "area": int(inst.mask.sum())}


def _png(mask: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(mask).convert("L").save(buf, format="PNG")
    return buf.getvalue()


@cache
def _empty_png(width: int, height: int) -> bytes:
    return _png(np.zeros((height, width), dtype=bool))


def _compact_json(obj: object) -> bytes:
    return (json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n").encode()

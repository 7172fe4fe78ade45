"""Scoring annotations against gold: metrics, rubber-stamp check and overlay, then the contractor's quality rules."""
import functools
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from PIL import Image

from annotations.models import (
    Annotation,
    Batch,
    BatchState,
    GoldVersion,
    QualityScore,
    ReviewState,
    ScoreState,
    Task,
)
from annotations.quality.labelstudio_json import ScoringInputError
from annotations.quality.metrics import Report, round_report, score_masks
from annotations.quality.overlay import render_overlay
from annotations.quality.packed import PackedMask, union_box
from annotations.quality.rubber_stamp import detect_rubber_stamp
from annotations.services.gold import gold_current, packed_masks_of_task
from workforce import onboarding
from workforce.models import Contractor, OnboardingState

logger = logging.getLogger(__name__)

OVERLAY_DIR = "overlays"  # under VAR_DIR
CHUNK_SIZE = 50  # annotation ids per re-score task: one message each, still spread over the workers
QUALIFICATION_SCORE_STEP = Decimal("0.0001")  # Contractor.qualification_score has 4 decimal places
# Scoring restarts against the newer gold when gold changes while it runs; more changes than this is a storm.
MAX_GOLD_CHANGES = 3
# A class counts as the pre-annotation unchanged at this IoU with it (detect_rubber_stamp's rule).
IDENTICAL_IOU = 0.99


def result_digest(result: object) -> str:
    """A fingerprint of an annotation's result: a score is for this exact content."""
    return hashlib.sha256(json.dumps(result, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class _CompactMasks:
    """A task's non-empty masks, bit-packed (annotations.quality.packed): a 20 MP gold of six classes is
    130 MB as bool arrays but a few MB packed, and unpacking costs a fraction of decoding the RLE again."""

    shape: tuple[int, int]
    masks: dict[str, PackedMask]

    @classmethod
    def of(cls, masks: Mapping[str, np.ndarray | PackedMask], shape: tuple[int, int]) -> "_CompactMasks":
        packed = {label: m if isinstance(m, PackedMask) else PackedMask.of(m) for label, m in masks.items()}
        return cls(shape=shape, masks={label: m for label, m in packed.items() if m.box() is not None})

    def box(self) -> tuple[int, int, int, int] | None:
        """(top, left, bottom, right) around every mask, None when all are empty."""
        return union_box(m.box() for m in self.masks.values())

    def within(self, box: tuple[int, int, int, int]) -> dict[str, PackedMask]:
        """The masks as masks of the box's size; `box` must hold every mask."""
        return {label: mask.crop(box) for label, mask in self.masks.items()}


@functools.lru_cache(maxsize=settings.QUALITY_GOLD_CACHE_SIZE)
def _gold_masks(gold_id: int) -> _CompactMasks:
    """Decoded masks of a gold version, kept per worker process: versions are never edited, and every
    annotation of a gold task is scored against the same one. Raises ScoringInputError."""
    gold = GoldVersion.objects.select_related("task").defer("task__prediction", "task__gold_result").get(pk=gold_id)
    return _CompactMasks.of(packed_masks_of_task(gold.result, gold.task), (gold.task.height, gold.task.width))


@functools.lru_cache(maxsize=settings.QUALITY_GOLD_CACHE_SIZE)
def _prediction_masks(task_id: int) -> _CompactMasks | str | None:
    """The task's pre-annotation masks (written once, when the job is made), None without one, or why they
    cannot be read."""
    task = Task.objects.defer("gold_result").get(pk=task_id)
    prediction = task.prediction.get("result") if isinstance(task.prediction, dict) else None
    if not prediction:
        return None
    try:
        return _CompactMasks.of(packed_masks_of_task(prediction, task), (task.height, task.width))
    except ScoringInputError as exc:
        return str(exc)


@dataclass(frozen=True)
class _Measured:
    """What scoring found, before it is written."""

    state: str
    error: str = ""
    report: Report | None = None
    rubber_stamp: bool = False
    rubber_stamp_detail: str = ""
    overlay_path: str = ""


def _instance_f1(report: Report) -> float | None:
    """F1 of defect instances matched one to one, summed over classes (micro average)."""
    gold = sum(c["instances"]["gold"] for c in report["classes"].values())
    candidate = sum(c["instances"]["candidate"] for c in report["classes"].values())
    matched = sum(c["instances"]["matched"] for c in report["classes"].values())
    return 2 * matched / (gold + candidate) if gold + candidate else None


def _pixels(mask: np.ndarray | PackedMask) -> int:
    return mask.count() if isinstance(mask, PackedMask) else int(np.count_nonzero(mask))


def _clearly_edited(candidate: Mapping[str, np.ndarray | PackedMask],
                    prediction: Mapping[str, np.ndarray | PackedMask]) -> str | None:
    """Why the candidate cannot be the pre-annotation unchanged, from pixel counts alone; None if it might be.

    Two masks with IoU >= IDENTICAL_IOU differ in size by at most 1 - IDENTICAL_IOU, so counting pixels
    (cheap) settles most annotations without the per-class IoUs of detect_rubber_stamp.
    """
    for label in sorted({*candidate, *prediction}):
        drawn = _pixels(candidate[label]) if label in candidate else 0
        predicted = _pixels(prediction[label]) if label in prediction else 0
        if min(drawn, predicted) < IDENTICAL_IOU * max(drawn, predicted):
            return (f"Not flagged: the candidate edited the pre-annotation ({label}: {drawn} px drawn, "
                    f"{predicted} px predicted).")
    return None


def _box_of(masks: dict[str, np.ndarray]) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) around every pixel of the masks, None when all are empty."""
    rows = np.flatnonzero(np.logical_or.reduce([m.any(axis=1) for m in masks.values()])) if masks else []
    if not len(rows):
        return None
    cols = np.flatnonzero(np.logical_or.reduce([m.any(axis=0) for m in masks.values()]))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _rubber_stamp(task: Task, candidate: Mapping[str, np.ndarray | PackedMask],
                  gold: _CompactMasks) -> tuple[bool, str]:
    predicted = _prediction_masks(task.pk)
    if predicted is None:
        return False, "Not checked: the photo had no pre-annotation."
    if isinstance(predicted, str):
        return False, f"Not checked: the pre-annotation cannot be read ({predicted})."
    if not predicted.masks:
        return False, "Not flagged: the pre-annotation is empty, so submitting it says nothing."
    # Every IoU of the rule is the same on the box around all three sets of masks, and far cheaper.
    arrays = {label: m for label, m in candidate.items() if not isinstance(m, PackedMask)}
    box = union_box([_box_of(arrays), gold.box(), predicted.box(),
                     *(m.box() for m in candidate.values() if isinstance(m, PackedMask))])
    prediction = predicted.within(box)
    drawn = {label: mask.crop(box) if isinstance(mask, PackedMask) else mask[box[0]:box[2], box[1]:box[3]]
             for label, mask in candidate.items()}
    edited = _clearly_edited(drawn, prediction)
    if edited is not None:
        return False, edited
    # PackedMasks: detect_rubber_stamp unpacks one class at a time.
    verdict = detect_rubber_stamp(candidate=drawn, prediction=prediction, gold=gold.within(box),
                                  identical_iou=IDENTICAL_IOU)
    return verdict.flagged, verdict.message


def _write_overlay(*, annotation: Annotation, gold: GoldVersion, candidate: Mapping[str, PackedMask],
                   gold_masks: Mapping[str, PackedMask]) -> str:
    """The evidence JPEG under VAR_DIR/overlays/; its VAR_DIR-relative path, or "" when the photo is gone."""
    task = annotation.batch_task.task
    try:
        with Image.open(settings.VAR_DIR / task.image_path) as photo:
            # Not loaded here: render_overlay decodes the JPEG at a reduced scale, then converts the small copy.
            jpeg = render_overlay(photo=photo, gold=gold_masks, candidate=candidate,
                                  max_side=settings.QUALITY_OVERLAY_MAX_SIDE)
    except OSError as exc:
        # The score stands without its picture; the reviewer still has Label Studio.
        logger.warning("annotation %s: no overlay, photo %s unreadable: %s", annotation.pk, task.image_path, exc)
        return ""
    relative = Path(OVERLAY_DIR) / f"{annotation.pk}-g{gold.version}.jpg"
    target = settings.VAR_DIR / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written aside then renamed: a page showing the overlay never reads half a JPEG.
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    with os.fdopen(fd, "wb") as out:
        out.write(jpeg)
    os.chmod(partial, 0o644)
    os.replace(partial, target)
    return str(relative)


def _measure(annotation: Annotation, gold: GoldVersion) -> _Measured:
    """Score the annotation's masks against the gold version. Unreadable data is a result, not an exception."""
    task = annotation.batch_task.task
    try:
        compact_gold = _gold_masks(gold.pk)
    except ScoringInputError as exc:
        return _Measured(state=ScoreState.ERROR, error=f"Gold v{gold.version} of this photo cannot be read: {exc}")
    try:
        # Packed: a worker never holds more than one class of full-size masks (the 500 MB budget).
        candidate = packed_masks_of_task(annotation.result, task)
    except ScoringInputError as exc:
        return _Measured(state=ScoreState.ERROR, error=f"The annotation's masks cannot be read: {exc}")
    report = score_masks(compact_gold.masks, candidate, tolerance=settings.QUALITY_BOUNDARY_TOLERANCE_PX,
                         iou_match=settings.QUALITY_INSTANCE_MATCH_IOU)
    overlay = _write_overlay(annotation=annotation, gold=gold, candidate=candidate, gold_masks=compact_gold.masks)
    flagged, detail = _rubber_stamp(task, candidate, compact_gold)
    return _Measured(state=ScoreState.SCORED, report=report, rubber_stamp=flagged, rubber_stamp_detail=detail,
                     overlay_path=overlay)


def _score_fields(measured: _Measured, *, digest: str, attempt: int, duration_ms: int) -> dict:
    fields = {
        "state": measured.state, "error": measured.error, "rubber_stamp": measured.rubber_stamp,
        "rubber_stamp_detail": measured.rubber_stamp_detail, "overlay_path": measured.overlay_path,
        "result_digest": digest, "attempts": attempt, "duration_ms": duration_ms,
        "scored_at": timezone.now(), "overall_iou": None, "macro_iou": None, "macro_dice": None,
        "macro_boundary_f1": None, "instance_f1": None, "per_class": {},
    }
    if measured.report is not None:
        overall = measured.report["overall"]
        fields.update(
            overall_iou=overall["iou"], macro_iou=overall["macro_iou"], macro_dice=overall["macro_dice"],
            macro_boundary_f1=overall["macro_boundary_f1"], instance_f1=_instance_f1(measured.report),
            per_class=round_report(measured.report["classes"]),
        )
    return fields


def _current_gold_id_only(task: Task) -> GoldVersion | None:
    """The current gold without its result, which is only read (and cached) when it is decoded."""
    current = GoldVersion.objects.filter(task=task).order_by("-version").defer("result").first()
    return current if current is not None else gold_current(task)


def _lock_briefly() -> None:
    """Fail fast on a held row lock: a worker waiting on one is better retried later with backoff."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{settings.QUALITY_LOCK_TIMEOUT_MS}ms"])


def score_annotation(*, annotation_id: int, attempt: int = 1) -> QualityScore | None:
    """The annotation's score against its task's current gold, computed once per gold version and content.

    Idempotent: a score for the current gold and the annotation's current result is returned as it
    is. Masks that cannot be read give a score in state "error" saying why. None when there is nothing
    to score: the annotation is gone, deleted or skipped, its task has no gold, or it is the gold.
    The computing runs outside any transaction; the write locks the annotation and the task (a
    lock held elsewhere raises OperationalError after QUALITY_LOCK_TIMEOUT_MS, which the task retries).
    """
    for _ in range(MAX_GOLD_CHANGES + 1):
        # The task's masks are read (and cached) only when they are decoded.
        annotation = (Annotation.objects.select_related("batch_task__task")
                      .defer("batch_task__task__prediction", "batch_task__task__gold_result")
                      .filter(pk=annotation_id).first())
        if annotation is None or annotation.deleted or annotation.was_cancelled:
            return None
        task = annotation.batch_task.task
        gold = _current_gold_id_only(task)
        if gold is None or gold.source_annotation_id == annotation.pk:
            return None
        digest = result_digest(annotation.result)
        existing = QualityScore.objects.filter(annotation=annotation, gold=gold).first()
        if existing is not None and existing.result_digest == digest:
            return existing
        started = time.perf_counter()
        measured = _measure(annotation, gold)
        duration_ms = round((time.perf_counter() - started) * 1000)
        with transaction.atomic():
            _lock_briefly()
            locked = Annotation.objects.select_for_update().get(pk=annotation_id)
            list(Task.objects.select_for_update(no_key=True).filter(pk=task.pk).values_list("pk"))
            if _current_gold_id_only(task).pk != gold.pk or result_digest(locked.result) != digest:
                continue  # gold or the annotation changed while we computed: measure again
            fields = _score_fields(measured, digest=digest, attempt=attempt, duration_ms=duration_ms)
            score, _ = QualityScore.objects.update_or_create(annotation=locked, gold=gold, defaults=fields)
            if locked.review_state == ReviewState.SCORING:  # a reviewer's decision stands
                locked.review_state = ReviewState.PENDING
                locked.save(update_fields=["review_state"])
            if locked.contractor_id is not None and not locked.unassigned_work:
                contractor_quality_apply(contractor_id=locked.contractor_id)
        logger.info("annotation %s vs gold v%s of task %s: %s in %s ms", annotation_id, gold.version, task.pk,
                    score.state, score.duration_ms)
        return score
    raise RuntimeError(f"annotation {annotation_id}: gold changed {MAX_GOLD_CHANGES} times while it was scored")


def scoring_enqueue(*, annotation_ids: list[int]) -> int:
    """Queue the annotations for scoring in chunks of CHUNK_SIZE; returns how many chunk tasks were sent."""
    from celery import group

    from annotations.tasks import score_annotations

    chunks = [annotation_ids[i:i + CHUNK_SIZE] for i in range(0, len(annotation_ids), CHUNK_SIZE)]
    if chunks:
        group(score_annotations.s(chunk) for chunk in chunks).apply_async()
    return len(chunks)


# --- the contractor's quality rules ------------------------------------------------------------

@transaction.atomic
def contractor_qualification_record(*, contractor: Contractor, score: float) -> Contractor:
    """Record the qualification score a qualifying contractor earned on gold; staff still decide on approval."""
    value = Decimal(str(score)).quantize(QUALIFICATION_SCORE_STEP)
    if not Decimal(0) <= value <= Decimal(1):
        raise ValueError(f"a qualification score is between 0 and 1, got {score}")
    Contractor.objects.filter(pk=contractor.pk).update(qualification_score=value, updated_at=timezone.now())
    contractor.qualification_score = value
    return contractor


def _pause_reason(score: float, n: int, weakest: str | None, weakest_iou: float | None) -> str:
    reason = (f"Your quality score on gold tasks is {score:.2f} over your last {n} scored tasks, "
              f"below the {settings.QUALITY_PAUSE_BELOW:.2f} needed to keep receiving batches.")
    if weakest is not None and weakest_iou is not None:
        reason += f" Your weakest class is {weakest} (mean IoU {weakest_iou:.2f}): see the overlays of your scores."
    return reason


@transaction.atomic
def contractor_quality_apply(*, contractor_id: int) -> None:
    """After a score: a qualifying contractor's qualification score is recorded (pass or not, for staff to see)
    and, with QUALITY_QUALIFICATION_AUTO_APPROVE, a pass approves them; an active one whose rolling score has
    fallen below the pause threshold is paused (and emailed why)."""
    from annotations.selectors.quality import quality_rollups

    contractor = Contractor.objects.select_for_update().get(pk=contractor_id)
    if contractor.state == OnboardingState.QUALIFYING:
        _qualification_apply(contractor)
        return
    rollup = quality_rollups([contractor_id])[contractor_id]
    if (contractor.state == OnboardingState.ACTIVE and rollup.score is not None
            and rollup.n >= settings.QUALITY_PAUSE_MIN_TASKS and rollup.score < settings.QUALITY_PAUSE_BELOW):
        weakest_iou = rollup.per_class.get(rollup.weakest_class) if rollup.weakest_class else None
        onboarding.transition(contractor=contractor, to_state=OnboardingState.PAUSED,
                              reason=_pause_reason(rollup.score, rollup.n, rollup.weakest_class, weakest_iou))


def _qualification_apply(contractor: Contractor) -> None:
    """The round's score once every photo of it is scored; without a round, over QUALITY_QUALIFICATION_TASKS
    scored gold tasks. A complete round is marked submitted; a pass approves only when configured to."""
    from annotations.selectors.qualification import qualification_round
    from annotations.selectors.quality import quality_rollups

    found = qualification_round(contractor_id=contractor.pk)
    if found is None:
        rollup = quality_rollups([contractor.pk])[contractor.pk]
        if rollup.score is not None and rollup.n >= settings.QUALITY_QUALIFICATION_TASKS:
            contractor_qualification_record(contractor=contractor, score=rollup.score)
        return
    if not found.complete or found.score is None:
        return
    contractor_qualification_record(contractor=contractor, score=found.score)
    Batch.objects.filter(pk=found.batch.pk, state__in=(BatchState.ASSIGNED, BatchState.IN_PROGRESS)).update(
        state=BatchState.SUBMITTED)
    if found.passed and settings.QUALITY_QUALIFICATION_AUTO_APPROVE:
        onboarding.transition(contractor=contractor, to_state=OnboardingState.APPROVED, reason=(
            f"passed the qualification round: {found.score:.2f} over {found.tasks} photos "
            f"(pass mark {found.pass_mark:.2f})"))

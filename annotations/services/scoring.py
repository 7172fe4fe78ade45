"""Scoring an annotation against its task's gold: measured outside any transaction, written under a brief lock.

The pure measuring is annotations.quality's; queuing scoring work is services/scoring_queue.py's; the
contractor's quality rules that follow each score are services/contractor_quality.py's.
"""
import functools
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from PIL import Image

from annotations.models import Annotation, GoldVersion, QualityScore, ReviewState, ScoreState, Task
from annotations.quality.compact import CompactMasks, rubber_stamp_on_crops
from annotations.quality.labelstudio_json import ScoringInputError
from annotations.quality.metrics import Report, round_report, score_masks
from annotations.quality.overlay import render_overlay
from annotations.quality.packed import PackedMask
from annotations.services.contractor_quality import contractor_quality_apply
from annotations.services.gold import gold_current, packed_masks_of_task
from annotations.services.job_progress import job_progress_touch
from annotations.services.quality_rollups import quality_rollups_refresh

logger = logging.getLogger(__name__)

OVERLAY_DIR = "overlays"  # under VAR_DIR
# Scoring restarts against the newer gold when gold changes while it runs; more changes than this is a storm.
MAX_GOLD_CHANGES = 3
# A class counts as the pre-annotation unchanged at this IoU with it (detect_rubber_stamp's rule).
IDENTICAL_IOU = 0.99


def result_digest(result: object) -> str:
    """A fingerprint of an annotation's result: a score is for this exact content."""
    return hashlib.sha256(json.dumps(result, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@functools.lru_cache(maxsize=settings.QUALITY_GOLD_CACHE_SIZE)
def _gold_masks(gold_id: int) -> CompactMasks:
    """Decoded masks of a gold version, kept per worker process: versions are never edited, and every
    annotation of a gold task is scored against the same one. Raises ScoringInputError."""
    gold = GoldVersion.objects.select_related("task").defer("task__prediction", "task__gold_result").get(pk=gold_id)
    return CompactMasks.of(packed_masks_of_task(gold.result, gold.task), (gold.task.height, gold.task.width))


@functools.lru_cache(maxsize=settings.QUALITY_GOLD_CACHE_SIZE)
def _prediction_masks(task_id: int) -> CompactMasks | str | None:
    """The task's pre-annotation masks (written once, when the job is made), None without one, or why they
    cannot be read."""
    task = Task.objects.defer("gold_result").get(pk=task_id)
    prediction = task.prediction.get("result") if isinstance(task.prediction, dict) else None
    if not prediction:
        return None
    try:
        return CompactMasks.of(packed_masks_of_task(prediction, task), (task.height, task.width))
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


def _rubber_stamp(task: Task, candidate: Mapping[str, np.ndarray | PackedMask], gold: CompactMasks,
                  labels: Sequence[str] = ()) -> tuple[bool, str]:
    """Was a wrong pre-annotation of the task submitted unchanged? (flagged, why), or why it was not checked."""
    predicted = _prediction_masks(task.pk)
    if predicted is None:
        return False, "Not checked: the photo had no pre-annotation."
    if isinstance(predicted, str):
        return False, f"Not checked: the pre-annotation cannot be read ({predicted})."
    return rubber_stamp_on_crops(candidate=candidate, prediction=predicted, gold=gold, identical_iou=IDENTICAL_IOU,
                                 labels=labels)


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
    labels = annotation.batch_task.batch.job.labels  # the report lists the job's classes, in its order
    report = score_masks(compact_gold.masks, candidate, labels=labels, tolerance=settings.QUALITY_BOUNDARY_TOLERANCE_PX,
                         iou_match=settings.QUALITY_INSTANCE_MATCH_IOU)
    overlay = _write_overlay(annotation=annotation, gold=gold, candidate=candidate, gold_masks=compact_gold.masks)
    flagged, detail = _rubber_stamp(task, candidate, compact_gold, labels)
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
        annotation = (Annotation.objects.select_related("batch_task__task", "batch_task__batch__job")
                      .defer("batch_task__task__prediction", "batch_task__task__gold_result",
                             "batch_task__batch__job__instructions", "batch_task__batch__job__labeling_config")
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
            quality_rollups_refresh(contractor_ids=[locked.contractor_id])
            job_progress_touch(job_ids=[task.job_id])  # scored of scorable
        logger.info("annotation %s vs gold v%s of task %s: %s in %s ms", annotation_id, gold.version, task.pk,
                    score.state, score.duration_ms)
        return score
    raise RuntimeError(f"annotation {annotation_id}: gold changed {MAX_GOLD_CHANGES} times while it was scored")

"""The annotations app's sections of a contractor's privacy export: references to their annotations (never the
masks) and their quality scores with links to the overlays. One query each, whatever the number of rows.

Registered with workforce.privacy from AnnotationsConfig.ready(). Which photos are hidden gold is not said.
"""
from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from annotations.models import Annotation, QualityScore
from workforce.models import Contractor


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def annotation_references(contractor: Contractor) -> list[dict[str, Any]]:
    """Each annotation the contractor made: ids, job, batch, photo key, dates and review state (no mask)."""
    rows = (Annotation.objects.filter(contractor=contractor).order_by("ls_created_at", "id")
            .values("id", "ls_annotation_id", "batch_task__batch__job_id", "batch_task__batch__job__name",
                    "batch_task__batch__number", "batch_task__task__key", "ls_created_at", "ls_updated_at",
                    "lead_time", "review_state", "was_cancelled", "deleted"))
    return [{"id": r["id"], "label_studio_annotation_id": r["ls_annotation_id"],
             "job": {"id": r["batch_task__batch__job_id"], "name": r["batch_task__batch__job__name"]},
             "batch": r["batch_task__batch__number"], "photo_key": r["batch_task__task__key"],
             "created_at": _iso(r["ls_created_at"]), "updated_at": _iso(r["ls_updated_at"]),
             "lead_time_seconds": r["lead_time"], "review_state": r["review_state"],
             "cancelled": r["was_cancelled"], "deleted": r["deleted"]}
            for r in rows]


def quality_scores_export(contractor: Contractor) -> list[dict[str, Any]]:
    """Each score of the contractor's annotations against gold, with the link to its overlay image (None when it
    has none); the link opens for the contractor while signed in."""
    rows = (QualityScore.objects.filter(annotation__contractor=contractor).order_by("scored_at", "id")
            .values("id", "annotation_id", "gold__version", "state", "error", "overall_iou", "macro_iou",
                    "macro_dice", "macro_boundary_f1", "instance_f1", "per_class", "rubber_stamp",
                    "rubber_stamp_detail", "overlay_path", "scored_at"))
    return [{"id": r["id"], "annotation_id": r["annotation_id"], "gold_version": r["gold__version"],
             "state": r["state"], "error": r["error"], "overall_iou": r["overall_iou"], "macro_iou": r["macro_iou"],
             "macro_dice": r["macro_dice"], "macro_boundary_f1": r["macro_boundary_f1"],
             "instance_f1": r["instance_f1"], "per_class": r["per_class"], "rubber_stamp": r["rubber_stamp"],
             "rubber_stamp_detail": r["rubber_stamp_detail"], "scored_at": _iso(r["scored_at"]),
             "overlay_url": (settings.SITE_URL + reverse("annotations:quality-overlay", args=[r["id"]])
                             if r["overlay_path"] else None)}
            for r in rows]

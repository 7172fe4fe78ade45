"""Overlay images for reviewers, drawn on request: an annotation against the pre-annotation or against gold."""
from django.conf import settings
from PIL import Image

from annotations.models import Annotation
from annotations.quality.labelstudio_json import ScoringInputError, masks_from_results
from annotations.quality.overlay import render_overlay
from common.errors import DomainError

REFERENCES = ("prediction", "gold")
EVIDENCE_MAX_SIDE = 1600  # fits a reviewer's screen; the 20 MP original stays in Label Studio


def annotation_overlay(*, annotation: Annotation, against: str) -> bytes:
    """JPEG: green where the annotation agrees with the reference, red where it adds, blue where it misses."""
    task = annotation.batch_task.task
    reference = (task.prediction or {}).get("result") if against == "prediction" else task.gold_result
    if against not in REFERENCES or not reference:
        raise DomainError(f"This photo has no {against} to compare with.", field="against")
    try:
        candidate, height, width = masks_from_results(annotation.result) if annotation.result else ({}, None, None)
        gold, ref_height, ref_width = masks_from_results(reference)
    except ScoringInputError as exc:
        raise DomainError(f"The masks cannot be read: {exc}", field="result") from None
    if (height, width) not in ((None, None), (ref_height, ref_width)):
        raise DomainError("The annotation and the reference have different sizes.", field="result")
    with Image.open(settings.VAR_DIR / task.image_path) as photo:
        return render_overlay(photo=photo.convert("RGB"), gold=gold, candidate=candidate,
                              max_side=EVIDENCE_MAX_SIDE)

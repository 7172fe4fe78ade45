"""The defect classes a job can use and the Label Studio labeling config for them.

The screen-inspection sample's six classes (the default of a new job) are defined with the quality core,
whose CLI scores against them; the Label Studio control names come from the result format it reads.
"""
import re
from xml.sax.saxutils import quoteattr

from annotations.quality.classes import DEFECT_CLASSES, DefectClass
from annotations.quality.labelstudio_json import BRUSH_FROM_NAME, IMAGE_TO_NAME

DEFECT_BY_KEY = {d.key: d for d in DEFECT_CLASSES}
DEFECT_BY_LABEL = {d.label: d for d in DEFECT_CLASSES}


def labeling_config(classes: tuple[DefectClass, ...] = DEFECT_CLASSES) -> str:
    """Label Studio XML for brush segmentation of one image with the given classes."""
    labels = "\n".join(
        f"    <Label value={quoteattr(c.label)} background={quoteattr(c.colour)}/>" for c in classes
    )
    return (
        "<View>\n"
        f'  <Image name="{IMAGE_TO_NAME}" value="$image" zoom="true" zoomControl="true" rotateControl="false"/>\n'
        f'  <BrushLabels name="{BRUSH_FROM_NAME}" toName="{IMAGE_TO_NAME}">\n'
        f"{labels}\n"
        "  </BrushLabels>\n"
        "</View>\n"
    )


def parse_classes(text: str) -> tuple[DefectClass, ...]:
    """Classes from lines `key | Label | #rrggbb` (the console's form); ValueError names the bad line."""
    classes = []
    for number, line in enumerate(text.strip().splitlines(), start=1):
        parts = [part.strip() for part in line.split("|")]
        if len(parts) != 3 or not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", parts[0]) or not parts[1] \
                or len(parts[1]) > 60 or not re.fullmatch(r"#[0-9a-fA-F]{6}", parts[2]):
            raise ValueError(f"line {number}: write `key | Label | #rrggbb`, e.g. `scratch | Scratch | #e6194b`")
        classes.append(DefectClass(*parts))
    if not classes:
        raise ValueError("give at least one class")
    for attribute in ("key", "label"):
        values = [getattr(c, attribute) for c in classes]
        if len(set(values)) != len(values):
            raise ValueError(f"two classes share a {attribute}")
    return tuple(classes)


def format_classes(classes: tuple[DefectClass, ...] = DEFECT_CLASSES) -> str:
    """The classes as the console's form writes them, one `key | Label | #rrggbb` per line."""
    return "\n".join(f"{c.key} | {c.label} | {c.colour}" for c in classes)

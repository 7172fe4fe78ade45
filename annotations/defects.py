"""The defect classes of the screen-inspection job and the Label Studio labeling config for them.

Pure Python: used by the sample-job generator, the quality core and the console alike.
"""
import re
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

# Label Studio names of the labeling config's controls; results carry them as
# from_name / to_name.
BRUSH_FROM_NAME = "defect"
IMAGE_TO_NAME = "image"


@dataclass(frozen=True)
class DefectClass:
    key: str  # stable identifier, used in file names and APIs
    label: str  # what Label Studio shows and stores in `brushlabels`
    colour: str  # hex colour of the brush


DEFECT_CLASSES: tuple[DefectClass, ...] = (
    DefectClass("scratch", "Scratch", "#e6194b"),
    DefectClass("pit", "Pit", "#3cb44b"),
    DefectClass("blemish", "Blemish", "#ffe119"),
    DefectClass("missing_surface", "Missing surface", "#4363d8"),
    DefectClass("crack", "Crack", "#f58231"),
    DefectClass("discoloration", "Discoloration", "#911eb4"),
)
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
    return "\n".join(f"{c.key} | {c.label} | {c.colour}" for c in classes)

"""The six defect classes of the screen-inspection sample: the CLI's default labels and a new job's default classes.

The scoring functions never assume them: they take the labels to report as an argument.
"""
from dataclasses import dataclass


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

"""Reads behind the gateway's decision: what a contractor holds in Label Studio now, and whose an object is.

Each is one indexed query; annotations.gateway caches the answers (a holding for a few seconds and until a batch or
a contractor changes state, an object's project for good: tasks never move between projects).
"""
from dataclasses import dataclass, field

from annotations.batch_life import HELD_STATES
from annotations.models import Annotation, Batch, BatchTask, LabelStudioAccount
from workforce.models import Contractor, OnboardingState

# A contractor may use Label Studio in these states only: from the qualification round to active work.
MAY_LABEL = frozenset({OnboardingState.QUALIFYING, OnboardingState.APPROVED, OnboardingState.ACTIVE})


@dataclass(frozen=True)
class Holding:
    """What one contractor may reach in Label Studio right now."""

    allowed: bool
    why: str = ""
    ls_user_id: int | None = None
    # Label Studio project id -> True while they hold the batch (may write), False once handed in (may read).
    projects: dict[int, bool] = field(default_factory=dict)


def contractor_holding(*, contractor_id: int) -> Holding:
    """The contractor's standing and the projects of the batches assigned to them now.

    A batch reclaimed or reassigned is no longer assigned to them, so it is closed to them at once; a batch they
    handed in (or that was reviewed, or a qualification round that was closed) stays assigned and is read-only.
    """
    contractor = (Contractor.objects.filter(pk=contractor_id)
                  .values("state", "anonymized_at", "user__is_active").first())
    if contractor is None or contractor["anonymized_at"] or not contractor["user__is_active"]:
        return Holding(allowed=False, why="this account is closed")
    if contractor["state"] not in MAY_LABEL:
        return Holding(allowed=False, why=f"this account is {OnboardingState(contractor['state']).label.lower()}")
    ls_user_id = (LabelStudioAccount.objects.filter(contractor_id=contractor_id, active=True)
                  .values_list("ls_user_id", flat=True).first())
    if ls_user_id is None:
        return Holding(allowed=False, why="no Label Studio account yet")
    rows = Batch.objects.filter(assigned_to_id=contractor_id, ls_project_id__isnull=False).values_list(
        "ls_project_id", "state")
    return Holding(allowed=True, ls_user_id=ls_user_id,
                   projects={project: state in HELD_STATES for project, state in rows})


def task_project(*, ls_task_id: int) -> int | None:
    """The Label Studio project of a task LabelCrew published, or None (a task LabelCrew does not know)."""
    return (BatchTask.objects.filter(ls_task_id=ls_task_id)
            .values_list("batch__ls_project_id", flat=True).first())


def annotation_synced(*, ls_annotation_id: int) -> tuple[int | None, int | None] | None:
    """(Label Studio task id, contractor id) of a synced annotation, or None when it is not synced yet."""
    return (Annotation.objects.filter(ls_annotation_id=ls_annotation_id)
            .values_list("batch_task__ls_task_id", "contractor_id").first())


def photo_in_projects(*, image_path: str, projects: list[int]) -> bool:
    """Whether the photo (relative to var/) is a task of one of these Label Studio projects."""
    return BatchTask.objects.filter(batch__ls_project_id__in=projects, task__image_path=image_path).exists()

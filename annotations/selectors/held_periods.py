"""When a contractor held a batch: from taking it to handing it in or losing it, read from the batch's history.

Every change of a batch is a BatchTransition naming the holder after it, so a contractor holds the batch from the
transition that leaves it theirs to work on (assigned, in progress, rework) to the next one that does not (handed
in, reclaimed or released, reassigned to someone else, finished). A batch sent back for rework is held again.
"""
from dataclasses import dataclass
from datetime import datetime

from annotations.batch_life import HELD_STATES
from annotations.models import BatchState, BatchTransition

ENDED_BY = {
    BatchState.HANDED_IN: "handed in",
    BatchState.OPEN: "taken back",
    BatchState.DONE: "finished",
}


@dataclass(frozen=True)
class HeldPeriod:
    start: datetime
    end: datetime | None  # None: held now
    ended_by: str = ""  # "handed in", "taken back", "reassigned", "finished"


def held_periods(*, batch_id: int, contractor_id: int) -> list[HeldPeriod]:
    """The spans during which the contractor held the batch, oldest first (the last one open if they hold it)."""
    periods: list[HeldPeriod] = []
    since: datetime | None = None
    for change in (BatchTransition.objects.filter(batch_id=batch_id).order_by("created_at", "id")
                   .values("to_state", "contractor_id", "created_at")):
        theirs = change["contractor_id"] == contractor_id and change["to_state"] in HELD_STATES
        if theirs and since is None:
            since = change["created_at"]
        elif not theirs and since is not None:
            ended_by = ENDED_BY.get(change["to_state"], "reassigned")
            periods.append(HeldPeriod(start=since, end=change["created_at"], ended_by=ended_by))
            since = None
    if since is not None:
        periods.append(HeldPeriod(start=since, end=None))
    return periods

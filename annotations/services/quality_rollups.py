"""The stored quality rollups (ContractorQualityRollup): the one writer, run by every service that changes the scores
a contractor is judged on (a score written, an annotation deleted, cancelled or reassigned), and the repair that
recomputes them all (manage.py quality_rollups_rebuild)."""
from collections.abc import Iterable

from django.db import transaction

from annotations.models import ContractorQualityRollup
from annotations.selectors.quality import QualityRollup, quality_rollups
from workforce.models import Contractor

REBUILD_CHUNK = 500  # contractors recomputed (and locked) per transaction by the rebuild

STORED_FIELDS = ("score", "n", "per_class", "weakest_class", "rubber_stamps")


def _stored(contractor_id: int, rollup: QualityRollup) -> ContractorQualityRollup:
    return ContractorQualityRollup(contractor_id=contractor_id, score=rollup.score, n=rollup.n,
                                   per_class=rollup.per_class, weakest_class=rollup.weakest_class or "",
                                   rubber_stamps=rollup.rubber_stamps)


def _values(row: ContractorQualityRollup) -> tuple:
    return tuple(getattr(row, name) for name in STORED_FIELDS)


@transaction.atomic
def quality_rollups_refresh(*, contractor_ids: Iterable[int | None]) -> int:
    """Recompute these contractors' stored rollups from their scores; returns how many rows it wrote (new or
    different). Three queries whatever the number of contractors, plus one write when a row changed."""
    ids = sorted({cid for cid in contractor_ids if cid is not None})
    if not ids:
        return 0
    # The contractors are locked (in id order, as the scorer locks them) before their scores are read: under READ
    # COMMITTED a concurrent refresh of the same contractor then waits for this one to commit and reads its scores
    # too, so the row last written is never the one that missed a score.
    locked = list(Contractor.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk")
                  .values_list("pk", flat=True))
    stored = {row.contractor_id: _values(row)
              for row in ContractorQualityRollup.objects.filter(contractor_id__in=locked)}
    rows = [_stored(cid, rollup) for cid, rollup in quality_rollups(locked).items()]
    changed = [row for row in rows if stored.get(row.contractor_id) != _values(row)]
    if changed:
        ContractorQualityRollup.objects.bulk_create(
            changed, update_conflicts=True, unique_fields=["contractor"], update_fields=[*STORED_FIELDS, "updated_at"])
    return len(changed)


def quality_rollups_rebuild(*, chunk: int = REBUILD_CHUNK) -> tuple[int, int]:
    """Recompute every contractor's stored rollup, `chunk` contractors per transaction; returns (contractors
    recomputed, rows that were missing or wrong). The repair after scores were written around the services."""
    ids = list(Contractor.objects.order_by("pk").values_list("pk", flat=True))
    written = sum(quality_rollups_refresh(contractor_ids=ids[start:start + chunk])
                  for start in range(0, len(ids), chunk))
    return len(ids), written

"""The quality figure a contractor carries: the qualification score they earned on gold."""
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from workforce.models import Contractor

QUALIFICATION_SCORE_STEP = Decimal("0.0001")  # Contractor.qualification_score has 4 decimal places


@transaction.atomic
def contractor_qualification_record(*, contractor: Contractor, score: float) -> Contractor:
    """Record the qualification score a qualifying contractor earned on gold; staff still decide on approval."""
    value = Decimal(str(score)).quantize(QUALIFICATION_SCORE_STEP)
    if not Decimal(0) <= value <= Decimal(1):
        raise ValueError(f"a qualification score is between 0 and 1, got {score}")
    Contractor.objects.filter(pk=contractor.pk).update(qualification_score=value, updated_at=timezone.now())
    contractor.qualification_score = value
    return contractor

"""What a job cost in paid time, read from the app above (payroll owns time and pay) behind a small interface.

Apps import only downward, so annotations cannot import payroll: payroll registers its implementation here from
its AppConfig.ready(), and the delivery report reads through `job_costs()`.
"""
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from annotations.models import Job


@dataclass(frozen=True)
class JobCost:
    """Paid time of one job; money unrounded (Decimal), to be rounded once where it is shown or sent."""

    work_minutes: int  # logged on the job's batches
    work_cost: Decimal  # those minutes x the rate each entry kept
    adjustment_minutes: int  # staff corrections booked on the job (signed)
    adjustment_cost: Decimal
    currency: str

    @property
    def cost(self) -> Decimal:
        return self.work_cost + self.adjustment_cost


_registered: list[Callable[[Job], JobCost]] = []


def job_costs_register(costs: Callable[[Job], JobCost]) -> None:
    """Install the implementation (payroll's, from PayrollConfig.ready()); a second call replaces the first."""
    _registered[:] = [costs]


def job_costs(job: Job) -> JobCost:
    """The job's paid time through the registered implementation; RuntimeError when none is."""
    if not _registered:
        raise RuntimeError("No job costs registered: annotations.selectors.job_costs.job_costs_register() is "
                           "called by payroll's AppConfig.ready(); is payroll in INSTALLED_APPS?")
    return _registered[0](job)

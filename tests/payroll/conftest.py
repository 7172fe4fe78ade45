"""Fixtures for payroll: an active contractor holding a batch, staff, and a fixed 'now' in week 2026-W48."""
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine

from annotations.models import Batch
from tests.factories import batch_assigned, contractor_in_state, staff_user
from workforce.models import Contractor, OnboardingState, User

# Wednesday of ISO week 2026-W48 (Monday 23 November 2026).
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
W48 = datetime(2026, 11, 23, tzinfo=UTC)
W48_ENDED = datetime(2026, 11, 30, tzinfo=UTC)  # Monday 00:00 UTC: from now on W48 may be submitted


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026 (UTC); days 16-22 are W47, 23-29 are W48."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def contractor() -> Contractor:
    return contractor_in_state(OnboardingState.ACTIVE)


@pytest.fixture
def batch(contractor: Contractor) -> Batch:
    return batch_assigned(contractor)


@pytest.fixture
def staff() -> User:
    return staff_user()


@pytest.fixture
def in_w46() -> Iterator[None]:
    """The clock on Wednesday of 2026-W46 (running), for tests of pages and endpoints that read the real clock:
    W45 is then the previous pay week, where time may still be logged."""
    with time_machine.travel(datetime(2026, 11, 11, 12, 0, tzinfo=UTC), tick=True):
        yield

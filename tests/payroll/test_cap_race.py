"""The weekly cap and the overlap rule hold when many requests for one contractor-week race (PostgreSQL)."""
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection, connections
from django.db.models import Sum

from annotations.models import Batch
from common.errors import CapExceeded, Conflict
from payroll.models import TimeEntry, Timesheet
from payroll.services.entries import time_entry_create
from tests.payroll.conftest import at
from workforce.models import Contractor

pytestmark = pytest.mark.django_db(transaction=True)


def race(calls: list[Callable[[], object]]) -> Counter:
    """Run every call in its own thread (own database connection), all released at once; count outcomes."""
    barrier = threading.Barrier(len(calls))
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def run(call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            call()
            outcome = "ok"
        except (CapExceeded, Conflict) as exc:
            outcome = type(exc).__name__
        finally:
            connections.close_all()
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_threads_racing_past_the_cap_never_exceed_it(contractor: Contractor, batch: Batch) -> None:
    # 30 one-hour entries on distinct hours of W47 (30 h) against a 20 h cap, all at once.
    spans = [(at(16 + i // 10, 8 + i % 10), at(16 + i // 10, 9 + i % 10)) for i in range(30)]
    calls = [lambda s=s, e=e: time_entry_create(contractor=contractor, batch=batch, start=s, end=e,
                                                actor=contractor.user, now=at(22, 23)) for s, e in spans]
    outcomes = race(calls)
    assert outcomes == Counter({"ok": 20, "CapExceeded": 10})
    logged = TimeEntry.objects.filter(contractor=contractor).aggregate(m=Sum("minutes"))["m"]
    assert logged == 20 * 60
    assert Timesheet.objects.get(contractor=contractor).work_minutes == logged


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_threads_logging_the_same_span_save_it_once(contractor: Contractor, batch: Batch) -> None:
    calls = [lambda: time_entry_create(contractor=contractor, batch=batch, start=at(17, 9), end=at(17, 10),
                                       actor=contractor.user, now=at(22, 23)) for _ in range(12)]
    outcomes = race(calls)
    assert outcomes == Counter({"ok": 1, "Conflict": 11})
    assert TimeEntry.objects.filter(contractor=contractor).count() == 1

"""Every console page, API list and contractor page costs the same SQL queries with 100 and with 1,000 contractors,
pages its rows and stays under 200 kB: measured on seed_scale's data set at both sizes (what the bench times)."""
from contextlib import suppress

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotations.models import Batch, BatchState, Job
from demo.scale import STAFF_EMAIL, scale_pages, scale_seed
from payroll.selectors.weeks import WEEK, week_name, week_start_utc
from workforce.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
MAX_BYTES = 200_000


class _Undo(Exception):
    """Raised to roll the first data set back, so the second is seeded into an empty database again."""


def _measure(contractors: int) -> dict[str, tuple[int, int, str]]:
    """Seed `contractors` active contractors (a job of 300 tasks; the same annotations per head at both sizes: each
    contractor's 5 qualification photos, then 600 work photos), then per page: (queries, bytes, body). The
    contractor's pages are a holder's of a batch sent back, so both sizes show the same parts of them."""
    scale_seed(contractors=contractors, tasks=300, annotations=5 * contractors + 600, scores=150)
    job = Job.objects.annotate(n=Count("tasks")).order_by("-n").first()
    holder = (Batch.objects.filter(state=BatchState.REWORK).order_by("id")  # of any of the 3 jobs' 130 batches
              .values_list("assigned_to__user", flat=True)[0])
    staff, mine = scale_pages(job_id=job.pk, week=week_name(week_start_utc(timezone.now()) - WEEK))
    measured = {}
    for user, pages in ((User.objects.get(email=STAFF_EMAIL), staff), (User.objects.get(pk=holder), mine)):
        client = Client()
        client.force_login(user)
        for name, path in pages:
            client.get(path)  # first answers fill per-process caches (content types, sites, settings)
            with CaptureQueriesContext(connection) as captured:
                answer = client.get(path)
            assert answer.status_code == 200, (name, answer.status_code, answer.content[:300])
            measured[name] = (len(captured), len(answer.content), answer.content.decode())
    return measured


def test_every_page_costs_the_same_queries_with_100_and_1000_contractors_pages_and_stays_small() -> None:
    with suppress(_Undo), transaction.atomic():
        small = _measure(100)
        raise _Undo
    large = _measure(1000)
    grew = {name: (small[name][0], large[name][0]) for name in small if large[name][0] != small[name][0]}
    assert not grew, f"queries grew from 100 to 1,000 contractors (page: (100, 1000)): {grew}"
    too_big = {name: size for name, (_, size, _) in large.items() if size > MAX_BYTES}
    assert not too_big, f"pages over {MAX_BYTES} bytes at 1,000 contractors: {too_big}"
    # The lists of contractors page at 1,000: the pager says there is more than one page.
    for name in ("console: capacity board", "console: quality board", "console: applicants",
                 "console: payroll week", "console: pay run"):
        assert "Page 1 of " in large[name][2], name
        assert "Page 1 of 1\n" not in large[name][2], name
    # Pages further on, in a chosen order or state, are real pages (get_page would show the last for one too far).
    assert "Page 2 of " in large["console: capacity, by hours left, page 2"][2]
    assert "Page 2 of " in large["console: payroll week, page 2"][2]
    for name in ("api: contractors", "api: quality board", "api: week's timesheets", "api: console capacity board"):
        assert '"next":"http' in large[name][2].replace(" ", ""), name

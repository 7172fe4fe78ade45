"""Quality pages: a contractor's own scores and overlays, the staff quality board and the review page's score."""
import uuid
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.test import Client
from PIL import Image

from annotations.models import QualityScore
from tests.annotations.conftest import per_class_report
from tests.factories import UserFactory, contractor_in_state, staff_user
from workforce.models import Contractor, OnboardingState

pytestmark = pytest.mark.django_db


@pytest.fixture
def ana() -> Contractor:
    return contractor_in_state(OnboardingState.ACTIVE, display_name="Ana")


@pytest.fixture
def overlay() -> Iterator[str]:
    """A real JPEG under var/overlays/, as the scoring job writes them; its path relative to VAR_DIR."""
    relative = f"overlays/test-{uuid.uuid4().hex}.jpg"
    path = settings.VAR_DIR / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (0, 160, 0)).save(path, "JPEG")
    yield relative
    path.unlink(missing_ok=True)


def client_of(contractor: Contractor) -> Client:
    client = Client()
    client.force_login(contractor.user)
    return client


def test_contractor_sees_rolling_score_weakest_class_and_each_scored_photo(ana: Contractor,
                                                                            score: Callable) -> None:
    score(ana, 0.9, per_class=per_class_report(Scratch=0.95, Crack=0.85))
    score(ana, 0.5, per_class=per_class_report(Scratch=0.7, Crack=0.35), rubber_stamp=True)
    page = client_of(ana).get("/quality/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="rolling-score">0.70<' in html
    assert "<strong>Crack 0.60</strong> (weakest)" in html
    assert html.count('data-testid="macro-iou"') == 2
    assert "pre-annotation submitted unchanged" in html
    dashboard = client_of(ana).get("/dashboard/").content.decode()
    assert 'data-testid="rolling-score">0.70<' in dashboard


def test_a_contractor_sees_only_their_own_scores(ana: Contractor, score: Callable) -> None:
    score(ana, 0.42)
    other = contractor_in_state(OnboardingState.ACTIVE)
    html = client_of(other).get("/quality/").content.decode()
    assert "No scored reference photo yet." in html
    assert "0.42" not in html


def test_overlay_is_served_to_its_contractor_and_staff_only(ana: Contractor, score: Callable,
                                                            overlay: str) -> None:
    mine = score(ana, 0.8)
    QualityScore.objects.filter(pk=mine.pk).update(overlay_path=overlay)
    url = f"/quality/scores/{mine.pk}.jpg"
    own = client_of(ana).get(url)
    assert own.status_code == 200
    assert own["Content-Type"] == "image/jpeg"
    assert b"".join(own.streaming_content)[:2] == b"\xff\xd8"
    assert client_of(contractor_in_state(OnboardingState.ACTIVE)).get(url).status_code == 404
    assert Client().get(url).status_code == 404
    staff = Client()
    staff.force_login(staff_user())
    assert staff.get(url).status_code == 200


def test_overlay_outside_var_or_missing_is_404(ana: Contractor, score: Callable) -> None:
    mine = score(ana, 0.8)
    for path in ("../manage.py", "overlays/none.jpg", ""):
        QualityScore.objects.filter(pk=mine.pk).update(overlay_path=path)
        assert client_of(ana).get(f"/quality/scores/{mine.pk}.jpg").status_code == 404


def test_staff_board_lists_weakest_first_with_rubber_stamps(ana: Contractor, score: Callable) -> None:
    bo = contractor_in_state(OnboardingState.ACTIVE, display_name="Bo")
    score(ana, 0.9)
    score(bo, 0.2, rubber_stamp=True)
    staff = Client()
    staff.force_login(staff_user())
    html = staff.get("/console/quality/").content.decode()
    assert html.index(">Bo<") < html.index(">Ana<")
    assert "⚑ 1" in html
    detail = staff.get(f"/console/quality/{bo.pk}/").content.decode()
    assert 'data-testid="rolling-score">0.20<' in detail


def test_quality_console_is_staff_only(ana: Contractor) -> None:
    assert client_of(ana).get("/console/quality/").status_code == 403
    assert client_of(ana).get(f"/console/quality/{ana.pk}/").status_code == 403
    assert Client().get("/console/quality/").status_code == 302


def test_review_page_shows_the_score_and_the_rubber_stamp_flag(ana: Contractor, score: Callable) -> None:
    made = score(ana, 0.35, rubber_stamp=True)
    QualityScore.objects.filter(pk=made.pk).update(rubber_stamp_detail="Scratch IoU 1.00 with the pre-annotation")
    staff = Client()
    staff.force_login(staff_user())
    html = staff.get(f"/console/review/{made.annotation_id}/").content.decode()
    assert "mean IoU 0.35" in html
    assert "Submitted the pre-annotation unchanged" in html


@pytest.mark.django_db
def test_staff_board_pages_fifty_at_a_time_and_finds_a_contractor_by_email_or_name() -> None:
    crew = [contractor_in_state(OnboardingState.ACTIVE, user=UserFactory(email=f"board-{n:03d}@example.org"))
            for n in range(55)]
    Contractor.objects.filter(pk=crew[42].pk).update(display_name="Zanele")
    staff = Client()
    staff.force_login(staff_user())
    first = staff.get("/console/quality/")
    assert len(first.context["page"].object_list) == 50
    assert "Page 1 of 2" in first.content.decode()
    second = staff.get("/console/quality/", {"page": "2"})
    assert len(second.context["page"].object_list) == 5
    shown = {c.pk for c, _ in first.context["page"].object_list} | {c.pk for c, _ in second.context["page"].object_list}
    assert shown == {c.pk for c in crew}
    found = staff.get("/console/quality/", {"q": "zanele"})
    assert [c.pk for c, _ in found.context["page"].object_list] == [crew[42].pk]
    by_email = staff.get("/console/quality/", {"q": "board-007@"})
    assert [c.pk for c, _ in by_email.context["page"].object_list] == [crew[7].pk]
    assert staff.get("/console/quality/", {"page": "x"}).status_code == 200  # a bad page number shows the first


def test_scored_times_are_on_the_contractors_clock_with_the_zone_named_and_on_utc_for_staff(score: Callable) -> None:
    manila = contractor_in_state(OnboardingState.ACTIVE, timezone_name="Asia/Manila")
    score(manila, 0.8, minutes=0)  # SCORES_START: 2026-03-02 09:00 UTC, 17:00 in Manila (UTC+8, no summer time)
    html = client_of(manila).get("/quality/").content.decode()
    assert "Scored (Asia/Manila)" in html
    assert "2026-03-02 17:00" in html
    scores_table = html.split("Scored (Asia/Manila)", 1)[1].split("</table>", 1)[0]
    assert "UTC" not in scores_table
    assert 'data-label="Scored (Asia/Manila)">2026-03-02 17:00<' in scores_table
    staff = Client()
    staff.force_login(staff_user(role="reviewer"))
    html = staff.get(f"/console/quality/{manila.pk}/").content.decode()
    assert "Scored (UTC)" in html
    assert "2026-03-02 09:00" in html

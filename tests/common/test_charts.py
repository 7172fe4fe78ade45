"""The SVG charts drawn on the server: sizes proportional to the values, every text escaped, an empty series drawn."""
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from xml.etree import ElementTree

from common.charts import HEIGHT, PLOT_H, WIDTH, bar_chart, last_days, line_chart, shown

SVG = "{http://www.w3.org/2000/svg}"


def parsed(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # noqa: S314 - our own output; parsing it proves it is well-formed XML


def test_bars_are_as_tall_as_their_values_against_the_tallest() -> None:
    chart = bar_chart([("Mon", 10), ("Tue", 5), ("Wed", 0), ("Thu", Decimal("2.5"))], title="Photos")
    bars = parsed(chart.svg).findall(f"{SVG}rect")
    heights = [float(b.get("height")) for b in bars]
    assert heights == [PLOT_H, PLOT_H / 2, 0.0, PLOT_H / 4]
    assert [b.find(f"{SVG}title").text for b in bars] == ["Mon: 10", "Tue: 5", "Wed: 0", "Thu: 2.50"]
    assert chart.rows == [("Mon", "10"), ("Tue", "5"), ("Wed", "0"), ("Thu", "2.50")]


def test_a_reference_above_every_bar_is_the_top_and_is_drawn_dashed() -> None:
    chart = bar_chart([("a", 5)], title="Hours", reference=20, reference_label="cap")
    root = parsed(chart.svg)
    assert float(root.find(f"{SVG}rect").get("height")) == PLOT_H / 4
    line = root.find(f"{SVG}line[@data-reference]")
    assert line.get("data-reference") == "20"
    assert line.get("stroke-dasharray")
    assert "cap 20" in chart.svg


def test_points_of_a_line_stand_at_their_values_and_none_breaks_the_line() -> None:
    chart = line_chart([("w1", 1.0), ("w2", 0.5), ("w3", None), ("w4", 0.25), ("w5", 1.0)], title="Quality")
    root = parsed(chart.svg)
    points = root.findall(f"{SVG}circle")
    bottom = float(points[0].get("cy")) + PLOT_H  # the top point (1.0) is PLOT_H above the axis
    assert [round(bottom - float(p.get("cy")), 6) for p in points] == [PLOT_H, PLOT_H / 2, PLOT_H / 4, PLOT_H]
    assert [p.get("data-index") for p in points] == ["0", "1", "3", "4"]
    lines = root.findall(f"{SVG}polyline")
    assert [len(line.get("points").split()) for line in lines] == [2, 2]  # w1-w2 and w4-w5, nothing across w3
    assert chart.rows[2] == ("w3", "—")


def test_labels_and_titles_are_escaped() -> None:
    evil = '<script>alert("x")</script> & co'
    chart = bar_chart([(evil, 3)], title=f"Jobs of {evil}", description=evil)
    assert "<script>" not in chart.svg
    assert "&lt;script&gt;" in chart.svg
    assert "&amp; co" in chart.svg
    root = parsed(chart.svg)
    assert root.find(f"{SVG}title").text == f"Jobs of {evil}"
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find(f"{SVG}title").get("id") == title_id
    assert root.find(f"{SVG}desc").get("id") == desc_id


def test_an_empty_series_draws_the_axes_and_says_so() -> None:
    for chart in (bar_chart([], title="Nothing"), line_chart([], title="Nothing")):
        root = parsed(chart.svg)
        assert (root.get("width"), root.get("height")) == (str(WIDTH), str(HEIGHT))
        assert not root.findall(f"{SVG}rect")
        assert not root.findall(f"{SVG}circle")
        assert "Nothing yet" in chart.svg
        assert chart.rows == []


def test_all_zero_values_draw_flat_bars_not_a_division_by_zero() -> None:
    chart = bar_chart([("a", 0), ("b", 0)], title="Zero")
    assert [float(b.get("height")) for b in parsed(chart.svg).findall(f"{SVG}rect")] == [0.0, 0.0]


def test_many_labels_are_thinned_on_the_axis_but_every_bar_keeps_its_own() -> None:
    series = [(f"2026-03-{day:02d}", day) for day in range(1, 31)]
    chart = bar_chart(series, title="Days")
    axis = [t for t in re.findall(r"<text[^>]*>([^<]*)</text>", chart.svg) if t.startswith("2026-")]
    assert 1 < len(axis) <= 8
    assert len(parsed(chart.svg).findall(f"{SVG}rect")) == 30
    assert len(chart.rows) == 30


def test_last_days_end_today_in_utc_and_shown_writes_whole_numbers_bare() -> None:
    days = last_days(days=3, now=datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    assert days == [date(2026, 2, 28), date(2026, 3, 1), date(2026, 3, 2)]
    assert [shown(v) for v in (3, Decimal("4.0"), 2.5, Decimal("1") / 3, None)] == ["3", "4", "2.50", "0.33", "—"]

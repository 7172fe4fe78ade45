"""Small charts drawn on the server as SVG (a bar chart, a line chart) from a list of (label, value): fixed size,
every text escaped, readable without JavaScript; templates/_chart.html shows one with its numbers as a table."""
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

Value = int | float | Decimal | None  # None: no value that day (a gap in a line, no bar)

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 34  # room for the axis labels
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
MAX_X_LABELS = 8  # more labels than this overlap: every k-th is written (each bar or point keeps its own tooltip)
# Every chart is drawn left to right (direction="ltr" on the SVG), on a right-to-left page too: inherited rtl would
# flip each text-anchor and push the axis and reference labels out of the plot.
INK, BRAND, CAP = "#4a5561", "#0b4f9c", "#a4161a"

_ids = itertools.count(1)  # the <title>/<desc> ids aria-labelledby names: unique within a page


def last_days(*, days: int, now: datetime) -> list[date]:
    """The last `days` UTC days up to today's, oldest first: a daily chart's x axis, a day without data included."""
    today = now.astimezone(UTC).date()
    return [today - timedelta(days=back) for back in range(days - 1, -1, -1)]


def shown(value: Value) -> str:
    """A value as the chart's table and tooltips write it: whole numbers bare, others with two decimals."""
    if value is None:
        return "—"
    if isinstance(value, int) or (isinstance(value, Decimal | float) and value == int(value) and abs(value) < 1e15):
        return str(int(value))
    return f"{float(value):.2f}"


@dataclass(frozen=True)
class Chart:
    """An SVG and the same numbers as rows, for the text table beside it."""

    title: str
    description: str
    label_heading: str  # the table's first column: "Day", "Week", "Hours used"
    value_heading: str  # its second: "Photos", "Hours", "Mean IoU"
    rows: list[tuple[str, str]]
    svg: SafeString


def _top(values: Sequence[Value], reference: Value) -> float:
    """The value the plot's top stands for: the largest value or reference line, 1 when all are 0 or none."""
    numbers = [float(v) for v in [*values, reference] if v is not None]
    return max([*numbers, 0.0]) or 1.0


def _y(value: Value, top: float) -> float:
    return TOP + PLOT_H - max(float(value), 0.0) / top * PLOT_H


def _frame(chart_id: int, *, title: str, description: str, top: float, body: list[str], labels: list[tuple[float, str]],
           reference: Value, reference_label: str) -> str:
    every = max(1, -(-len(labels) // MAX_X_LABELS))  # ceil: at most MAX_X_LABELS labels written
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" style="max-width:100%;height:auto" aria-labelledby="chart-{chart_id}-t chart-{chart_id}-d"'
        ' font-family="system-ui, sans-serif" font-size="11" direction="ltr">',
        f'<title id="chart-{chart_id}-t">{escape(title)}</title>',
        f'<desc id="chart-{chart_id}-d">{escape(description)}</desc>',
        f'<line x1="{LEFT}" y1="{TOP + PLOT_H}" x2="{LEFT + PLOT_W}" y2="{TOP + PLOT_H}" stroke="{INK}"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + PLOT_H}" stroke="{INK}"/>',
        f'<text x="{LEFT - 4}" y="{TOP + PLOT_H}" text-anchor="end" fill="{INK}">0</text>',
        f'<text x="{LEFT - 4}" y="{TOP + 9}" text-anchor="end" fill="{INK}">{escape(shown(top))}</text>',
        *body,
    ]
    for index, (x, label) in enumerate(labels):
        if index % every == 0:
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="{INK}">'
                         f'{escape(label)}</text>')
    if reference is not None:
        y = _y(reference, top)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + PLOT_W}" y2="{y:.1f}" stroke="{CAP}" '
                     f'stroke-dasharray="6 4" data-reference="{escape(shown(reference))}"/>')
        parts.append(f'<text x="{LEFT + PLOT_W}" y="{y - 4:.1f}" text-anchor="end" fill="{CAP}">'
                     f'{escape(reference_label)} {escape(shown(reference))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _chart(series: Sequence[tuple[str, Value]], draw: Callable[[list[Value], float], tuple[list[str], list[float]]],
           *, title: str, description: str, label_heading: str, value_heading: str, reference: Value,
           reference_label: str) -> Chart:
    labels = [str(label) for label, _ in series]
    values = [value for _, value in series]
    top = _top(values, reference)
    body, xs = draw(values, top) if series else ([], [])
    if not series:
        body = [f'<text x="{LEFT + PLOT_W / 2}" y="{TOP + PLOT_H / 2}" text-anchor="middle" fill="{INK}">'
                f'{escape(gettext("Nothing yet."))}</text>']
    svg = _frame(next(_ids), title=title, description=description, top=top, body=body,
                 labels=list(zip(xs, labels, strict=True)), reference=reference, reference_label=reference_label)
    return Chart(title=title, description=description, label_heading=label_heading, value_heading=value_heading,
                 rows=[(label, shown(value)) for label, value in zip(labels, values, strict=True)],
                 svg=mark_safe(svg))  # noqa: S308 - every text in it went through escape()


def bar_chart(series: Sequence[tuple[str, Value]], *, title: str, description: str = "", label_heading: str = "",
              value_heading: str = "", reference: Value = None, reference_label: str = "") -> Chart:
    """One bar per (label, value), heights proportional to the values (the tallest, or `reference` when higher,
    reaches the top); `reference` draws a dashed line (a cap) named `reference_label`."""
    def draw(values: list[Value], top: float) -> tuple[list[str], list[float]]:
        step = PLOT_W / len(values)
        width = max(step * 0.8, 1.0)
        body, xs = [], []
        for index, ((label, value), x) in enumerate(zip(series, (LEFT + step * i for i in range(len(values))),
                                                        strict=True)):
            xs.append(x + step / 2)
            if value is None:
                continue
            y = _y(value, top)
            body.append(f'<rect x="{x + (step - width) / 2:.1f}" y="{y:.1f}" width="{width:.1f}" '
                        f'height="{TOP + PLOT_H - y:.1f}" fill="{BRAND}" data-index="{index}">'
                        f'<title>{escape(str(label))}: {escape(shown(value))}</title></rect>')
        return body, xs
    return _chart(series, draw, title=title, description=description, label_heading=label_heading,
                  value_heading=value_heading, reference=reference, reference_label=reference_label)


def line_chart(series: Sequence[tuple[str, Value]], *, title: str, description: str = "", label_heading: str = "",
               value_heading: str = "", reference: Value = None, reference_label: str = "") -> Chart:
    """A line through (label, value) points spaced evenly, heights proportional to the values; a None value
    breaks the line (no data then); `reference` draws a dashed line (a threshold) named `reference_label`."""
    def draw(values: list[Value], top: float) -> tuple[list[str], list[float]]:
        step = PLOT_W / max(len(values) - 1, 1)
        xs = [LEFT + step * i if len(values) > 1 else LEFT + PLOT_W / 2 for i in range(len(values))]
        runs: list[list[str]] = [[]]
        body = []
        for index, ((label, value), x) in enumerate(zip(series, xs, strict=True)):
            if value is None:
                runs.append([])
                continue
            y = _y(value, top)
            runs[-1].append(f"{x:.1f},{y:.1f}")
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{BRAND}" data-index="{index}">'
                        f'<title>{escape(str(label))}: {escape(shown(value))}</title></circle>')
        lines = [f'<polyline points="{" ".join(run)}" fill="none" stroke="{BRAND}" stroke-width="2"/>'
                 for run in runs if len(run) > 1]
        return lines + body, xs
    return _chart(series, draw, title=title, description=description, label_heading=label_heading,
                  value_heading=value_heading, reference=reference, reference_label=reference_label)

"""common.widgets: the long selects write exactly Django's markup (bar the indentation); their speed is measured by
bench/console_load.py (the contractor's profile page), not here."""
import re

from django import forms

from common.widgets import LongSelect, LongSelectMultiple

CHOICES = [
    ("", "Choose…"),
    ("Zones of <Côte d'Ivoire>", [("Africa/Abidjan", "Africa/Abidjan"), ("x\"y", "quote \" & <b>")]),
    ("All", [(1, "one"), (2, "two")]),
    ("plain", "Plain & simple"),
]


def _same_markup(html: str) -> str:
    return re.sub(r"\n\s*", "\n", str(html)).strip()


def test_a_long_select_writes_djangos_markup_with_groups_selection_attributes_and_escaping() -> None:
    attrs = {"id": "id_zone", "data-suggest": "timezone", "required": True, "disabled": False,
             "aria-describedby": "id_zone_help"}
    for value in ("x\"y", "", 2, None):
        ours = LongSelect(choices=CHOICES).render("zone", value, attrs=attrs)
        django = forms.Select(choices=CHOICES).render("zone", value, attrs=attrs)
        assert _same_markup(ours) == _same_markup(django), value
    assert "&lt;b&gt;" in ours
    assert "<b>" not in ours


def test_a_long_multiple_select_marks_every_chosen_option() -> None:
    attrs = {"id": "id_languages", "size": 8}
    ours = LongSelectMultiple(choices=CHOICES).render("languages", ["1", "plain"], attrs=attrs)
    django = forms.SelectMultiple(choices=CHOICES).render("languages", ["1", "plain"], attrs=attrs)
    assert _same_markup(ours) == _same_markup(django)
    assert ours.count(" selected") == 2
    assert " multiple" in ours

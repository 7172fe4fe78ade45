"""The privacy export's sections held by the apps above workforce (hours and pay, annotations and scores).

Apps import only downward, so workforce cannot read them: each app registers a section builder here from its
AppConfig.ready(), built from its own selectors, and the export (workforce.services.privacy) adds every section.
A builder takes the contractor and returns JSON-ready data (str, int, float, bool, None, lists and dicts), in a
number of queries that does not grow with the contractor's rows.
"""
from collections.abc import Callable
from typing import Any

from workforce.models import Contractor

SectionBuilder = Callable[[Contractor], Any]

_sections: dict[str, SectionBuilder] = {}


def register_export_section(name: str, build: SectionBuilder) -> None:
    """Add (or replace) the export's section `name`, built by `build(contractor)`."""
    _sections[name] = build


def export_sections(contractor: Contractor) -> dict[str, Any]:
    """Every registered section of the contractor's export, in the order they were registered."""
    return {name: build(contractor) for name, build in _sections.items()}

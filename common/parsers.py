"""The API's JSON parser: DRF's, with the nesting and size bounds of common.json_input (DEFAULT_PARSER_CLASSES).

Its own module: DRF imports the parser classes while it defines APIView, so this may not import rest_framework.views.
"""
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from common.json_input import JSON_MAX_BYTES, JSONInputError, json_loads_bounded


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with the nesting and size bounds of common.json_input: a body nested deeper than 64 levels
    or over JSON_MAX_BYTES is a 400 naming the problem (DRF's own lets RecursionError through as a 500)."""

    def parse(self, stream: IO[bytes] | None, media_type: str | None = None,
              parser_context: dict[str, Any] | None = None) -> object:
        data = stream.read(JSON_MAX_BYTES + 1) if stream is not None else b""
        try:
            strict = {"parse_constant": _refuse_constant} if self.strict else {}
            return json_loads_bounded(data, what="body", **strict)
        except JSONInputError as exc:
            raise ParseError(exc.message) from None


def _refuse_constant(name: str) -> float:
    """NaN and Infinity are no JSON numbers (DRF's STRICT_JSON, on by default)."""
    raise ValueError(f"{name} is not a JSON number")

"""JSON from outside, parsed with bounds: nesting at most JSON_MAX_DEPTH levels and a size limit, both checked
before the parser runs, so a deep or huge body is a 400 naming the problem and never a RecursionError.

Python's json parser recurses once per nesting level: a 100,000-deep body of 200 kB raises RecursionError (a 500
with a traceback). The depth is counted first, without recursion: strings are cut out (their brackets are text),
then the running balance of the brackets left is summed in C (re, bytes.translate, itertools.accumulate): about
0.1 s for 9 MB. A malformed document still reaches json.loads, which refuses it; the parser never goes deeper
than the counted balance before it fails. annotations/quality/json_bounded.py is the same count for the pure core.
"""
import json
import re
from itertools import accumulate
from typing import Any

from common.errors import DomainError

JSON_MAX_DEPTH = 64
JSON_MAX_BYTES = 10 * 2**20  # an API body; imports pass their own limit

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # a JSON string, escapes included
_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class JSONInputError(DomainError):
    """JSON refused before or while parsing; the message names the problem (depth, size or syntax)."""


def json_depth(text: str) -> int:
    """The deepest nesting of brackets outside strings (0 for a scalar); linear time, no recursion."""
    outside = _STRING.sub("", text).encode("utf-8", "surrogatepass")
    brackets = outside.translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def json_loads_bounded(data: str | bytes | bytearray, *, max_depth: int = JSON_MAX_DEPTH,
                       max_bytes: int = JSON_MAX_BYTES, what: str = "", field: str | None = None,
                       **loads_options: Any) -> object:
    """The parsed document, or JSONInputError (400) prefixed by `field` and `what` (e.g. "document: not JSON"):
    over `max_bytes`, nested deeper than `max_depth`, not UTF-8/16/32, or not JSON. `loads_options` go to
    json.loads (parse_constant, object_hook...)."""
    def refused(problem: str) -> JSONInputError:
        return JSONInputError(": ".join(part for part in (field, what, problem) if part), field=field)

    if len(data) > max_bytes:
        raise refused(f"JSON over {max_bytes / 2**20:g} MB ({len(data):,} bytes).")
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode(json.detect_encoding(data), "surrogatepass")
        except UnicodeDecodeError as exc:
            raise refused(f"not UTF-8, UTF-16 or UTF-32 text ({exc.reason}).") from None
    depth = json_depth(data)
    if depth > max_depth:
        raise refused(f"JSON nested deeper than {max_depth} levels ({depth:,} levels).")
    try:
        return json.loads(data, **loads_options)
    except ValueError as exc:
        raise refused(f"not JSON ({exc}).") from None
    except RecursionError:  # not reached after the depth check; kept so that none can ever escape as a 500
        raise refused("JSON nested too deep to parse.") from None

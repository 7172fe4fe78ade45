"""JSON parsed with its nesting bounded (pure; the quality core imports no Django, so not common.json_input).

json.loads recurses once per level: a 100,000-deep document raises RecursionError. The depth is counted first
without recursion (strings cut out, then the running balance of the brackets left, summed in C), and a document
deeper than MAX_DEPTH is refused with a ValueError like any other bad JSON.
"""
import json
import re
from itertools import accumulate

MAX_DEPTH = 64
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # a JSON string, escapes included
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class JSONTooDeep(ValueError):
    """Nested deeper than the bound; the message says how deep."""


def depth(text: str) -> int:
    """The deepest nesting of brackets outside strings (0 for a scalar); linear time, no recursion."""
    brackets = _STRING.sub("", text).encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def loads(data: str | bytes, *, max_depth: int = MAX_DEPTH) -> object:
    """json.loads, but ValueError (JSONTooDeep) for a document nested deeper than `max_depth`, and ValueError for
    bytes that are not UTF-8/16/32 (UnicodeDecodeError is one)."""
    text = data.decode(json.detect_encoding(data), "surrogatepass") if isinstance(data, bytes) else data
    found = depth(text)
    if found > max_depth:
        raise JSONTooDeep(f"JSON nested deeper than {max_depth} levels ({found:,} levels)")
    try:
        return json.loads(text)
    except RecursionError:  # not reached after the depth check
        raise JSONTooDeep("JSON nested too deep to parse") from None

"""JSON from users, parsed with a bound on nesting.

json.loads raises RecursionError (not ValueError) past ~1000 levels, and a value that parses a
little below that still breaks copy.deepcopy, json.dumps and templates later. No prompt, schema or
media reference needs more than a few levels, so anything deeper than MAX_DEPTH is refused as a
ValueError with a message for the user.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 100
_NUL = "The JSON holds a NUL character (\\u0000), which cannot be stored."


class Refused(ValueError):
    """Parsed, but not a value Prism takes: nested too deeply, NaN/Infinity, a NUL character."""


class TooDeep(Refused):
    pass


def _too_deep(max_depth: int) -> TooDeep:
    return TooDeep(f"The JSON is nested too deeply (more than {max_depth} levels of lists and objects).")


def depth(value: Any) -> int:
    """How many lists/objects deep value goes (0 for a scalar), without recursion. Raises
    ValueError for a NUL character in a string or key: PostgreSQL's jsonb cannot store one."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                raise Refused(_NUL)
            continue
        if isinstance(node, dict):
            if any("\x00" in key for key in node):
                raise Refused(_NUL)
            children = node.values()
        elif isinstance(node, (list, tuple)):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def check_depth(value: Any, max_depth: int = MAX_DEPTH) -> Any:
    """value itself; raises TooDeep when it is nested deeper than max_depth, Refused for a NUL."""
    if depth(value) > max_depth:
        raise _too_deep(max_depth)
    return value


def _finite(text: str) -> float:
    # 1e400 parses to inf, which no JSON column stores (and NaN/Infinity are not JSON at all).
    value = float(text)
    if not math.isfinite(value):
        raise Refused(f"The number {text[:40]} is too large.")
    return value


def _no_constant(name: str):
    raise Refused(f"{name} is not a JSON value.")


def loads(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """json.loads, raising ValueError for anything it refuses: json.JSONDecodeError for what is
    not JSON, Refused (TooDeep among them) for NaN/Infinity, numbers past a float, NUL, nesting."""
    try:
        value = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:
        raise _too_deep(max_depth) from None
    return check_depth(value, max_depth)

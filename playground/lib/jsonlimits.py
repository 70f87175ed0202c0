"""JSON from users, parsed with a bound on nesting.

json.loads raises RecursionError (not ValueError) past ~1000 levels, and a value that parses a
little below that still breaks copy.deepcopy, json.dumps and templates later. No prompt, schema or
media reference needs more than a few levels, so anything deeper than MAX_DEPTH is refused as a
ValueError with a message for the user.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 100


class TooDeep(ValueError):
    pass


def _too_deep(max_depth: int) -> TooDeep:
    return TooDeep(f"The JSON is nested too deeply (more than {max_depth} levels of lists and objects).")


def depth(value: Any) -> int:
    """How many lists/objects deep value goes (0 for a scalar), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, (list, tuple)):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def check_depth(value: Any, max_depth: int = MAX_DEPTH) -> Any:
    """value itself; raises TooDeep when it is nested deeper than max_depth."""
    if depth(value) > max_depth:
        raise _too_deep(max_depth)
    return value


def loads(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """json.loads, raising ValueError (json.JSONDecodeError, or TooDeep) for anything it refuses."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise _too_deep(max_depth) from None
    return check_depth(value, max_depth)

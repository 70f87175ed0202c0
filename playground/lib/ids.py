"""Object ids typed or tampered with by users.

int() takes "²"-style digits ("²".isdigit() is True, int("²") raises), 10,000-digit strings
(ValueError past 4300 digits) and numbers no database column holds (OverflowError from SQLite, an
error from PostgreSQL). An id from a request goes through parse_id: anything else is no id.
"""

from __future__ import annotations

import re
from typing import Any

MAX_ID = 2**63 - 1  # a BigAutoField
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(value: Any) -> int | None:
    """A positive id from an int or a string of ASCII digits, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not _DIGITS.fullmatch(value):
            return None
        value = int(value)
    if not isinstance(value, int) or not 0 < value <= MAX_ID:
        return None
    return value

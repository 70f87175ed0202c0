"""Taking an API key out of what a server sent back, in whatever form it came. No Django, no I/O.

    redact = Redactor(api_key)
    body = redact.bytes(body)          # raw bytes: before parsing, before any excerpt is made of them
    data = redact.deep(json.loads(body))  # every string (and key) of the parsed JSON
    text = redact.text(message)

A server (or a proxy in front of it) that echoes the key may send it plain, JSON-escaped
(``\\u0073\\u006b…``, or only some characters escaped), percent-encoded (``%73%6B…``),
or base64, alone or inside a longer base64 text such as ``Basic base64(user:key)``. Each form is
replaced by ``[redacted]``. A key shorter than 8 characters is left alone: redacting a short test
value would mangle unrelated text.
"""

from __future__ import annotations

import base64
import functools
import re
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
MIN_LENGTH = 8


def _b64_cores(key: bytes) -> set[str]:
    """For each of the three alignments of ``key`` inside a longer base64 text (both alphabets),
    the characters that depend on the key's bytes alone."""
    cores = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for shift in range(3):
            text = encode(bytes(shift) + key).decode()
            cores.add(text[-(-8 * shift // 6):8 * (shift + len(key)) // 6])
    return cores


@functools.cache  # per character, not per key: building a key's pattern was ~75 us of each request's CPU
def _char(ch: str) -> str:
    # One character of the key: itself, a JSON \uXXXX escape (or \/), or a %XX escape; hex in any case.
    code = ord(ch)
    forms = [re.escape(ch), f"\\\\[uU]00{code:02x}", f"%{code:02x}"]
    if ch == "/":
        forms.append(r"\\/")
    return "(?:" + "|".join(forms) + ")"


class Redactor:
    def __init__(self, key: str | None):
        self.active = bool(key) and len(key) >= MIN_LENGTH
        if not self.active:
            return
        raw = key.encode()
        # Longest first: a base64 core may be part of a longer literal form.
        whole = {encode(raw).decode() for encode in (base64.b64encode, base64.urlsafe_b64encode)}
        forms = {key, quote(key, safe=""), quote_plus(key), *whole, *_b64_cores(raw)} - {""}
        self._literals = sorted(forms, key=len, reverse=True)
        pattern = "".join(_char(ch) for ch in key)
        self._escaped = re.compile(pattern, re.IGNORECASE)
        self._escaped_bytes = re.compile(pattern.encode(), re.IGNORECASE)

    def text(self, value: str) -> str:
        if not self.active or not value:
            return value
        for form in self._literals:
            if form in value:
                value = value.replace(form, REDACTED)
        if "\\" in value or "%" in value:  # an escaped form needs one of these; skip the scan otherwise
            value = self._escaped.sub(REDACTED, value)
        return value

    def bytes(self, value: bytes) -> bytes:
        if not self.active or not value:
            return value
        for form in self._literals:
            encoded = form.encode()
            if encoded in value:
                value = value.replace(encoded, REDACTED.encode())
        if b"\\" in value or b"%" in value:
            value = self._escaped_bytes.sub(REDACTED.encode(), value)
        return value

    def deep(self, value):
        """``value`` (parsed JSON, or any nest of dicts, lists and tuples) with every string redacted."""
        if not self.active:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.deep(k): self.deep(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.deep(v) for v in value)
        return value

"""A tiny JSON syntax highlighter for the preview: escape everything, wrap tokens in spans.

    highlight_json('{"a": [1, true, "x"]}')
    -> '<span class="j-p">{</span><span class="j-k">"a"</span>...'

Classes: j-k key, j-s string, j-n number, j-l true/false/null, j-p punctuation, j-b elided base64
(``<base64 PNG, 1.2 MB>`` inside a string), j-x a part that is not sent (``<not sent: ...>``).
The output is the input text, character for character, once the tags are removed and the
entities decoded (tested), so what is shown is what the display form says.
"""

import re
from html import escape

from django.utils.safestring import SafeString, mark_safe

_TOKEN = re.compile(
    r'(?P<str>"(?:[^"\\]|\\.)*")(?P<colon>\s*:)?'
    r"|(?P<num>-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<lit>true|false|null)"
    r"|(?P<punct>[{}\[\],:])"
    r"|(?P<ws>\s+)"
    r"|(?P<other>.)",
    re.S,
)
_ELIDED = re.compile(r"<base64 [^<>]*>")


def _e(text: str) -> str:
    return escape(text, quote=False)


def _string(token: str) -> str:
    if token.startswith('"<not sent: '):
        return f'<span class="j-x">{_e(token)}</span>'
    if "<base64 " not in token:
        return f'<span class="j-s">{_e(token)}</span>'
    out, pos = [], 0
    for m in _ELIDED.finditer(token):
        out.append(_e(token[pos : m.start()]))
        out.append(f'<span class="j-b">{_e(m.group(0))}</span>')
        pos = m.end()
    out.append(_e(token[pos:]))
    return f'<span class="j-s">{"".join(out)}</span>'


def highlight_json(text: str) -> SafeString:
    out = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if m.group("str") is not None:
            if m.group("colon") is not None:
                out.append(f'<span class="j-k">{_e(m.group("str"))}</span>{_e(m.group("colon"))}')
            else:
                out.append(_string(m.group("str")))
        elif kind == "num":
            out.append(f'<span class="j-n">{m.group(0)}</span>')
        elif kind == "lit":
            out.append(f'<span class="j-l">{m.group(0)}</span>')
        elif kind == "punct":
            out.append(f'<span class="j-p">{m.group(0)}</span>')
        else:
            out.append(_e(m.group(0)))
    return mark_safe("".join(out))

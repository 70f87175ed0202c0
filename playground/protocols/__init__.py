"""One prompt, the exact request each provider protocol would receive (protocols.md). No Django.

    from playground.protocols import Prompt, Message, TextPart, MediaPart, Payload, Options, Target, render
    r = render(prompt, {"city": "Lyon"}, Target("messages", "claude-sonnet-4-5"))
    r.ok, r.refusals, r.notes, r.problems, r.headers, r.display(), r.body_bytes(), r.iter_body()
"""

from .render import fill_variables, render, render_all
from .serialize import body_bytes, body_size, display_json, iter_body, materialize
from .tokens import TokenEstimate, estimate_tokens
from .types import (
    Auth,
    Base64Slot,
    Fallback,
    MediaPart,
    Message,
    Note,
    NotSendable,
    Omitted,
    Options,
    Payload,
    Problem,
    Prompt,
    Refusal,
    RenderedRequest,
    Target,
    TextPart,
)

__all__ = [
    "Auth", "Base64Slot", "Fallback", "MediaPart", "Message", "Note", "NotSendable", "Omitted", "Options",
    "Payload", "Problem", "Prompt", "Refusal", "RenderedRequest", "Target", "TextPart", "TokenEstimate",
    "body_bytes", "body_size", "display_json", "estimate_tokens", "fill_variables", "iter_body", "materialize",
    "render", "render_all",
]

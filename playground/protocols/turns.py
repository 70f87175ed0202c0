"""The documented rules on turns, per protocol (docs/protocols.md §9): what order turns may come
in, which turns may be empty, what a conversation may end with, which part kinds each role may
carry. :func:`check` runs on the resolved prompt before a dialect builds its body;
:func:`check_part` per media part, asked by ``_common.walk``.

Every protocol (docs/protocols.md §9.1): a text part that is empty or only whitespace once the
variables are filled is left out with a note (Anthropic rejects both, "text content blocks must be
non-empty" / "must contain non-whitespace text"; Gemini rejects an empty text part; OpenAI gains
nothing from one), and so is a turn left with nothing in it (Anthropic: "all messages must have
non-empty content"; Gemini: "contents.parts must not be empty"; Chat: the OpenAPI spec gives content
arrays at least one item). A prompt left with no turn at all is a Problem: there is nothing to send.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._common import Ctx, Resolved, where
from .types import MediaPart, Omitted, Problem, TextPart

__all__ = ["RULES", "check", "check_part", "prefill_allowed"]


@dataclass(frozen=True)
class TurnRules:
    """One protocol's rules on turns. ``media_roles``: the roles whose turns may carry media
    parts; ``prefill``: a final assistant turn is a prefill the model continues (Anthropic);
    ``prefill_no_trailing_space``: that prefill may not end in whitespace; ``first_and_last_user``:
    the conversation is reported to need a user turn first and last (a warning, second-hand)."""

    label: str
    media_roles: frozenset[str]
    source_media: str
    prefill: bool = False
    prefill_no_trailing_space: bool = False
    first_and_last_user: bool = False


RULES = {
    # docs/protocols.md §9.2: assistant content is text or refusal parts only [SDK
    # chat_completion_assistant_message_param.py]; media parts exist only in user messages.
    "chat": TurnRules(
        "OpenAI Chat Completions",
        frozenset({"user"}),
        "assistant content takes only text and refusal parts",
    ),
    # docs/protocols.md §9.3: an assistant message's content is output_text / refusal [SDK
    # response_output_message_param.py]. The SDK's EasyInputMessage type is looser (input parts in
    # any role); Prism keeps the stricter reading (not confirmed by a quoted 400).
    "responses": TurnRules(
        "OpenAI Responses",
        frozenset({"user"}),
        "assistant messages take only output text and refusals",
    ),
    # docs/protocols.md §9.4: a final assistant turn is a prefill; it may not end in whitespace
    # ("Prefill Claude's response"); Claude 4.6 and later models reject prefills (400).
    "messages": TurnRules(
        "Anthropic Messages",
        frozenset({"user", "assistant"}),
        "",
        prefill=True,
        prefill_no_trailing_space=True,
    ),
    # docs/protocols.md §9.5: model turns may carry inline data (image models answer with it);
    # a model turn first or last is reported rejected (400 "Please ensure that multiturn requests
    # alternate between user and model" / "ends with a user role") by second-hand sources only.
    "gemini": TurnRules(
        "Gemini",
        frozenset({"user", "assistant"}),
        "",
        first_and_last_user=True,
    ),
}


_CLAUDE = re.compile(r"claude-(?:opus|sonnet|haiku)-(\d+)(?:[-.](\d{1,2}))?(?!\d)")


def prefill_allowed(model: str) -> bool:
    """False for Claude 4.6 and later (Opus, Sonnet, Haiku), which answer a request ending with an
    assistant turn with 400 "This model does not support assistant message prefill"
    (docs/protocols.md §9.4). Older names (claude-3-5-sonnet-...) and unknown ones: allowed."""
    m = _CLAUDE.search(model)
    return not m or (int(m.group(1)), int(m.group(2) or 0)) < (4, 6)


def _blank_reason(text: str) -> str:
    return "it is empty" if not text else "it holds only spaces or line breaks"


def _drop_blank_texts(ctx: Ctx, mi: int | None, role: str | None, parts):
    """Parts without the empty or whitespace-only text parts, each left out with a note."""
    kept = []
    for pi, part in parts:
        if isinstance(part, TextPart) and not part.text.strip():
            ctx.note(
                where(mi, pi, role),
                f"Text part left out: {_blank_reason(part.text)} once the variables are filled, and an "
                "empty text part is rejected or meaningless to the provider.",
                mi=mi,
                pi=pi,
            )
            continue
        kept.append((pi, part))
    return kept


def check(ctx: Ctx, resolved: Resolved) -> Resolved:
    """The resolved prompt as the dialect should build it (turns left out or changed, each with a
    note or refusal on ``ctx``)."""
    rules = RULES[ctx.target.protocol]
    system = _drop_blank_texts(ctx, None, None, resolved.system)
    messages = []
    for mi, role, parts in resolved.messages:
        kept = _drop_blank_texts(ctx, mi, role, parts)
        if not kept:
            # docs/protocols.md §9.1: no protocol takes a turn with no content.
            ctx.note(
                where(mi, None, role),
                "Turn left out: nothing is left in it to send (its text is empty once the variables are "
                "filled, or it has no parts). Fill it in or delete the message.",
                "warning",
                mi=mi,
            )
            continue
        messages.append((mi, role, kept))
    if resolved.messages and not messages:
        # docs/protocols.md §9.1: an empty conversation is rejected everywhere.
        ctx.problems.append(
            Problem(
                "messages",
                "Nothing to send: every message is empty once the variables are filled. "
                "Write a user message, or give the variables some text.",
            )
        )
        return Resolved(system, messages)

    if rules.prefill and messages and messages[-1][1] == "assistant":
        messages[-1] = _check_prefill(ctx, rules, *messages[-1])
    if rules.first_and_last_user and messages:
        _gemini_order(ctx, messages)
    return Resolved(system, messages)


def _check_prefill(ctx: Ctx, rules: TurnRules, mi: int, role: str, parts):
    """Anthropic: the final assistant turn is a prefill (docs/protocols.md §9.4)."""
    model = ctx.target.model
    if not prefill_allowed(model):
        ctx.refuse(
            mi,
            None,
            "turn",
            f"{model} does not take a prefill: a conversation ending with an assistant turn is rejected "
            "(400) on Claude 4.6 and later. End with a user message, or ask for the format in the system "
            "prompt or with a JSON schema.",
            role=role,
        )
        return mi, role, parts
    if rules.prefill_no_trailing_space:
        pi, last = parts[-1]
        if isinstance(last, TextPart) and last.text != last.text.rstrip():
            ctx.note(
                where(mi, pi, role),
                "Trailing whitespace trimmed from the final assistant turn: Anthropic rejects a prefill "
                "that ends in whitespace. The answer continues straight after the last word, so it may "
                "start with a space.",
                "warning",
                mi=mi,
                pi=pi,
            )
            parts = [*parts[:-1], (pi, TextPart(last.text.rstrip()))]
    return mi, role, parts


def _gemini_order(ctx: Ctx, messages) -> None:
    """Gemini: a model turn first or last is reported rejected (second-hand, docs/protocols.md
    §9.5): warned, not refused, since Google's own pages do not state it."""
    mi, role, _ = messages[0]
    if role == "assistant":
        ctx.note(
            where(mi, None, role),
            "The conversation starts with a model turn: Gemini has been reported to reject this "
            "(“multiturn requests alternate between user and model”). Start with a user message.",
            "warning",
            mi=mi,
        )
    mi, role, _ = messages[-1]
    if role == "assistant" and len(messages) > 1:
        ctx.note(
            where(mi, None, role),
            "The conversation ends with a model turn: Gemini does not continue it as a prefill and has "
            "been reported to reject it (“ends with a user role”). End with a user message.",
            "warning",
            mi=mi,
        )


def check_part(ctx: Ctx, part: MediaPart, mi: int | None, pi: int, role: str) -> Omitted | None:
    """A refusal (``ctx.refuse``) if ``role`` may not carry this part in the protocol, else None."""
    rules = RULES[ctx.target.protocol]
    if mi is not None and role not in rules.media_roles:
        return ctx.refuse(
            mi,
            pi,
            part.kind,
            f"{rules.label} takes media only in user messages, not in assistant turns "
            f"({rules.source_media}). Move the {part.kind} to a user message.",
            role=role,
        )
    return None

"""What the four dialect modules share: the collector of notes and refusals, the walk over parts,
MIME names, and the fallbacks a refusal can offer."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from .types import (
    Base64Slot,
    Fallback,
    MediaPart,
    Note,
    Omitted,
    Options,
    Part,
    Problem,
    Refusal,
    Sent,
    Target,
    TextPart,
)

# --- fallbacks (specs are canonical playground.uploads.variants.VariantSpec keys) -----------------

TO_PNG = Fallback("variant", "Send a PNG copy", "image:format=png")
TO_JPEG = Fallback("variant", "Send a JPEG copy", "image:format=jpeg;quality=85")
TO_MP3 = Fallback("variant", "Send an MP3 copy", "audio:bitrate=128000;format=mp3")
KEYFRAMES_SPEC = "keyframes:count=8;format=jpeg;quality=85"


def keyframes_fallback(part: MediaPart) -> Fallback:
    if part.frames:
        return Fallback("keyframes", f"Send its {len(part.frames)} key frames as images (stills, not the video)")
    return Fallback("keyframes", "Send 8 key frames as images (stills, not the video)", KEYFRAMES_SPEC)


def image_fallback(mime: str) -> Fallback:
    """HEIC/HEIF are photos: JPEG. Anything else (GIF, BMP, TIFF...): PNG, lossless."""
    return TO_JPEG if mime in ("image/heic", "image/heif") else TO_PNG


# --- MIME names --------------------------------------------------------------------------------

_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/mp3": "audio/mpeg",
    "audio/x-aiff": "audio/aiff",
    "audio/x-flac": "audio/flac",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "application/x-pdf": "application/pdf",
}


def canonical_mime(mime: str) -> str:
    """Lower case, parameters dropped, common aliases folded (audio/mp3 -> audio/mpeg...)."""
    mime = (mime or "").split(";", 1)[0].strip().lower()
    return _ALIASES.get(mime, mime)


def data_url(part: MediaPart) -> Base64Slot:
    return Base64Slot(part.payload, f"data:{canonical_mime(part.mime_type)};base64,")


def bare(part: MediaPart) -> Base64Slot:
    return Base64Slot(part.payload, "")


# The kinds each protocol has a part for (docs/protocols.md §0; a gateway adds video, §5). A URL part
# of another kind is refused for its kind, whatever its delivery: it is not inlined first.
CARRIED = {
    "chat": frozenset({"image", "audio", "pdf"}),
    "responses": frozenset({"image", "pdf"}),
    "messages": frozenset({"image", "pdf"}),
    "gemini": frozenset({"image", "audio", "video", "pdf"}),
}


def carries(t: Target, kind: str) -> bool:
    return kind in CARRIED[t.protocol] or (kind == "video" and t.protocol == "chat" and t.gateway)


# --- where things are ----------------------------------------------------------------------------


def where(mi: int | None, pi: int | None = None, role: str | None = None) -> str:
    """Human text, 1-based: "system, part 2", "message 3 (user), part 1"."""
    head = "system" if mi is None else f"message {mi + 1}" + (f" ({role})" if role else "")
    return head if pi is None else f"{head}, part {pi + 1}"


def part_name(part: MediaPart) -> str:
    return f"“{part.name}”" if part.name else f"this {part.kind}"


# --- the resolved prompt ---------------------------------------------------------------------------


@dataclass
class Resolved:
    """The prompt after variables: text filled, media slots replaced by their values. Parts keep
    their index in the original prompt (for where notes and refusals point)."""

    system: list[tuple[int, Part]]
    messages: list[tuple[int, str, list[tuple[int, Part]]]]


@dataclass
class Ctx:
    target: Target
    options: Options
    notes: list[Note] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    sent: list = field(default_factory=list)
    # Per-part rules (turns.check_part), asked by walk before a media part is built:
    # check(ctx, part, mi, pi, role) -> an Omitted (from ctx.refuse) to leave the part out, or None.
    part_checks: tuple = ()

    def note(self, where_: str, message: str, level: str = "info", mi: int | None = None, pi: int | None = None):
        self.notes.append(Note(where_, message, level, mi, pi))

    def refuse(
        self,
        mi: int | None,
        pi: int | None,
        modality: str,
        reason: str,
        fallback: Fallback | None = None,
        role: str | None = None,
    ) -> Omitted:
        w = where(mi, pi, role) if pi is not None or mi is not None else modality
        self.refusals.append(Refusal(mi, pi, modality, reason, fallback, w))
        return Omitted(reason)

    def refuse_setting(self, name: str, reason: str, fallback: Fallback | None = None):
        self.refusals.append(Refusal(None, None, "setting", reason, fallback, name))


MediaFn = Callable[[MediaPart, int | None, int, str], object]


def walk(ctx: Ctx, mi: int | None, role: str, parts, text_fn: Callable[[str], object], media_fn: MediaFn) -> list:
    """Convert one message's parts, in order: texts through ``text_fn``, media through
    ``media_fn(part, mi, pi, role)`` (which returns the part's JSON or an Omitted from
    ``ctx.refuse``). Videos chosen to go as key frames become their frames; kinds the target's
    model does not take are refused here. Records what is sent, for token estimates.

    A part marked ``optional`` that this target refuses (any refusal: kind, format, role, a
    per-part check, or one the dialect's ``media_fn`` records) is left out of the body instead,
    with a warning note per reason ("Left out for <model>: <reason>"), and the request stays
    sendable."""
    out = []
    left_out: list[tuple[int, list, list[Refusal]]] = []  # (part index, its entries, its refusals)
    for pi, part in parts:
        if isinstance(part, TextPart):  # blank ones were left out, with a note, by turns.check
            out.append(text_fn(part.text))
            ctx.sent.append(Sent(role, text=part.text, message_index=mi, part_index=pi))
            continue
        marks = (len(out), len(ctx.notes), len(ctx.refusals), len(ctx.sent))
        _media_items(ctx, mi, pi, role, part, out, media_fn)
        if part.optional and len(ctx.refusals) > marks[2]:
            left_out.append((pi, *_take_back(ctx, out, marks)))
    if left_out and not out:
        # Every part of this turn would be left out, and an empty turn is rejected everywhere
        # (docs/protocols.md §9.1): the refusals stand, saying why.
        for _, taken, refused in left_out:
            out.extend(taken)
            ctx.refusals += [
                dataclasses.replace(r, reason=r.reason + " It is marked “leave out”, but it is all this message "
                                    "has: add some text to the message, or remove the part.")
                for r in refused
            ]
        return out
    model = ctx.target.model
    gone = {(mi, pi) for pi, _, _ in left_out}
    # Notes made about these parts before the walk (urls.prepare's "sent inline" ...) go too: the
    # part is not sent at all.
    ctx.notes[:] = [n for n in ctx.notes if n.part_index is None or (n.message_index, n.part_index) not in gone]
    for pi, _, refused in left_out:
        for reason in dict.fromkeys(r.reason for r in refused):
            ctx.note(where(mi, pi, role), f"Left out for {model}: {reason}", "warning", mi, pi)
    return out


def _media_items(ctx: Ctx, mi, pi, role, part: MediaPart, out: list, media_fn: MediaFn) -> None:
    """One media part into ``out``: the part itself, or its key frames."""
    if part.as_frames:
        ctx.note(
            where(mi, pi, role),
            f"Video {part_name(part)} sent as its {len(part.frames)} key frames (images): "
            "the model sees stills, not the video or its sound.",
            "warning",
            mi,
            pi,
        )
        items = list(part.frames)
    else:
        items = [part]
    for item in items:
        inputs = ctx.target.inputs
        # A kind the protocol has no part for is the dialect's to refuse, in its words ("Anthropic
        # Messages has no audio block"); the model's own inputs speak for kinds the protocol carries.
        if inputs is not None and item.kind not in inputs and carries(ctx.target, item.kind):
            fb = keyframes_fallback(item) if item.kind == "video" and "image" in inputs else None
            out.append(
                ctx.refuse(mi, pi, item.kind, f"Model {ctx.target.model} is set up without {item.kind} input.", fb, role)
            )
            continue
        if item.detail and item.kind in ("audio", "video"):
            ctx.note(where(mi, pi, role), f"“detail” applies to images only; not carried for {item.kind}.", mi=mi, pi=pi)
        refused = next((r for check in ctx.part_checks if (r := check(ctx, item, mi, pi, role)) is not None), None)
        if refused is not None:
            out.append(refused)
            continue
        built = media_fn(item, mi, pi, role)
        if not isinstance(built, Omitted):
            ctx.sent.append(Sent(role, media=item, message_index=mi, part_index=pi))
        out.append(built)


def _take_back(ctx: Ctx, out: list, marks) -> tuple[list, list[Refusal]]:
    """Undo what one optional part added since ``marks``: its body entries, notes, refusals and
    sent records (it is left out whole, key frames and all). Returns the entries and refusals."""
    at, notes, refusals, sent = marks
    taken, refused = out[at:], ctx.refusals[refusals:]
    del out[at:], ctx.notes[notes:], ctx.refusals[refusals:], ctx.sent[sent:]
    return taken, refused


def system_texts(ctx: Ctx, resolved: Resolved, label: str) -> list[str]:
    """The system prompt's texts; media there is refused (every protocol takes text only)."""
    texts = []
    for pi, part in resolved.system:
        if isinstance(part, TextPart):  # blank ones were left out, with a note, by turns.check
            texts.append(part.text)
            ctx.sent.append(Sent("system", text=part.text, part_index=pi))
        else:
            ctx.refuse(None, pi, part.kind, f"{label} takes text only in the system prompt; move the {part.kind} to a user message.")
    return texts


def merge_same_role(ctx: Ctx, turns: list[tuple[int, str, list]], label: str) -> list[tuple[str, list]]:
    """Adjacent turns from the same role joined into one (as the server would), with a note."""
    merged: list[tuple[str, list]] = []
    for mi, role, content in turns:
        if merged and merged[-1][0] == role:
            merged[-1][1].extend(content)
            ctx.note(where(mi, None, role), f"Joined to the previous {role} turn: {label} merges adjacent turns from one role.", mi=mi)
        else:
            merged.append((role, list(content)))
    return merged


def check_temperature(ctx: Ctx, value: float, hi: float, label: str) -> float | None:
    """``value`` if in [0, hi]; clamped (with a warning) when the target opted in; else refused."""
    if 0 <= value <= hi:
        return value
    bound = 0.0 if value < 0 else hi
    if ctx.target.clamp_temperature:
        ctx.note("temperature", f"temperature {value:g} is outside {label}'s 0–{hi:g}: clamped to {bound:g}.", "warning")
        return bound
    ctx.refuse_setting(
        "temperature",
        f"temperature {value:g} is outside {label}'s range 0–{hi:g}.",
        Fallback("option", f"Clamp it to {bound:g}", "clamp_temperature"),
    )
    return None


def schema_name(ctx: Ctx, options) -> str:
    if options.schema_name:
        return options.schema_name
    ctx.note("response format", "No schema name given: “response” used (the OpenAI APIs require one).")
    return "response"


def payload_total(body) -> tuple[int, list[int]]:
    """Sum of base64 sizes in a body, and each slot's size (for size checks before sending)."""
    sizes: list[int] = []

    def visit(node):
        if isinstance(node, dict):
            for v in node.values():
                visit(v)
        elif isinstance(node, list):
            for v in node:
                visit(v)
        elif isinstance(node, Base64Slot):
            sizes.append(node.payload.b64_size)

    visit(body)
    return sum(sizes), sizes
